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
LANGUAGE plpgsql STABLE
SET enable_seqscan = off SET enable_indexscan = off
AS $$
BEGIN
    -- plpgsql, not sql: a SQL function with SET clauses is not inlined,
    -- and its statement is planned again on every call; plpgsql keeps
    -- the plan for the connection.
    RETURN QUERY
    SELECT c.id, c.related_terms || c.reply_terms, c.department_slug,
           c.state, c.asked_at
    FROM questions c
    WHERE c.deleted_at IS NULL
      AND (c.related_terms @@ q OR c.reply_terms @@ q)
      AND c.id IS DISTINCT FROM qid
    LIMIT cap;
END
$$;

-- Which parts of the ranking are off: the setting medqa.related_ablate,
-- a comma-separated list of vocab, fields, prior, diversity (unset in
-- production; tests/eval measures each part's contribution with it, see
-- the ablation table in tests/eval/README.md).
CREATE OR REPLACE FUNCTION mq__ablated(part text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT part = ANY (string_to_array(
        replace(coalesce(current_setting('medqa.related_ablate', true), ''), ' ', ''), ','))
$$;

-- The weight of a term by the field it came from (the field weights of
-- BM25F): title (A) 1.0, body (B) 0.6, vocabulary concept (C) 1.6,
-- doctor's reply (D) 0.5; the first of A, B, C, D a term stands in counts.
-- Measured on tests/eval with 100,000 distractors (precision@4 en/zh,
-- draft hit@3): a concept at 0.8 gave 0.842/0.784/0.877, at 1.6
-- 0.848/0.801/0.904; replies at 0.3 0.853/0.784/0.918, at 0.5
-- 0.871/0.812/0.932 (at 1.0 drafts fell to 0.918). With fields ablated every field weighs 1.
-- Not STRICT, so that PostgreSQL inlines it into the scoring query.
CREATE OR REPLACE FUNCTION mq__field_weight(weights text[], flat boolean) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN flat THEN 1.0
                WHEN 'A' = ANY (weights) THEN 1.0
                WHEN 'B' = ANY (weights) THEN 0.6
                WHEN 'C' = ANY (weights) THEN 1.6
                ELSE 0.5 END::float8
$$;

-- A number ("7", "2024") says how old or how long, not what about: its
-- terms weigh a tenth (a rare age or date would otherwise outweigh the
-- words of the complaint).
CREATE OR REPLACE FUNCTION mq__lexeme_weight(lexeme text) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN lexeme ~ '^[0-9]+$' THEN 0.1 ELSE 1.0 END::float8
$$;

-- The surface form of the term lx in text t: the word or the Chinese run
-- as it stands there, or NULL. An English stem is looked for among the
-- words that start like it (a stem is a prefix of its words but for its
-- last letter or two: "babi" of "baby"), each checked with the stemmer;
-- a Chinese bigram is widened to the run of the bigrams around it that
-- are also in bigrams, so 眼皮 and 皮跳 read 眼皮跳.
CREATE OR REPLACE FUNCTION mq__surface(t text, lx text, bigrams text[]) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    w text;
    pos integer;
    s integer;
    e integer;
BEGIN
    IF lx ~ '^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2}$' THEN
        pos := strpos(t, lx);
        IF pos = 0 THEN
            RETURN NULL;
        END IF;
        s := pos;
        e := pos + 1;
        WHILE s > 1 AND substr(t, s - 1, 2) = ANY (bigrams) LOOP
            s := s - 1;
        END LOOP;
        WHILE substr(t, e, 2) = ANY (bigrams) LOOP
            e := e + 1;
        END LOOP;
        RETURN substr(t, s, e - s + 1);
    END IF;
    IF length(lx) < 2 OR lx !~ '^[a-z0-9]+$' THEN
        RETURN NULL;
    END IF;
    FOR w IN SELECT m[1] FROM regexp_matches(t, '\m(' || left(lx, greatest(length(lx) - 2, 2))
                                                || '[[:alnum:]]*)', 'gi') AS m LOOP
        IF to_tsvector('english', w) @@ quote_literal(lx)::tsquery THEN
            RETURN lower(w);
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;

-- How the vocabulary concept token tok stands in text t (terms: t's
-- terms): the word of a single-term entry, or the words of a phrase entry
-- from its first to its last as ts_headline marks them; NULL if neither
-- is found.
CREATE OR REPLACE FUNCTION mq__concept_surface(t text, terms tsvector, tok text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    lx text;
    q text;
    h text;
BEGIN
    FOR lx IN SELECT u.lexeme FROM unnest(terms) AS u
              WHERE tok = ANY (string_to_array(mq_synonym_map() ->> u.lexeme, ' '))
              ORDER BY u.positions[1] LOOP
        h := mq__surface(t, lx, ARRAY[lx]);
        IF h IS NOT NULL THEN
            RETURN h;
        END IF;
    END LOOP;
    FOR q IN SELECT e.x ->> 0 FROM unnest(terms) AS u,
                    jsonb_array_elements(mq_phrase_map() -> u.lexeme) AS e(x)
             WHERE e.x ->> 1 = tok AND terms @@ (e.x ->> 0)::tsquery LOOP
        IF q ~ '[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]' THEN
            -- Chinese: the first bigram widened over the phrase's bigrams.
            RETURN mq__surface(t, (regexp_match(q, '''([^'']+)'''))[1],
                               ARRAY(SELECT m[1] FROM regexp_matches(q, '''([^'']+)''', 'g') AS m));
        END IF;
        h := ts_headline('english', t, q::tsquery, 'StartSel=«, StopSel=», HighlightAll=true');
        h := substring(h FROM '«[^»]*»(?:[^«\n.;,!?]{0,24}«[^»]*»)*');
        IF h IS NOT NULL THEN
            RETURN lower(replace(replace(h, '«', ''), '»', ''));
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;

-- The reasons of one result (id, terms, its title and body t) against a
-- source with topics s_topics and weighted terms s_lex/s_w:
--   same_department, shared_topics;
--   matched_terms: the shared terms, heaviest first, at most 8, as the
--     words and phrases read in the result (its title, body, or else its
--     doctors' replies): never a stem, never a lone Chinese character;
--   bridged: for each shared vocabulary concept that the result holds in
--     other words than the source, {"term": how the result says it,
--     "via": the concept} ("wets the bed" via "bedwetting").
CREATE OR REPLACE FUNCTION mq__reasons(rid uuid, terms tsvector, t text, same_dept boolean,
                                       s_topics uuid[], s_lex text[], s_w float8[],
                                       s_terms tsvector) RETURNS json
LANGUAGE plpgsql STABLE AS $$
DECLARE
    full_t text := t;
    concepts jsonb := mq_vocab_concepts();
    bigrams text[];
    matched text[] := '{}';
    bridged json[] := '{}';
    m record;
    word text;
BEGIN
    -- The doctors' replies too: a reply term matches as well.
    SELECT full_t || coalesce(E'\n' || string_agg(r.body, E'\n' ORDER BY r.replied_at, r.id), '')
    INTO full_t
    FROM replies r
    WHERE r.question_id = rid AND r.kind = 'doctor' AND r.deleted_at IS NULL;
    SELECT array_agg(s.lexeme) INTO bigrams FROM unnest(s_lex) AS s(lexeme)
    WHERE s.lexeme ~ '^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2}$'
      AND s.lexeme = ANY (tsvector_to_array(terms));
    FOR m IN SELECT s.lexeme, u.weights AS rw, v.weights AS sw
             FROM unnest(s_lex, s_w) AS s(lexeme, w)
             JOIN unnest(terms) AS u ON u.lexeme = s.lexeme
             LEFT JOIN unnest(s_terms) AS v ON v.lexeme = s.lexeme
             ORDER BY s.w DESC, s.lexeme LOOP
        EXIT WHEN cardinality(matched) >= 8;
        word := NULL;
        IF concepts ? m.lexeme AND m.rw <@ '{C}'::text[] THEN
            -- Only the concept joins them here: say how the result puts it.
            word := mq__concept_surface(full_t, terms, m.lexeme);
            IF word IS NOT NULL THEN
                bridged := bridged || json_build_object('term', word,
                                                        'via', concepts ->> m.lexeme);
            END IF;
        ELSIF concepts ? m.lexeme AND m.sw <@ '{C}'::text[] THEN
            -- The result names the concept; the source said it otherwise.
            word := mq__surface(full_t, m.lexeme, bigrams);
            IF word IS NOT NULL THEN
                bridged := bridged || json_build_object('term', word,
                                                        'via', concepts ->> m.lexeme);
            END IF;
        ELSE
            word := mq__surface(full_t, m.lexeme, bigrams);
        END IF;
        IF word IS NOT NULL AND length(word) > 1 AND NOT word = ANY (matched) THEN
            matched := matched || word;
        END IF;
    END LOOP;
    RETURN json_build_object(
        'same_department', same_dept,
        'shared_topics', coalesce((
            SELECT json_agg(tp.slug ORDER BY tp.slug)
            FROM question_topics qt JOIN topics tp ON tp.id = qt.topic_id
            WHERE qt.question_id = rid AND qt.topic_id = ANY (s_topics)
              AND tp.deleted_at IS NULL), '[]'::json),
        'matched_terms', to_json(matched),
        'bridged', to_json(bridged));
END
$$;

-- The related questions and topics of a question (qid) or of a draft
-- (txt, optionally within dept). Never the question itself, never hidden
-- content.
--
-- Ranking, for each candidate c against the source s:
--   score = 0.60 * text + 0.25 * same_department + 0.15 * shared_topics
--   text            = min(1, (s . c) / |s|^2 * BM25 length factor) over
--                     their terms (title/body terms, vocabulary concepts
--                     and doctor-reply terms), each term weighted by IDF
--                     ln(1 + N / df) (term_df and term_df_total as of now:
--                     kept by every write, see mq__df_fold; idf^1.5 was
--                     measured worse at 100,000 distractors), by the field
--                     it stands in (mq__field_weight) and by its kind
--                     (mq__lexeme_weight: numbers a tenth), so rare
--                     medical words count and "two weeks" does not. The
--                     concept tokens of the
--                     vocabulary (terms.sql) are how "pees in bed" meets
--                     "bedwetting".
--   same_department = 1 when c is in s's department (a draft's given
--                     department, if any) and shares at least one term
--                     with s (text > 0), else 0: a prior, never a
--                     filter, and never a reason on its own. (Without
--                     the condition a question with no word in common,
--                     found through a shared topic, outranked weak text
--                     matches on its department alone: a Chinese
--                     question's Similar Q&A listed English questions of
--                     its department. With 100,000 distractors it moved
--                     precision@4 zh-TW 0.824 -> 0.852, en 0.871 and
--                     drafts unchanged; tests/eval/README.md.)
--   shared_topics   = |topics(s) ∩ topics(c)| / |topics(s)| (0 without
--                     topics)
-- Diversity: the candidates are taken best first, and one whose cosine
-- with one already taken is at least 0.7 (a near-identical paraphrase)
-- is left out, so that four results are four different pages; only if
-- too few are left do the best of those left out fill the places.
-- Candidates: at most 120 questions matching s's rarest terms (see the
-- head of this file), plus up to 30 per topic of s.
-- Ties go to answered questions, then to newer ones, then to the smaller
-- id: a total order, so /related and include=related (the same call with
-- limit 4) list equal scores alike (tests/integration/related.test.mjs).
-- The float sums of text_score could in principle differ in their last
-- bit between plans; rounding the score to 4 places makes a flip need a
-- sum within 1e-16 of a rounding boundary. Exact numeric sums were
-- measured at ~9 ms a request at 120 candidates: not worth it.
-- Its statements run on generic plans (planned once per connection):
-- the scoring statement's custom plan, made again on every call because
-- its arrays are parameters, cost ~4 ms of ~20 at 1,000,000 questions
-- (median of 40 ids in one session, interleaved: 16.3 ms generic, 19.4
-- ms as the planner chose, 22.6 ms custom; results byte-identical).
CREATE OR REPLACE FUNCTION mq_related(qid uuid, txt text, dept text, lim integer,
                           base text) RETURNS json
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    -- Postings of single rare terms a candidate query may ask for.
    budget CONSTANT integer := 120;
    -- Candidates scored: from the terms, and per topic of the source.
    cap CONSTANT integer := 120;
    cap_topic CONSTANT integer := 30;
    -- Near-identical: cosine at least this.
    dup_sim CONSTANT float8 := 0.7;
    w_text float8 := 0.60;
    w_dept float8 := 0.25;
    w_topic float8 := 0.15;
    no_vocab boolean := mq__ablated('vocab');
    flat boolean := mq__ablated('fields');
    diverse boolean := NOT mq__ablated('diversity');
    s_terms tsvector;
    s_dept text := dept;
    s_topics uuid[] := '{}';
    s_norm float8;
    s_lex text[];
    s_w float8[];
    s_idf float8[];
    rare text[];
    rare_df bigint[];
    n_docs float8;
    k integer := 0;
    acc bigint := 0;
    qs tsquery[];
    top jsonb;
    top_ids uuid[];
    pair_a uuid[];
    pair_b uuid[];
    kept integer[] := '{}';
    kept_ids uuid[] := '{}';
    n integer;
    result json;
BEGIN
    IF mq__ablated('prior') THEN
        w_text := 0.85;
        w_dept := 0;
    END IF;
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
    IF no_vocab THEN
        s_terms := ts_filter(s_terms, '{a,b,d}');
    END IF;
    n_docs := greatest(coalesce((SELECT docs FROM term_df_total), 0)
                       + coalesce((SELECT sum(delta) FROM term_df_pending
                                   WHERE lexeme = ''), 0), 1);

    -- The source's weighted terms, heaviest first, and its terms rarest
    -- first (document frequencies as of now, mq__df_of).
    -- s_idf: a term's weight but for the field it stands in, which is all
    -- a candidate's weight of the same term needs (same lexeme, same
    -- frequencies).
    SELECT array_agg(t.lexeme ORDER BY t.w DESC, t.lexeme),
           array_agg(t.w ORDER BY t.w DESC, t.lexeme),
           array_agg(t.idf ORDER BY t.w DESC, t.lexeme),
           sqrt(sum(t.w * t.w)),
           (array_agg(t.lexeme ORDER BY t.df, t.lexeme))[1:134],
           (array_agg(t.df ORDER BY t.df, t.lexeme))[1:134]
    INTO s_lex, s_w, s_idf, s_norm, rare, rare_df
    FROM (SELECT u.lexeme, u.df, u.idf, u.idf * mq__field_weight(u.weights, flat) AS w
          FROM (SELECT u.lexeme, u.weights, d.df,
                       power(ln(1 + n_docs / d.df), 1.0) * mq__lexeme_weight(u.lexeme) AS idf
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

    -- Scored, best first: the candidates that can still make the list
    -- once near-identical ones are left out (lim * 3 + 10 of them), as
    -- one JSON array, and the near-identical pairs among them.
    WITH cand AS MATERIALIZED (
        SELECT c.*, length(CASE WHEN no_vocab THEN ts_filter(c.terms, '{a,b,d}')
                                ELSE c.terms END)::float8 AS nterms
        FROM (
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
        ORDER BY c.id) AS c
    ), text_dot AS (
        -- The dot product over the terms the candidate shares with the
        -- source: the candidate's weight of a shared term is the source's
        -- s_idf by the candidate's field weight. (Only these terms: the
        -- weights of all ~8,000 candidate terms, a frequency lookup each,
        -- are needed for the near-duplicate step's ~22 candidates alone.)
        SELECT c.id, sum(s.w * s.idf * mq__field_weight(u.weights, flat)) AS dot
        FROM cand c
        CROSS JOIN LATERAL unnest(CASE WHEN no_vocab THEN ts_filter(c.terms, '{a,b,d}')
                                       ELSE c.terms END) AS u
        JOIN unnest(s_lex, s_w, s_idf) AS s(lexeme, w, idf) ON s.lexeme = u.lexeme
        GROUP BY c.id
    ), text_score AS (
        -- BM25's length normalisation (k1 1.2, b 0.75) with a document's
        -- length its number of terms, against the candidates' average
        -- (over the candidates with terms).
        -- (Its squared weight norm, tried first, punished exactly the
        -- questions rich in rare medical words.)
        SELECT c.id,
               least(1, coalesce(t.dot, 0) / nullif(s_norm * s_norm, 0)
                        * 2.2 / (1 + 1.2 * (0.25 + 0.75 * c.nterms / nullif(avg(c.nterms) OVER (), 0))))
               AS v
        FROM cand c LEFT JOIN text_dot t ON t.id = c.id
        WHERE c.nterms > 0
    ), scored AS (
        SELECT c.id, c.terms, c.state, c.asked_at, c.department_slug,
               coalesce(ts.v, 0) AS text_score,
               coalesce((c.department_slug = s_dept)::int, 0) AS same_dept,
               CASE WHEN cardinality(s_topics) = 0 THEN 0::float8
                    ELSE (SELECT count(*) FROM question_topics qt
                          WHERE qt.question_id = c.id AND qt.topic_id = ANY (s_topics))::float8
                         / cardinality(s_topics) END AS topic_share
        FROM cand c LEFT JOIN text_score ts ON ts.id = c.id
    ), ranked AS MATERIALIZED (
        SELECT x.*, row_number() OVER (ORDER BY x.score DESC, (x.state = 'answered') DESC,
                                                x.asked_at DESC, x.id) AS pos
        FROM (SELECT s.*, round((w_text * s.text_score
                                 -- The prior only beside some text (see above);
                                 -- reasons.same_department still says where it is.
                                 + w_dept * s.same_dept * (s.text_score > 0)::int
                                 + w_topic * s.topic_share)::numeric, 4) AS score
              FROM scored s
              ORDER BY score DESC, (s.state = 'answered') DESC, s.asked_at DESC, s.id
              LIMIT CASE WHEN diverse THEN lim * 3 + 10 ELSE lim END) AS x
    ), pending AS MATERIALIZED (
        -- What writes since the last fold changed (usually nothing).
        SELECT p.lexeme, sum(p.delta) AS delta FROM term_df_pending p
        GROUP BY p.lexeme
    ), rterm AS MATERIALIZED (
        -- Every term of the ranked candidates, weighted.
        SELECT r.id, u.lexeme, r.pos,
               power(ln(1 + n_docs / greatest(coalesce(d.df, 0) + coalesce(p.delta, 0), 1)), 1.0)
               * mq__field_weight(u.weights, flat) * mq__lexeme_weight(u.lexeme) AS w
        FROM ranked r
        CROSS JOIN LATERAL unnest(CASE WHEN no_vocab THEN ts_filter(r.terms, '{a,b,d}')
                                       ELSE r.terms END) AS u
        LEFT JOIN term_df d ON d.lexeme = u.lexeme
        LEFT JOIN pending p ON p.lexeme = u.lexeme
        WHERE diverse
    ), rnorm AS MATERIALIZED (
        SELECT t.id, sqrt(sum(t.w * t.w)) AS norm FROM rterm t GROUP BY t.id
    ), dup AS (
        -- Only a candidate (a) against one ranked before it (b): the walk
        -- below leaves a out when one taken before it is near-identical.
        -- (The norms are joined to the ~200 pairs, not to their ~7,000
        -- shared terms.)
        SELECT p.a, p.b
        FROM (SELECT a.id AS a, b.id AS b, sum(a.w * b.w) AS dot
              FROM rterm a JOIN rterm b ON b.lexeme = a.lexeme AND b.pos < a.pos
              GROUP BY a.id, b.id) AS p
        JOIN rnorm na ON na.id = p.a JOIN rnorm nb ON nb.id = p.b
        WHERE p.dot / nullif(na.norm * nb.norm, 0) >= dup_sim
    )
    SELECT (SELECT jsonb_agg(jsonb_build_object(
                       'id', r.id, 'terms', r.terms, 'state', r.state,
                       'department_slug', r.department_slug, 'same_dept', r.same_dept,
                       'score', r.score)
                   ORDER BY r.score DESC, (r.state = 'answered') DESC, r.asked_at DESC, r.id)
            FROM ranked r),
           (SELECT array_agg(d.a) FROM dup d), (SELECT array_agg(d.b) FROM dup d)
    INTO top, pair_a, pair_b;

    -- Best first, leaving out a candidate near-identical to one taken;
    -- then, if that leaves fewer than lim, the best of those left out
    -- (a near-duplicate is still better than an empty place).
    -- (top is jsonb and its ids an array: each `->` on a json value
    -- parses the text from its start, ~1 ms a step at 22 candidates.)
    top_ids := ARRAY(SELECT (e ->> 'id')::uuid
                     FROM jsonb_array_elements(top) WITH ORDINALITY AS x(e, o) ORDER BY o);
    FOR n IN 0 .. coalesce(cardinality(top_ids), 0) - 1 LOOP
        EXIT WHEN cardinality(kept) >= lim;
        IF NOT EXISTS (SELECT 1 FROM unnest(pair_a, pair_b) AS p(a, b)
                       WHERE p.a = top_ids[n + 1] AND p.b = ANY (kept_ids)) THEN
            kept := kept || n;
            kept_ids := kept_ids || top_ids[n + 1];
        END IF;
    END LOOP;
    FOR n IN 0 .. coalesce(cardinality(top_ids), 0) - 1 LOOP
        EXIT WHEN cardinality(kept) >= lim;
        IF NOT n = ANY (kept) THEN
            kept := kept || n;
            kept_ids := kept_ids || top_ids[n + 1];
        END IF;
    END LOOP;
    -- In score order again (the filled places may rank between others).
    SELECT array_agg(x ORDER BY x) INTO kept FROM unnest(kept) AS x;

    SELECT json_build_object(
        'question_id', qid,
        'questions', coalesce((
            SELECT json_agg(json_build_object(
                'id', x.id, 'title', x.title, 'headline', x.headline,
                'excerpt', mq_excerpt(x.body),
                'department', mq_department_ref(r.x ->> 'department_slug'),
                'reply', (SELECT json_build_object(
                              'doctor', json_build_object('id', d.id, 'name', d.name),
                              'excerpt', mq_excerpt(rp.body))
                          FROM replies rp JOIN doctors d ON d.id = rp.doctor_id
                          WHERE rp.question_id = x.id AND rp.kind = 'doctor'
                            AND rp.deleted_at IS NULL
                          ORDER BY rp.replied_at, rp.id LIMIT 1),
                'score', (r.x ->> 'score')::numeric,
                'reasons', mq__reasons(x.id, (r.x ->> 'terms')::tsvector,
                                       x.title || E'\n' || x.body,
                                       (r.x ->> 'same_dept')::int = 1,
                                       s_topics, s_lex, s_w, s_terms))
                ORDER BY k.ord)
            FROM unnest(kept) WITH ORDINALITY AS k(i, ord)
            CROSS JOIN LATERAL (SELECT top -> k.i AS x) AS r
            JOIN questions x ON x.id = (r.x ->> 'id')::uuid), '[]'::json),
        'topics', coalesce((
            SELECT json_agg(json_build_object('slug', t.slug, 'name', t.name,
                                              'department', mq_department_ref(t.department_slug))
                            ORDER BY tt.own DESC, tt.n DESC, t.name)
            FROM (SELECT tt.topic_id, tt.own,
                         CASE WHEN tt.own THEN t.question_count ELSE tt.n END AS n
                  FROM (SELECT x.topic_id, bool_or(x.own) AS own, count(*) AS n
                        FROM (SELECT qt.topic_id, false AS own FROM question_topics qt
                              WHERE qt.question_id = ANY (kept_ids)
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
