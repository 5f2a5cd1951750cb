-- Similar Q&A (/related): the terms of a question's doctor replies (kept
-- by a trigger), the IDF statistics (term_df, refreshed after bulk loads and
-- periodically by medqa's background worker) and the ranking itself.
--
-- A doctor's reply names the condition in medical words the patient did not
-- use ("hemifacial spasm", "myokymia"), so the terms of a question's doctor
-- replies (weight D, questions.reply_terms) take part in scoring. They live
-- in their own column, kept by a trigger on replies; the title/body terms
-- are the generated column related_terms (terms.sql), so bulk loads do not
-- need the trigger for those.
--
-- Scale (measured at 1,000,000 synthetic questions): at most 120
-- candidates come from the GIN indexes, through queries of the source's
-- rarest terms (all the rarest ones whose postings together fit a small
-- budget, then pairs (AND) of the next rarest), so the bounded set holds
-- likely neighbours; a term only the source holds (most character bigrams
-- of a zh-TW text) costs one posting of the budget. All candidates are
-- scored in one set (their terms unnested once and joined once to
-- term_df); topic neighbours are a bounded sample per topic (index order);
-- "Related FAQ" orders the source's own topics by their kept
-- question_count. Computing per request (not a precomputed table) keeps a
-- cold question, a draft and a just-hidden question exactly right with no
-- invalidation, and a cache could not help the common case anyway: most
-- question pages are read rarely, so most reads would be cold.
--
-- mq_reply_terms (SQL) calls mq_reply_terms_of, which PostgreSQL checks
-- when it creates it, so the migrator applies terms.sql first:
-- requires: sql/terms.sql

-- The terms of a question's visible doctor replies, all at weight D.
CREATE OR REPLACE FUNCTION mq_reply_terms(qid uuid) RETURNS tsvector
LANGUAGE sql STABLE AS $$
    SELECT mq_reply_terms_of(string_agg(r.body, ' ' ORDER BY r.replied_at, r.id))
    FROM replies r
    WHERE r.question_id = qid AND r.kind = 'doctor' AND r.deleted_at IS NULL
$$;

-- Keeps questions.reply_terms right on every write of a reply.
CREATE OR REPLACE FUNCTION mq__replies_terms() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE questions q SET reply_terms = mq_reply_terms(q.id)
    WHERE q.id = CASE WHEN TG_OP = 'DELETE' THEN OLD.question_id
                      ELSE NEW.question_id END;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER replies_terms
    AFTER INSERT OR DELETE OR UPDATE OF body, deleted_at, kind ON replies
    FOR EACH ROW EXECUTE FUNCTION mq__replies_terms();

-- Document frequency of every term (term_df) and the number of visible
-- questions (term_df_total), for the IDF weights of mq_related; run after
-- bulk loads (whose triggers are off) and by mq_refresh_df_if_stale.
-- Between refreshes every write keeps them current (term_df_pending,
-- below), so ranking does not depend on when this last ran. One refresh
-- at a time (advisory lock (7271, 2), which also keeps writers from
-- folding meanwhile); readers keep seeing the old rows until it commits.
-- The pending rows are dropped first: what they count, the recount
-- counts. (A write committing between the two statements is counted
-- twice, one document too many for its terms until the next refresh:
-- statistics only tune ranking.)
CREATE OR REPLACE FUNCTION mq_refresh_df() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7271, 2);
    DELETE FROM term_df_pending;
    DELETE FROM term_df;
    INSERT INTO term_df (lexeme, df)
    SELECT word, ndoc FROM ts_stat(
        'SELECT related_terms || reply_terms FROM questions WHERE deleted_at IS NULL');
    INSERT INTO term_df_total (docs)
    SELECT count(*) FROM questions WHERE deleted_at IS NULL
    ON CONFLICT (one) DO UPDATE SET docs = EXCLUDED.docs, refreshed_at = now();
END
$$;

-- Folds the pending changes of the document frequencies (migrations/
-- 0015_relevance.sql) into term_df and term_df_total. Called by every
-- write of questions; one folder at a time, and never during a refresh
-- (both take (7271, 2)): a writer that cannot take it leaves its rows to
-- the next one, and readers count pending rows meanwhile. df stays
-- positive (CHECK): a term no visible question holds any more is removed.
CREATE OR REPLACE FUNCTION mq__df_fold() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    lx text[];
    dl integer[];
