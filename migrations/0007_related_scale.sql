-- Relevance, fourth step: /related and search at 1,000,000 questions.
--
-- Measured at 1,000,000 synthetic questions, mq_related (0004) took ~2 s:
-- it scored up to 2,200 candidates, each with a correlated call of
-- mq_weighted_terms (one term_df index probe and one term_df_total read per
-- term of the candidate), and its "Related FAQ" counted every question of
-- the source's topics. This version keeps the formula and changes how it is
-- computed:
--   * at most 120 candidates come from the GIN indexes, through queries
--     of the source's rarest terms: all the rarest ones whose postings
--     together fit a small budget, then pairs (AND) of the next rarest,
--     so the bounded set holds likely neighbours. (0004 asked for its 12
--     rarest terms only, and spent them on terms the source alone holds:
--     most character bigrams of a zh-TW text are of that kind, which is
--     why zh-TW questions found few of their neighbours; a term the source
--     alone holds now costs one posting of the budget);
--   * all candidates are scored in one set: their terms are unnested once
--     and joined once to term_df;
--   * topic neighbours are a bounded sample per topic (index order), not
--     the newest of a sort over the whole topic;
--   * "Related FAQ" orders the source's own topics by their kept
--     question_count instead of counting their questions per request.
-- Computing per request (not a precomputed table) keeps a cold question,
-- a draft and a just-hidden question exactly right with no invalidation,
-- and a cache could not help the common case anyway: most question pages
-- are read rarely, so most reads would be cold.

-- The weight of a term by the part of the question it came from: title
-- (A) 1.0, body (B) 0.6, canonical synonym (C) 0.5, doctor's reply (D) 0.3;
-- the best part counts when a term stands in several.
-- Not STRICT, so that PostgreSQL inlines it into the scoring query.
CREATE FUNCTION mq_part_weight(weights text[]) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN 'A' = ANY (weights) THEN 1.0
                WHEN 'B' = ANY (weights) THEN 0.6
                WHEN 'C' = ANY (weights) THEN 0.5
                ELSE 0.3 END::float8
$$;

-- The questions (other than qid) whose title/body or reply terms match q,
-- at most cap of them, with what scoring needs. Bitmap scans only: with a
-- LIMIT and thousands of estimated matches the planner would otherwise
-- walk a btree or the whole table and filter, reading a large part of it
-- before it has cap rows; a bitmap scan of the GIN indexes reads only the
-- matching rows. The settings hold for this function only.
CREATE FUNCTION mq_related_candidates(q tsquery, qid uuid, cap integer)
RETURNS TABLE (id uuid, terms tsvector, department_slug text, state text,
               asked_at timestamptz)
LANGUAGE sql STABLE
SET enable_seqscan = off SET enable_indexscan = off
AS $$
    SELECT c.id, c.related_terms || c.reply_terms, c.department_slug,
           c.state, c.asked_at
    FROM questions c
    WHERE c.deleted_at IS NULL
      AND (c.related_terms @@ q OR c.reply_terms @@ q)
      AND c.id IS DISTINCT FROM qid
    LIMIT cap
$$;

-- The related questions and topics of a question (qid) or of a draft
-- (txt, optionally within dept). Never the question itself, never hidden
-- content.
--
-- Ranking, for each candidate c against the source s:
--   score = 0.60 * text + 0.25 * same_department + 0.15 * shared_topics
--   text            = cosine of s and c over their terms (title/body terms
--                     and doctor-reply terms), each term weighted by IDF
--                     ln(1 + N / df) and by where it stands
--                     (mq_part_weight), so rare medical words count and
--                     "two weeks" does not
--   same_department = 1 when c is in s's department (a draft's given
--                     department, if any), else 0
--   shared_topics   = |topics(s) ∩ topics(c)| / |topics(s)| (0 without
--                     topics)
-- Candidates: at most 120 questions matching s's rarest terms (see the
-- head of this file), plus up to 30 per topic of s.
-- Ties go to answered questions, then to newer ones.
CREATE OR REPLACE FUNCTION mq_related(qid uuid, txt text, dept text, lim integer,
                           base text) RETURNS json
LANGUAGE plpgsql STABLE AS $$
DECLARE
    -- Postings of single rare terms a candidate query may ask for.
    budget CONSTANT integer := 300;
    -- Candidates scored: from the terms, and per topic of the source.
    cap CONSTANT integer := 120;
    cap_topic CONSTANT integer := 30;
    s_terms tsvector;
    s_dept text := dept;
    s_topics uuid[] := '{}';
    s_norm float8;
    s_lex text[];
    s_w float8[];
    rare text[];
    rare_df bigint[];
    n_docs float8;
    k integer := 0;
    acc bigint := 0;
    qs tsquery[];
    result json;
