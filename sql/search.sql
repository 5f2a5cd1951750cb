-- Search (GET /questions?q=): the query built from the patient's words,
-- and each result's highlighted excerpt. The terms it matches against are
-- in terms.sql; the statement that runs the search is in
-- internal/handlers/questions.c.
--
-- Its SQL functions call those of terms.sql and representations.sql, which
-- PostgreSQL checks when it creates them, so the migrator applies these
-- first:
-- requires: sql/terms.sql
-- requires: sql/representations.sql

-- The query for GET /questions?q=: every English word of q must match,
-- either as itself or as its canonical term ("eyelid jumping" finds "lid
-- twitch"), and Chinese text matches by any of its bigrams (ranking then
-- prefers questions holding more of them). NULL when q has no terms.
-- The words come out in the order of the plan, a hash join probed by the
-- synonyms in word order, not in the order of q; that order is in the
-- tsquery text, so the join keeps that shape (sorted map, LEFT JOIN) to
-- give byte for byte the queries it gave when the map was a VALUES list.
CREATE OR REPLACE FUNCTION mq_search_query(q text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT CASE WHEN e IS NULL THEN c WHEN c IS NULL THEN e ELSE e && c END
    FROM (SELECT
            (SELECT string_agg('(' || quote_literal(l.lexeme)
                               || coalesce(' | ' || quote_literal(m.canon), '')
                               || ')', ' & ')
             FROM unnest(to_tsvector('english',
                     regexp_replace(q, '[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+', ' ', 'g'))) AS l
             LEFT JOIN (SELECT s.key AS word, s.value AS canon
                        FROM jsonb_each_text(mq_synonym_map()) AS s
                        ORDER BY s.key COLLATE "C") AS m
                    ON m.word = l.lexeme)::tsquery AS e,
            (SELECT string_agg(quote_literal(b), ' | ')
             FROM regexp_split_to_table(nullif(mq_cjk_bigrams(q), ''), ' ') AS b)::tsquery AS c
         ) AS x
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
    RETURN ts_headline('english', mq_html_escape(body), tq,
                       'StartSel=<mark>, StopSel=</mark>, MaxWords=30, MinWords=12, '
                       'MaxFragments=2, FragmentDelimiter=" … "');
END
$$;

-- One search result: the question's representation and its highlight.
CREATE OR REPLACE FUNCTION mq_search_json(q questions, base text, pat text, tq tsquery)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT left(j, -1) || ', "highlight" : '
           || to_json(mq_highlight(q.body, pat, tq))::text || '}'
    FROM (SELECT mq_question_json(q, base)::text AS j) AS x
$$;
