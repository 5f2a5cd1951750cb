-- Terms: what a text is about, as a tsvector, for /related and search.
--
-- Everything here is IMMUTABLE and reads no table, because the generated
-- column questions.related_terms is computed from mq_terms. So this file
-- is also applied before migrations/0003_related.sql on a new database
-- (that migration's "-- requires: sql/terms.sql" line): the column cannot
-- be created before its function. Changing what these functions return
-- changes stored data: recompute related_terms (UPDATE questions SET
-- title = title) and reply_terms in a versioned migration of the same
-- change, or stored and computed terms disagree.

-- Overlapping bigrams of every run of CJK ideographs, space separated.
CREATE OR REPLACE FUNCTION mq_cjk_bigrams(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT coalesce(string_agg(
        CASE WHEN length(run) = 1 THEN run
             ELSE (SELECT string_agg(substr(run, i, 2), ' ')
                   FROM generate_series(1, length(run) - 1) AS i)
        END, ' '), '')
    FROM (SELECT m[1] AS run
          FROM regexp_matches(t, '([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)', 'g') AS m) AS runs
$$;

-- The lay <-> medical vocabulary (data/vocabulary/*.tsv): every entry
-- adds its concept's token to a text that holds it: an English concept's
-- name in lower case without spaces ("bedwetting", "heelpain"), or for a
-- Chinese entry the concept's first Chinese entry (尿床), so that Chinese
-- texts bridge to each other and not to English ones. The maps mq_canon
-- reads (mq_synonym_map, mq_phrase_map, mq_vocab_concepts) are constants
-- in sql/vocabulary.sql, which scripts/vocabulary.mjs generates with
-- mq__vocab_build below on a throwaway database: the same stemmer that
-- reads a text reads the entries, and no request pays for building them.
-- Changing the vocabulary changes stored terms: recompute them in a
-- versioned migration (as 0016 does).
-- requires: sql/vocabulary.sql

-- Each entry of entries ([[concept, kind, phrase], ...]): its concept's
-- token, and its terms (English stems, or Chinese bigrams) in order with
-- their positions (stop words in between count, as in to_tsvector's) and
-- how much longer a gap may be in a text (Chinese: none).
CREATE OR REPLACE FUNCTION mq__vocab_entries(entries jsonb)
RETURNS TABLE (ord bigint, concept text, token text, lexemes text[], gaps integer[],
               slack integer)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH v AS MATERIALIZED (
        SELECT x.ord, x.e ->> 0 AS concept, x.e ->> 1 AS kind, x.e ->> 2 AS phrase,
               CASE WHEN x.e ->> 1 = 'zh' THEN to_tsvector('simple', mq_cjk_bigrams(x.e ->> 2))
                    ELSE to_tsvector('english', x.e ->> 2) END AS tv
        FROM jsonb_array_elements(entries) WITH ORDINALITY AS x(e, ord)
    ), zh AS (
        SELECT DISTINCT ON (v.concept) v.concept, v.phrase FROM v
        WHERE v.kind = 'zh' ORDER BY v.concept, v.ord
    )
    SELECT v.ord, v.concept,
           CASE WHEN v.kind = 'zh' THEN zh.phrase
                ELSE lower(regexp_replace(v.concept, '[^A-Za-z0-9]', '', 'g')) END,
           array_agg(p.lexeme ORDER BY p.pos), array_agg(p.pos ORDER BY p.pos),
           CASE WHEN v.kind = 'zh' THEN 0 ELSE 2 END
    FROM v LEFT JOIN zh ON zh.concept = v.concept
    CROSS JOIN LATERAL (SELECT u.lexeme, p AS pos
                        FROM unnest(v.tv) AS u, unnest(u.positions) AS p) AS p
    GROUP BY v.ord, v.concept, v.kind, zh.phrase
$$;

-- The maps of entries, as one object:
--   words:    {term: "token token"}, the single-term entries;
--   phrases:  {first term: [[tsquery, token], ...]}: a phrase matches
--             with its words in order and each gap up to two words longer
--             than the entry's (or shorter, down to adjacent), so "pees
--             in bed" also matches "peed in his bed" and "wets the bed"
--             "wet bed": the tsquery is the alternation of those <N>
--             distances. Chinese bigrams must follow each other exactly;
--   concepts: {token: concept}, for reasons.via.
CREATE OR REPLACE FUNCTION mq__vocab_build(entries jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH RECURSIVE e AS MATERIALIZED (
        SELECT * FROM mq__vocab_entries(entries)
    ), alt (ord, lexemes, gaps, slack, i, q) AS (
        SELECT e.ord, e.lexemes, e.gaps, e.slack, 1, quote_literal(e.lexemes[1])
        FROM e WHERE cardinality(e.lexemes) > 1
        UNION ALL
        SELECT a.ord, a.lexemes, a.gaps, a.slack, a.i + 1,
               a.q || ' <' || d || '> ' || quote_literal(a.lexemes[a.i + 1])
        FROM alt a
        CROSS JOIN LATERAL generate_series(
            CASE WHEN a.slack = 0 THEN a.gaps[a.i + 1] - a.gaps[a.i] ELSE 1 END,
            a.gaps[a.i + 1] - a.gaps[a.i] + a.slack) AS d
        WHERE a.i < cardinality(a.lexemes)
    ), full_q AS (
        SELECT a.ord, string_agg('(' || a.q || ')', ' | ') AS q FROM alt a
        WHERE a.i = cardinality(a.lexemes) GROUP BY a.ord
    )
    SELECT jsonb_build_object(
        'words', (SELECT coalesce(jsonb_object_agg(t.lexeme, t.tokens), '{}')
                  FROM (SELECT e.lexemes[1] AS lexeme,
                               string_agg(DISTINCT e.token, ' ') AS tokens
                        FROM e WHERE cardinality(e.lexemes) = 1
                        GROUP BY e.lexemes[1]) AS t),
        'phrases', (SELECT coalesce(jsonb_object_agg(h.head, h.entries), '{}')
                    FROM (SELECT e.lexemes[1] AS head,
                                 jsonb_agg(jsonb_build_array(f.q, e.token)
                                           ORDER BY e.ord) AS entries
                          FROM e JOIN full_q f ON f.ord = e.ord
                          GROUP BY e.lexemes[1]) AS h),
        'concepts', (SELECT coalesce(jsonb_object_agg(c.token, c.concept), '{}')
                     FROM (SELECT DISTINCT ON (e.token) e.token, e.concept FROM e
                           ORDER BY e.token, e.ord) AS c))
$$;

-- The concept tokens of the phrase entries v holds, space separated (NULL
-- when none): a phrase is tested only when v holds its first term.
-- PL/pgSQL rather than SQL, as mq_canon.
CREATE OR REPLACE FUNCTION mq__phrase_tokens(v tsvector) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT AS $$
DECLARE
    toks text;
BEGIN
    SELECT string_agg(e.x ->> 1, ' ') INTO toks
    FROM unnest(v) AS u, (SELECT mq_phrase_map() AS map) AS m,
         jsonb_array_elements(m.map -> u.lexeme) AS e(x)
    WHERE m.map ? u.lexeme AND v @@ (e.x ->> 0)::tsquery;
    RETURN toks;
END
$$;

-- The concept tokens of the entries v holds (as a tsvector of weight C).
-- PL/pgSQL rather than SQL: a SQL function with a FROM clause is not
-- inlined, and re-planning it per row cost most of a bulk load; here the
-- plan is cached per session and the maps are constants looked up per
-- term.
CREATE OR REPLACE FUNCTION mq_canon(v tsvector) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT AS $$
DECLARE
    canon text;
BEGIN
    SELECT string_agg(m.map ->> u.lexeme, ' ') INTO canon
    FROM unnest(v) AS u, (SELECT mq_synonym_map() AS map) AS m
    WHERE m.map ? u.lexeme;
    canon := concat_ws(' ', canon, mq__phrase_tokens(v));
    RETURN setweight(coalesce(to_tsvector('simple', nullif(canon, '')), ''::tsvector), 'C');
END
$$;

-- What a question is about, as one tsvector (questions.related_terms is
-- generated from it): English stems of the title (weight A) and body (B),
-- character bigrams of any Chinese text (title A, body B; zh-TW is written
-- without spaces, and bigrams are the standard way to match it without a
-- dictionary segmenter), and the concept token (C) of each vocabulary
-- entry it holds (mq_canon).
CREATE OR REPLACE FUNCTION mq_terms(title text, body text) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    base tsvector;
BEGIN
    base := setweight(to_tsvector('english', coalesce(title, '')), 'A')
         || setweight(to_tsvector('english', coalesce(body, '')), 'B');
    -- Chinese bigrams only when there is Chinese: the regex is the cost.
    IF coalesce(title, '') || coalesce(body, '') ~ '[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]' THEN
        base := base
             || setweight(to_tsvector('simple', mq_cjk_bigrams(coalesce(title, ''))), 'A')
             || setweight(to_tsvector('simple', mq_cjk_bigrams(coalesce(body, ''))), 'B');
    END IF;
    RETURN base || mq_canon(base);
END
$$;

-- The terms of a question's doctor replies (weight D) from their text,
-- joined in reply order (mq_reply_terms, related.sql, and the synthetic
-- loader both use it). PL/pgSQL, like mq_terms: a SQL function with a FROM clause is
-- not inlined, and its per-call executor start cost more than the terms.
-- Bigrams only when there is Chinese, as in mq_terms; without any, the
-- 'simple' vector of an empty string added nothing anyway.
CREATE OR REPLACE FUNCTION mq_reply_terms_of(body text) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    b tsvector;
BEGIN
    IF body IS NULL THEN
        RETURN ''::tsvector;
    END IF;
    b := to_tsvector('english', body);
    IF body ~ '[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]' THEN
        b := b || to_tsvector('simple', mq_cjk_bigrams(body));
    END IF;
    RETURN setweight(b || mq_canon(b), 'D');
END
$$;
