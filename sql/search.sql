-- Search (GET /questions?q=): the query built from the patient's words,
-- and each result's highlighted excerpt. The terms it matches against are
-- in terms.sql; the statement that runs the search is in
-- internal/handlers/questions.c.
--
-- Its SQL functions call those of terms.sql and representations.sql, which
-- PostgreSQL checks when it creates them, so the migrator applies these
-- first:
-- requires: sql/terms.sql
-- requires: sql/vocabulary.sql
-- requires: sql/representations.sql

-- The query for GET /questions?q=: every English word of q must match,
-- either as itself or as the concept of its vocabulary entry ("tummy"
-- finds "stomach"), or else the concepts of the vocabulary phrases q
-- holds must ("ringing in my ears" finds "tinnitus"); Chinese text
-- matches by any of its bigrams (ranking then prefers questions holding
-- more of them). NULL when q has no terms.
-- The words come out in the order of the plan, a hash join probed by the
-- synonyms in word order, not in the order of q; that order is in the
-- tsquery text, so the join keeps that shape (sorted map, LEFT JOIN) to
-- give byte for byte the queries it gave when the map was a VALUES list.
CREATE OR REPLACE FUNCTION mq_search_query(q text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT CASE WHEN e IS NULL THEN c WHEN c IS NULL THEN e ELSE e && c END
    FROM (SELECT CASE WHEN p IS NULL THEN e0 WHEN e0 IS NULL THEN p ELSE e0 || p END AS e, c
          FROM (SELECT
            (SELECT string_agg('(' || quote_literal(l.lexeme)
                               || coalesce((SELECT string_agg(' | ' || quote_literal(t), '')
                                            FROM regexp_split_to_table(m.canon, ' ') AS t), '')
                               || ')', ' & ')
             FROM unnest(to_tsvector('english',
                     regexp_replace(q, '[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+', ' ', 'g'))) AS l
             LEFT JOIN (SELECT s.key AS word, s.value AS canon
                        FROM jsonb_each_text(mq_synonym_map()) AS s
                        ORDER BY s.key COLLATE "C") AS m
                    ON m.word = l.lexeme)::tsquery AS e0,
            (SELECT string_agg(quote_literal(b), ' | ')
             FROM regexp_split_to_table(nullif(mq_cjk_bigrams(q), ''), ' ') AS b)::tsquery AS c,
            (SELECT string_agg(DISTINCT quote_literal(t), ' & ')
             FROM regexp_split_to_table(mq__phrase_tokens(to_tsvector('english', q)), ' ') AS t)::tsquery AS p
         ) AS y) AS x
$$;

-- Search results carry a highlighted excerpt ("highlight"): the part of
-- the body around the matches, HTML-escaped, with each match wrapped in
-- <mark>…</mark>, so a client can show it as HTML without trusting the
-- patient's text. English goes through ts_headline with the search's own
-- query (stems and canonical synonyms match as they matched the row).
-- Chinese text has no spaces, so ts_headline's parser sees a whole run of
-- ideographs as one word and marks nothing; there the excerpt is a window
-- around the first match of the query's Chinese runs or bigrams, longest
-- first, and each of their occurrences is marked.
CREATE OR REPLACE FUNCTION mq_html_escape(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT replace(replace(replace(t, '&', '&amp;'), '<', '&lt;'), '>', '&gt;')
$$;

-- The Chinese runs of a search query and their bigrams, longest first, as
-- one regex alternation (ideographs are never regex metacharacters); NULL
-- when the query has no Chinese. Computed once per search.
CREATE OR REPLACE FUNCTION mq_cjk_pattern(query text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT string_agg(p, '|' ORDER BY length(p) DESC, p)
    FROM (SELECT m[1] AS p
          FROM regexp_matches(query, '([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)', 'g') AS m
          UNION
          SELECT b FROM regexp_split_to_table(nullif(mq_cjk_bigrams(query), ''), ' ') AS b
          WHERE length(b) = 2) AS x
$$;

-- body's highlight for a search with Chinese pattern pat (mq_cjk_pattern)
-- and full-text query tq (mq_search_query).
CREATE OR REPLACE FUNCTION mq_highlight(body text, pat text, tq tsquery) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    pos integer;
BEGIN
    IF pat IS NOT NULL THEN
        pos := regexp_instr(body, pat);
        IF pos > 0 THEN
            RETURN CASE WHEN pos > 31 THEN '…' ELSE '' END
                || regexp_replace(mq_html_escape(substr(body, greatest(pos - 30, 1), 90)),
                                  '(' || pat || ')', '<mark>\1</mark>', 'g')
                || CASE WHEN greatest(pos - 30, 1) + 90 <= length(body) THEN '…' ELSE '' END;
        END IF;
    END IF;
    IF tq IS NULL THEN
        RETURN mq_html_escape(mq_excerpt(body));
    END IF;
    -- A body as short as one excerpt is shown whole: fragments would drop
    -- its first stop words and last punctuation and make cuts of them.
    IF array_length(regexp_split_to_array(btrim(body), '\s+'), 1) <= 30 THEN
        RETURN ts_headline('english', mq_html_escape(body), tq,
                           'StartSel=<mark>, StopSel=</mark>, HighlightAll=true');
    END IF;
    RETURN mq__mark_cuts(
        ts_headline('english', mq_html_escape(body), tq,
                    'StartSel=<mark>, StopSel=</mark>, MaxWords=30, MinWords=12, '
                    'MaxFragments=2, FragmentDelimiter=" … "'),
        mq_html_escape(body));
END
$$;

-- issue 14: ts_headline puts its delimiter between fragments but marks
-- no cut at either end. h is its result over the escaped text esc: "…"
-- goes before h when its first fragment is not where esc starts, and
-- after it when its last fragment is not where esc ends.
CREATE OR REPLACE FUNCTION mq__mark_cuts(h text, esc text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    plain text := replace(replace(h, '<mark>', ''), '</mark>', '');
    first text := split_part(plain, ' … ', 1);
    last text := reverse(split_part(reverse(plain), reverse(' … '), 1));
    t text := btrim(esc);
BEGIN
    IF h IS NULL OR h = '' THEN
        RETURN h;
    END IF;
    IF left(t, length(btrim(first))) <> btrim(first) THEN
        h := '…' || h;
    END IF;
    IF right(t, length(btrim(last))) <> btrim(last) THEN
        h := h || '…';
    END IF;
    RETURN h;
END
$$;

-- issue 14: the highlight of a search result and the field it is from.
-- The body's, when the match is there; else the title's, when the title
-- matched; else the first visible doctor's reply that matched (relevance
-- search finds questions through their replies too); else the body's
-- unmarked start. So a result never shows an excerpt without saying where
-- the match was.
CREATE OR REPLACE FUNCTION mq__search_highlight(q questions, pat text, tq tsquery,
                                                OUT excerpt text, OUT field text)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    rb text;
BEGIN
    excerpt := mq_highlight(q.body, pat, tq);
    field := 'body';
    IF strpos(excerpt, '<mark>') > 0 THEN
        RETURN;
    END IF;
    IF (tq IS NOT NULL AND to_tsvector('english', q.title) @@ tq)
       OR (pat IS NOT NULL AND q.title ~ pat) THEN
        excerpt := CASE WHEN pat IS NOT NULL AND q.title ~ pat
                     THEN regexp_replace(mq_html_escape(q.title),
                                         '(' || pat || ')', '<mark>\1</mark>', 'g')
                     ELSE ts_headline('english', mq_html_escape(q.title), tq,
                                      'StartSel=<mark>, StopSel=</mark>, '
                                      'HighlightAll=true')
                END;
        field := 'title';
        RETURN;
    END IF;
    SELECT r.body INTO rb FROM replies r
    WHERE r.question_id = q.id AND r.kind = 'doctor' AND r.deleted_at IS NULL
      AND ((tq IS NOT NULL AND to_tsvector('english', r.body) @@ tq)
           OR (pat IS NOT NULL AND r.body ~ pat))
    ORDER BY r.replied_at, r.id
    LIMIT 1;
    IF rb IS NOT NULL THEN
        excerpt := mq_highlight(rb, pat, tq);
        field := 'reply';
    END IF;
END
$$;

-- One search result: the question's representation and its highlight.
CREATE OR REPLACE FUNCTION mq_search_json(q questions, base text, pat text, tq tsquery)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT left(j, -1) || ', "highlight" : ' || to_json(h.excerpt)::text
           || ', "highlight_field" : ' || to_json(h.field)::text || '}'
    FROM (SELECT mq_question_json(q, base)::text AS j) AS x,
         mq__search_highlight(q, pat, tq) AS h
$$;