BEGIN
    IF NOT pg_try_advisory_xact_lock(7271, 2) THEN
        RETURN;
    END IF;
    WITH gone AS (DELETE FROM term_df_pending RETURNING lexeme, delta)
    SELECT array_agg(g.lexeme), array_agg(g.delta) INTO lx, dl
    FROM (SELECT lexeme, sum(delta)::integer AS delta FROM gone
          GROUP BY lexeme HAVING sum(delta) <> 0) AS g;
    IF lx IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO term_df_total AS t (docs, refreshed_at)
    SELECT greatest(d.delta, 0), '-infinity' FROM unnest(lx, dl) AS d(lexeme, delta)
    WHERE d.lexeme = ''
    ON CONFLICT (one) DO UPDATE
        SET docs = greatest(t.docs + (SELECT d.delta FROM unnest(lx, dl) AS d(lexeme, delta)
                                      WHERE d.lexeme = ''), 0);
    DELETE FROM term_df t USING unnest(lx, dl) AS d(lexeme, delta)
    WHERE t.lexeme = d.lexeme AND t.df + d.delta <= 0;
    INSERT INTO term_df AS t (lexeme, df)
    SELECT d.lexeme, d.delta FROM unnest(lx, dl) AS d(lexeme, delta)
    WHERE d.lexeme <> '' AND d.delta > 0
    ON CONFLICT (lexeme) DO UPDATE SET df = t.df + EXCLUDED.df;
    UPDATE term_df t SET df = t.df + d.delta
    FROM unnest(lx, dl) AS d(lexeme, delta)
    WHERE t.lexeme = d.lexeme AND d.delta < 0;
END
$$;

-- What one question row adds to the document frequencies: +sign for each
-- of its terms and for the question itself (lexeme '') when it is
-- visible, nothing when it is hidden.
CREATE OR REPLACE FUNCTION mq__df_rows(terms tsvector, deleted_at timestamptz,
                                       sign integer)
RETURNS TABLE (lexeme text, delta integer)
LANGUAGE sql IMMUTABLE AS $$
    SELECT u.lexeme, sign FROM unnest(tsvector_to_array(terms)) AS u(lexeme)
    WHERE deleted_at IS NULL
    UNION ALL
    SELECT '', sign WHERE deleted_at IS NULL
$$;

-- Keeps the document frequencies current on every write of questions:
-- one statement-level trigger per event (a transition table serves one
-- event), appending the statement's net change per term to
-- term_df_pending, then folding. An UPDATE counts only the rows whose
-- terms or visibility changed (counter updates change neither).
CREATE OR REPLACE FUNCTION mq__questions_df() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO term_df_pending (lexeme, delta)
        SELECT x.lexeme, sum(x.delta) FROM new_rows n,
               mq__df_rows(n.related_terms || n.reply_terms, n.deleted_at, 1) AS x
        GROUP BY x.lexeme;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO term_df_pending (lexeme, delta)
        SELECT x.lexeme, sum(x.delta) FROM old_rows o,
               mq__df_rows(o.related_terms || o.reply_terms, o.deleted_at, -1) AS x
        GROUP BY x.lexeme;
    ELSE
        INSERT INTO term_df_pending (lexeme, delta)
        SELECT x.lexeme, sum(x.delta)
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        CROSS JOIN LATERAL (
            SELECT * FROM mq__df_rows(n.related_terms || n.reply_terms, n.deleted_at, 1)
            UNION ALL
            SELECT * FROM mq__df_rows(o.related_terms || o.reply_terms, o.deleted_at, -1)) AS x
        WHERE n.related_terms IS DISTINCT FROM o.related_terms
           OR n.reply_terms IS DISTINCT FROM o.reply_terms
           OR (n.deleted_at IS NULL) IS DISTINCT FROM (o.deleted_at IS NULL)
        GROUP BY x.lexeme HAVING sum(x.delta) <> 0;
    END IF;
    PERFORM mq__df_fold();
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER questions_df_insert
    AFTER INSERT ON questions REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION mq__questions_df();
CREATE OR REPLACE TRIGGER questions_df_update
    AFTER UPDATE ON questions REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION mq__questions_df();
CREATE OR REPLACE TRIGGER questions_df_delete
    AFTER DELETE ON questions REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION mq__questions_df();

-- The document frequency of each of the terms lx (term_df plus what is
-- pending), at least 1. A term no question holds counts as unique.
CREATE OR REPLACE FUNCTION mq__df_of(lx text[])
RETURNS TABLE (lexeme text, df bigint)
LANGUAGE sql STABLE AS $$
    SELECT l.lexeme, greatest(coalesce(d.df, 0) + coalesce(
               (SELECT sum(p.delta) FROM term_df_pending p WHERE p.lexeme = l.lexeme), 0), 1)::bigint
    FROM unnest(lx) AS l(lexeme)
    LEFT JOIN term_df d ON d.lexeme = l.lexeme