BEGIN
    IF qid IS NOT NULL THEN
        SELECT x.related_terms || x.reply_terms, x.department_slug,
               ARRAY(SELECT qt.topic_id FROM question_topics qt
                     JOIN topics t ON t.id = qt.topic_id AND t.deleted_at IS NULL
                     WHERE qt.question_id = x.id)
        INTO s_terms, s_dept, s_topics
        FROM questions x WHERE x.id = qid AND x.deleted_at IS NULL;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'MQ404',
                MESSAGE = 'No question with that id.';
        END IF;
    ELSE
        s_terms := mq_terms(txt, NULL);
    END IF;
    n_docs := greatest(coalesce((SELECT docs FROM term_df_total), 1), 1);

    -- The source's weighted terms, heaviest first, and its terms rarest
    -- first (a term newer than the last refresh counts as df 1).
    SELECT array_agg(t.lexeme ORDER BY t.w DESC, t.lexeme),
           array_agg(t.w ORDER BY t.w DESC, t.lexeme),
           sqrt(sum(t.w * t.w)),
           (array_agg(t.lexeme ORDER BY t.df, t.lexeme))[1:134],
           (array_agg(t.df ORDER BY t.df, t.lexeme))[1:134]
    INTO s_lex, s_w, s_norm, rare, rare_df
    FROM (SELECT u.lexeme, coalesce(d.df, 1)::bigint AS df,
                 ln(1 + n_docs / coalesce(d.df, 1)) * mq_part_weight(u.weights) AS w
          FROM unnest(s_terms) AS u
          LEFT JOIN term_df d ON d.lexeme = u.lexeme) AS t;

    -- The candidate queries, asked in order until `cap` questions match:
    -- first every rare term while their postings together stay under
    -- `budget` (each such posting is a candidate anyway, and a term only
    -- the source holds costs nothing), then each pair (AND) of the next
    -- six rarest terms, rarest pairs first. Sharing two rare terms is what
    -- a neighbour looks like, and one AND of two terms is cheap for the
    -- GIN index (it skips through the longer posting list); one OR of all
    -- the pairs was not (it visits every posting of all six terms: ~100 ms
    -- at 1,000,000 questions).
    WHILE k < least(coalesce(cardinality(rare), 0), 128)
          AND acc + rare_df[k + 1] <= budget LOOP
        k := k + 1;
        acc := acc + rare_df[k];
    END LOOP;
    SELECT array_agg(x.q ORDER BY x.ord) INTO qs FROM (
        SELECT 0 AS ord, string_agg(quote_literal(l), ' | ')::tsquery AS q
        FROM unnest(rare[1:k]) AS l
        HAVING count(*) > 0
        UNION ALL
        SELECT j * 10 + i, (quote_literal(rare[k + i]) || ' & '
                            || quote_literal(rare[k + j]))::tsquery
        FROM generate_series(1, 6) AS i, generate_series(1, 6) AS j
        WHERE i < j AND k + j <= cardinality(rare)
        UNION ALL
        -- One term left beyond the budget: it alone, or nothing matches.
        SELECT 1, quote_literal(rare[k + 1])::tsquery
        WHERE cardinality(rare) = k + 1) AS x;

    WITH cand AS MATERIALIZED (
        SELECT DISTINCT ON (c.id) c.* FROM (
            (SELECT m.* FROM unnest(qs) WITH ORDINALITY AS x(q, ord)
             CROSS JOIN LATERAL mq_related_candidates(x.q, qid, cap) AS m
             LIMIT cap)
            UNION ALL
            (SELECT c.id, c.related_terms || c.reply_terms, c.department_slug,
                    c.state, c.asked_at
             FROM unnest(s_topics) AS tp(id)
             CROSS JOIN LATERAL (
                 SELECT qt.question_id FROM question_topics qt
                 WHERE qt.topic_id = tp.id AND qt.question_id IS DISTINCT FROM qid
                 LIMIT cap_topic) AS s
             JOIN questions c ON c.id = s.question_id AND c.deleted_at IS NULL)) AS c
        ORDER BY c.id
    ), cterm AS (
        SELECT c.id, u.lexeme,
               ln(1 + n_docs / coalesce(d.df, 1)) * mq_part_weight(u.weights) AS w
        FROM cand c
        CROSS JOIN LATERAL unnest(c.terms) AS u
        LEFT JOIN term_df d ON d.lexeme = u.lexeme
    ), text_score AS (
        SELECT t.id, coalesce(sum(t.w * s.w) / nullif(s_norm * sqrt(sum(t.w * t.w)), 0), 0) AS v
        FROM cterm t
        LEFT JOIN unnest(s_lex, s_w) AS s(lexeme, w) ON s.lexeme = t.lexeme
        GROUP BY t.id
    ), scored AS (
        SELECT c.id, c.terms, c.state, c.asked_at, c.department_slug,
               coalesce(ts.v, 0) AS text_score,
               coalesce((c.department_slug = s_dept)::int, 0) AS same_dept,
               CASE WHEN cardinality(s_topics) = 0 THEN 0::float8
                    ELSE (SELECT count(*) FROM question_topics qt
                          WHERE qt.question_id = c.id AND qt.topic_id = ANY (s_topics))::float8
                         / cardinality(s_topics) END AS topic_share
        FROM cand c LEFT JOIN text_score ts ON ts.id = c.id
    ), ranked AS (
        SELECT s.*, round((0.60 * s.text_score + 0.25 * s.same_dept
                           + 0.15 * s.topic_share)::numeric, 4) AS score
        FROM scored s
        ORDER BY score DESC, (s.state = 'answered') DESC, s.asked_at DESC, s.id
        LIMIT lim
    )
    SELECT json_build_object(
        'question_id', qid,
        'questions', coalesce((
            SELECT json_agg(json_build_object(
                'id', r.id, 'title', x.title, 'excerpt', mq_excerpt(x.body),
                'department', mq_department_ref(r.department_slug),
                'reply', (SELECT json_build_object(
                              'doctor', json_build_object('id', d.id, 'name', d.name),
                              'excerpt', mq_excerpt(rp.body))
                          FROM replies rp JOIN doctors d ON d.id = rp.doctor_id
                          WHERE rp.question_id = r.id AND rp.kind = 'doctor'
                            AND rp.deleted_at IS NULL
                          ORDER BY rp.replied_at, rp.id LIMIT 1),
                'score', r.score,
                'reasons', json_build_object(
                    'same_department', r.same_dept = 1,
                    'shared_topics', coalesce((
                        SELECT json_agg(t.slug ORDER BY t.slug)
                        FROM question_topics qt JOIN topics t ON t.id = qt.topic_id
                        WHERE qt.question_id = r.id AND qt.topic_id = ANY (s_topics)
                          AND t.deleted_at IS NULL), '[]'::json),
                    'matched_terms', coalesce((
                        SELECT json_agg(m.lexeme ORDER BY m.w DESC, m.lexeme) FROM (
                            SELECT s.lexeme, s.w FROM unnest(s_lex, s_w) AS s(lexeme, w)
                            WHERE s.lexeme = ANY (tsvector_to_array(r.terms))
                            ORDER BY s.w DESC, s.lexeme LIMIT 8) AS m), '[]'::json)))
                ORDER BY r.score DESC, (r.state = 'answered') DESC, r.asked_at DESC, r.id)
            FROM ranked r JOIN questions x ON x.id = r.id), '[]'::json),
        'topics', coalesce((
            SELECT json_agg(json_build_object('slug', t.slug, 'name', t.name,
                                              'department', mq_department_ref(t.department_slug))
                            ORDER BY tt.own DESC, tt.n DESC, t.name)
            FROM (SELECT tt.topic_id, tt.own,
                         CASE WHEN tt.own THEN t.question_count ELSE tt.n END AS n
                  FROM (SELECT x.topic_id, bool_or(x.own) AS own, count(*) AS n
                        FROM (SELECT qt.topic_id, false AS own FROM question_topics qt
                              WHERE qt.question_id IN (SELECT id FROM ranked)
                              UNION ALL
                              SELECT tp, true FROM unnest(s_topics) AS tp) AS x
                        GROUP BY x.topic_id) AS tt
                  JOIN topics t ON t.id = tt.topic_id AND t.deleted_at IS NULL
                  ORDER BY tt.own DESC, 3 DESC, t.name LIMIT 10) AS tt
            JOIN topics t ON t.id = tt.topic_id), '[]'::json))
    INTO result;
    RETURN result;