$$;

-- The periodic IDF refresh of medqa's background worker (internal/related):
-- refreshes term_df when its statistics are older than max_age_s seconds.
-- Every instance asks; the try-lock lets one do the work while the others
-- move on, and the age check keeps the next asker from repeating it.
-- Returns whether this call refreshed.
CREATE OR REPLACE FUNCTION mq_refresh_df_if_stale(max_age_s integer) RETURNS boolean
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

-- A short excerpt: the first ~180 characters, cut at a space.
CREATE OR REPLACE FUNCTION mq_excerpt(t text, n integer DEFAULT 180) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT CASE WHEN length(t) <= n THEN t
                ELSE coalesce(nullif(regexp_replace(left(t, n), '\s+\S*$', ''), ''),
                              left(t, n)) || '…'
           END
$$;

-- The weight of a term by the part of the question it came from: title
-- (A) 1.0, body (B) 0.6, canonical synonym (C) 0.5, doctor's reply (D) 0.3;
-- the best part counts when a term stands in several.
-- Not STRICT, so that PostgreSQL inlines it into the scoring query.
CREATE OR REPLACE FUNCTION mq_part_weight(weights text[]) RETURNS float8
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
-- matching rows. The settings hold for this function only. (Named
-- mq_related_candidates until issue 12: an internal helper, so mq__.)
CREATE OR REPLACE FUNCTION mq__related_candidates(q tsquery, qid uuid, cap integer)
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
--                     ln(1 + N / df) (term_df and term_df_total as of
--                     now: kept by every write, see mq__df_fold) and by
--                     where it stands
--                     (mq_part_weight), so rare medical words count and
--                     "two weeks" does not
--   same_department = 1 when c is in s's department (a draft's given
--                     department, if any), else 0
--   shared_topics   = |topics(s) ∩ topics(c)| / |topics(s)| (0 without
--                     topics)
-- Candidates: at most 120 questions matching s's rarest terms (see the
-- head of this file), plus up to 30 per topic of s.
-- Ties go to answered questions, then to newer ones, then to the smaller
-- id: a total order, so /related and include=related (the same call with
-- limit 4) list equal scores alike (tests/integration/related.test.mjs).
-- The float sums of text_score could in principle differ in their last
-- bit between plans; rounding the score to 4 places makes a flip need a
-- sum within 1e-16 of a rounding boundary. Exact numeric sums were
-- measured at ~9 ms a request at 120 candidates: not worth it.
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
    n_docs := greatest(coalesce((SELECT docs FROM term_df_total), 0)
                       + coalesce((SELECT sum(delta) FROM term_df_pending
                                   WHERE lexeme = ''), 0), 1);

    -- The source's weighted terms, heaviest first, and its terms rarest
    -- first (document frequencies as of now, mq__df_of).
    SELECT array_agg(t.lexeme ORDER BY t.w DESC, t.lexeme),
           array_agg(t.w ORDER BY t.w DESC, t.lexeme),
           sqrt(sum(t.w * t.w)),
           (array_agg(t.lexeme ORDER BY t.df, t.lexeme))[1:134],
           (array_agg(t.df ORDER BY t.df, t.lexeme))[1:134]
    INTO s_lex, s_w, s_norm, rare, rare_df
    FROM (SELECT u.lexeme, u.df,
                 ln(1 + n_docs / u.df) * mq_part_weight(u.weights) AS w
          FROM (SELECT u.lexeme, u.weights, d.df
                FROM unnest(s_terms) AS u
                JOIN mq__df_of(tsvector_to_array(s_terms)) AS d
                  ON d.lexeme = u.lexeme) AS u) AS t;

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
             CROSS JOIN LATERAL mq__related_candidates(x.q, qid, cap) AS m
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
    ), pending AS MATERIALIZED (
        -- What writes since the last fold changed (usually nothing).
        SELECT p.lexeme, sum(p.delta) AS delta FROM term_df_pending p
        GROUP BY p.lexeme
    ), cterm AS (
        SELECT c.id, u.lexeme,
               ln(1 + n_docs / greatest(coalesce(d.df, 0) + coalesce(p.delta, 0), 1))
               * mq_part_weight(u.weights) AS w
        FROM cand c
        CROSS JOIN LATERAL unnest(c.terms) AS u
        LEFT JOIN term_df d ON d.lexeme = u.lexeme
        LEFT JOIN pending p ON p.lexeme = u.lexeme
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
                'id', r.id, 'title', x.title, 'headline', x.headline,
                'excerpt', mq_excerpt(x.body),
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