END
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
CREATE FUNCTION mq_html_escape(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT replace(replace(replace(t, '&', '&amp;'), '<', '&lt;'), '>', '&gt;')
$$;

-- The Chinese runs of a search query and their bigrams, longest first, as
-- one regex alternation (ideographs are never regex metacharacters); NULL
-- when the query has no Chinese. Computed once per search.
CREATE FUNCTION mq_cjk_pattern(query text) RETURNS text
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
CREATE FUNCTION mq_highlight(body text, pat text, tq tsquery) RETURNS text
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
CREATE FUNCTION mq_search_json(q questions, base text, pat text, tq tsquery)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT left(j, -1) || ', "highlight" : '
           || to_json(mq_highlight(q.body, pat, tq))::text || '}'
    FROM (SELECT mq_question_json(q, base)::text AS j) AS x
$$;

-- The periodic IDF refresh of medqa's background worker (internal/related):
-- refreshes term_df when its statistics are older than max_age_s seconds.
-- Every instance asks; the try-lock lets one do the work while the others
-- move on, and the age check keeps the next asker from repeating it.
-- Returns whether this call refreshed.
CREATE FUNCTION mq_refresh_df_if_stale(max_age_s integer) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT pg_try_advisory_xact_lock(7271, 3) THEN
        RETURN false;
    END IF;
    IF EXISTS (SELECT 1 FROM term_df_total
               WHERE refreshed_at > clock_timestamp() - make_interval(secs => max_age_s)) THEN
        RETURN false;
    END IF;
    PERFORM mq_refresh_df();
    RETURN true;
END
$$;
