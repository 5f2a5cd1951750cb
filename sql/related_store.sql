-- Similar Q&A, stored per question with bounded staleness (issue 17; the
-- tables are migrations/0018_related_store.sql).
--
-- A question page's "Similar Q&A" and "Related FAQ" are what mq_related()
-- (sql/related.sql) gives for the question at limit 4, stored as it gave
-- it, so stored and live bodies are byte-identical and the ranking (and
-- its total order of ties) exists once. medqa's refresh worker
-- (internal/related/worker.c) claims queued questions (mq_related_claim)
-- and recomputes them one transaction each (mq_related_refresh).
--
-- What queues a question, and by when it must be redone ("at once": due
-- now, so it is served live until the worker has redone it):
--   * created: at once, and once its own result is computed, those of the
--     questions it shows whose results it would likely enter
--     (mq__related_spread), within RELATED_MAX_STALENESS; until then they
--     serve their stored result without it;
--   * its title, body, headline, terms (its doctor replies'), department,
--     state, date or topics changed: itself and every stored result that
--     shows it, at once (edits are rare, and a shown title must not lag);
--   * hidden (or erased): every stored result that shows it, at once; an
--     erased one's stored copies are deleted in the erasing transaction,
--     so no copy of erased text outlives it;
--   * a topic renamed, moved or hidden: every result that shows it, at
--     once;
--   * stored without triggers (seed --synthetic, a migrated database):
--     the worker's idle backfill (mq_related_backfill);
--   * computed by another ranking (a changed sql/related.sql, terms.sql or
--     vocabulary.sql, so re-applied: mq__related_ranking differs): never
--     served again, and requeued by the same backfill walk, which each
--     instance runs at start.
--
-- Reading (mq_related_stored) serves the stored result only when it is
-- current enough and shows nothing hidden: the question itself visible,
-- every question and topic it shows visible, and no refresh overdue (a
-- queued deadline passed), and computed by the ranking in force. Otherwise it computes live exactly as before,
-- so a hidden question never shows, even before the worker has run, and
-- RELATED_MAX_STALENESS bounds what is served even when the worker falls
-- behind. Other limits than the page's (GET /related?limit=) and drafts
-- (text=) are always live.
--
-- requires: sql/related.sql

-- RELATED_MAX_STALENESS as an interval (related_store_config).
CREATE OR REPLACE FUNCTION mq__related_staleness() RETURNS interval
LANGUAGE sql STABLE AS $$
    SELECT make_interval(secs => coalesce(
        (SELECT max_staleness_s FROM related_store_config), 60))
$$;

-- The ranking in force: the checksums (schema_migrations) of the SQL
-- files the ranking is made of, recorded with each stored result. The
-- files are re-applied exactly when they change, so a stored result whose
-- ranking differs was computed by other weights, terms or vocabulary.
CREATE OR REPLACE FUNCTION mq__related_ranking() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(string_agg(m.checksum, ',' ORDER BY m.version), '')
    FROM schema_migrations m
    WHERE m.version IN ('sql/related.sql', 'sql/terms.sql',
                        'sql/vocabulary.sql')
$$;

-- Written by each instance's worker at start.
CREATE OR REPLACE FUNCTION mq_related_configure(max_staleness_s integer)
RETURNS void
LANGUAGE sql AS $$
    INSERT INTO related_store_config AS c (one, max_staleness_s)
    VALUES (true, mq_related_configure.max_staleness_s)
    ON CONFLICT (one) DO UPDATE SET max_staleness_s = EXCLUDED.max_staleness_s
    WHERE c.max_staleness_s IS DISTINCT FROM EXCLUDED.max_staleness_s
$$;

-- mq__related_mark (below) for several deadlines in one statement:
-- ids[i] by dues[i], the earliest when an id comes twice.
CREATE OR REPLACE FUNCTION mq__related_mark_each(ids uuid[], dues timestamptz[],
                                                 spreads boolean[])
RETURNS void
LANGUAGE sql AS $$
    INSERT INTO related_queue AS q (question_id, due_at, marked_at, spread)
    SELECT m.id, m.due, clock_timestamp(), m.spread
    FROM (SELECT DISTINCT ON (u.id) u.id, u.due, u.spread
          FROM unnest(ids, dues, spreads) AS u(id, due, spread)
          ORDER BY u.id, u.due, u.spread DESC) AS m
    JOIN questions x ON x.id = m.id AND x.deleted_at IS NULL
    ORDER BY m.id
    ON CONFLICT (question_id) DO UPDATE
        SET due_at = least(q.due_at, EXCLUDED.due_at),
            marked_at = coalesce(q.marked_at, EXCLUDED.marked_at),
            spread = q.spread OR EXCLUDED.spread,
            mark = nextval('related_queue_mark'),
            claimed_until = NULL
$$;

-- Queues the visible questions among ids to be recomputed by `due`
-- (an earlier deadline already queued stands). `spread`: once it is
-- recomputed, queue the questions it then shows too. Rows are taken in
-- id order, so two writers marking overlapping sets cannot deadlock with
-- each other (the worker gives way to writers: mq_related_refresh).
CREATE OR REPLACE FUNCTION mq__related_mark(ids uuid[], due timestamptz,
                                            spread boolean)
RETURNS void
LANGUAGE sql AS $$
    SELECT mq__related_mark_each(ids, array_fill(due, ARRAY[cardinality(ids)]),
                                 array_fill(spread, ARRAY[cardinality(ids)]))
$$;

-- The stored results that show any of the questions ids.
CREATE OR REPLACE FUNCTION mq__related_showing(ids uuid[]) RETURNS uuid[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(s.question_id), '{}')
    FROM related_store s WHERE s.neighbours && ids
$$;

-- New questions: their own result at once.
CREATE OR REPLACE FUNCTION mq__related_questions_new() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM mq__related_mark(ARRAY(SELECT n.id FROM new_rows n
                                   WHERE n.deleted_at IS NULL), now(), true);
    RETURN NULL;
END
$$;

-- Edits, hides, erasures and restores of questions (see the head of the
-- file). Counter updates change none of these columns and cost one scan
-- of the transition tables.
CREATE OR REPLACE FUNCTION mq__related_questions_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed uuid[];
    visible uuid[];
    gone uuid[];
    erased uuid[];
    ids uuid[];
    dues timestamptz[];
    spreads boolean[];
BEGIN
    SELECT array_agg(n.id),
           array_agg(n.id) FILTER (WHERE n.deleted_at IS NULL),
           array_agg(n.id) FILTER (WHERE n.deleted_at IS NOT NULL),
           array_agg(n.id) FILTER (WHERE n.erased_at IS NOT NULL)
    INTO changed, visible, gone, erased
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE n.related_terms IS DISTINCT FROM o.related_terms
       OR n.reply_terms IS DISTINCT FROM o.reply_terms
       OR n.deleted_at IS DISTINCT FROM o.deleted_at
       OR n.erased_at IS DISTINCT FROM o.erased_at
       OR n.title IS DISTINCT FROM o.title
       OR n.headline IS DISTINCT FROM o.headline
       OR n.body IS DISTINCT FROM o.body
       OR n.department_slug IS DISTINCT FROM o.department_slug
       OR n.state IS DISTINCT FROM o.state
       OR n.asked_at IS DISTINCT FROM o.asked_at;
    IF changed IS NULL THEN
        RETURN NULL;
    END IF;
    -- One marking statement (see mq__related_mark): the edited ones, and
    -- what shows an edited or hidden one, at once.
    WITH m AS (
        SELECT v AS id, now() AS due, true AS spread
        FROM unnest(coalesce(visible, '{}')) AS v
        UNION ALL
        SELECT g, now(), false
        FROM unnest(mq__related_showing(coalesce(gone, '{}'))) AS g
        UNION ALL
        SELECT e, now(), false
        FROM unnest(mq__related_showing(coalesce(visible, '{}'))) AS e)
    SELECT array_agg(m.id), array_agg(m.due), array_agg(m.spread)
    INTO ids, dues, spreads FROM m;
    IF ids IS NOT NULL THEN
        PERFORM mq__related_mark_each(ids, dues, spreads);
    END IF;
    IF gone IS NOT NULL THEN
        DELETE FROM related_store WHERE question_id = ANY (gone);
        DELETE FROM related_queue WHERE question_id = ANY (gone);
    END IF;
    IF erased IS NOT NULL THEN
        DELETE FROM related_store WHERE neighbours && erased;
    END IF;
    RETURN NULL;
END
$$;

-- Questions deleted outright (an erased tombstone stays; this is for
-- maintenance and the benchmark's purge): their own rows go with them
-- (ON DELETE CASCADE); what showed them is redone at once.
CREATE OR REPLACE FUNCTION mq__related_questions_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM mq__related_mark(
        mq__related_showing(ARRAY(SELECT o.id FROM old_rows o)), now(), false);
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER questions_related_deleted
    AFTER DELETE ON questions REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION mq__related_questions_deleted();
CREATE OR REPLACE TRIGGER questions_related_new
    AFTER INSERT ON questions REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION mq__related_questions_new();
CREATE OR REPLACE TRIGGER questions_related_changed
    AFTER UPDATE ON questions REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION mq__related_questions_changed();

-- A question's topics changed: itself, and the results that show it.
CREATE OR REPLACE FUNCTION mq__related_topics_of_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    qid uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.question_id
                     ELSE NEW.question_id END;
BEGIN
    PERFORM mq__related_mark_each(
        qid || s.ids, array_fill(now(), ARRAY[1 + cardinality(s.ids)]),
        true || array_fill(false, ARRAY[cardinality(s.ids)]))
    FROM (SELECT mq__related_showing(ARRAY[qid]) AS ids) AS s;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER question_topics_related
    AFTER INSERT OR DELETE ON question_topics
    FOR EACH ROW EXECUTE FUNCTION mq__related_topics_of_changed();

-- A topic renamed, moved or hidden: the results that show it (a hidden
-- one is never served meanwhile: mq_related_stored checks).
CREATE OR REPLACE FUNCTION mq__related_topic_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM mq__related_mark(
        ARRAY(SELECT s.question_id FROM related_store s
              WHERE s.topic_ids @> ARRAY[NEW.id]),
        now(), false);
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER topics_related
    AFTER UPDATE OF name, slug, department_slug, deleted_at ON topics
    FOR EACH ROW EXECUTE FUNCTION mq__related_topic_changed();

-- Claims up to n queued questions, earliest deadline first, for lease_s
-- seconds: another instance skips them (SKIP LOCKED while this runs, the
-- lease after), and a worker that dies leaves them to be claimed again
-- when the lease ends. Returns each with its mark, for mq_related_refresh.
CREATE OR REPLACE FUNCTION mq_related_claim(n integer, lease_s integer)
RETURNS TABLE (question_id uuid, mark bigint)
LANGUAGE sql AS $$
    UPDATE related_queue q
    SET claimed_until = clock_timestamp() + make_interval(secs => lease_s)
    FROM (SELECT c.question_id FROM related_queue c
          WHERE c.claimed_until IS NULL OR c.claimed_until < clock_timestamp()
          ORDER BY c.due_at
          LIMIT n FOR UPDATE SKIP LOCKED) AS c
    WHERE q.question_id = c.question_id
    RETURNING q.question_id, q.mark
$$;

-- The questions a new or edited question's result `res` shows whose own
-- stored result it would likely enter: similarity is nearly symmetric
-- (the text cosine, IDF weights and department are; the topic share is
-- taken over the source's topics, and each side ranks a bounded
-- candidate set), so the new one's score against a neighbour, less a
-- margin of 0.05 for that asymmetry, is compared with the lowest score
-- the neighbour shows now. Those without a stored result are computed
-- live anyway; those with fewer than 4 take it. Refreshing only these
-- spares the worker (and the pages' bytes) a refresh that would change
-- nothing but the statistics' drift.
CREATE OR REPLACE FUNCTION mq__related_spread(res json) RETURNS uuid[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(s.question_id), '{}')
    FROM json_array_elements(res->'questions') AS e
    JOIN related_store s ON s.question_id = (e->>'id')::uuid
    WHERE cardinality(s.neighbours) < 4
       OR (e->>'score')::numeric + 0.05 >= (
              SELECT min((x->>'score')::numeric)
              FROM json_array_elements(s.result->'questions') AS x)
$$;

-- Recomputes and stores one question's result (limit 4: the page's), in
-- its own transaction. It waits at most 200 ms for a row lock, so in a
-- lock cycle with a writer (its marks are not in one id order with the
-- writer's) the refresh fails, and is retried after its lease, well
-- before PostgreSQL's deadlock check (1 s) could pick the writer. The queue row goes only when it still carries the
-- claimed mark: a change marked meanwhile keeps it queued. With `spread`,
-- the questions now shown are queued within the bound. A question hidden
-- meanwhile loses its row. Returns whether it stored a result.
CREATE OR REPLACE FUNCTION mq_related_refresh(qid uuid, claimed bigint)
RETURNS boolean
LANGUAGE plpgsql
SET lock_timeout = '200ms'
AS $$
DECLARE
    res json;
    nb uuid[];
    tids uuid[];
    q related_queue;
BEGIN
    SELECT * INTO q FROM related_queue WHERE question_id = qid;
    IF NOT EXISTS (SELECT 1 FROM questions x
                   WHERE x.id = qid AND x.deleted_at IS NULL) THEN
        DELETE FROM related_store WHERE question_id = qid;
        DELETE FROM related_queue WHERE question_id = qid;
        RETURN false;
    END IF;
    res := mq_related(qid, NULL, NULL, 4, NULL);
    nb := ARRAY(SELECT (e->>'id')::uuid
                FROM json_array_elements(res->'questions') AS e);
    tids := ARRAY(SELECT t.id FROM topics t WHERE t.slug IN (
                      SELECT e->>'slug' FROM json_array_elements(res->'topics') AS e
                      UNION
                      SELECT json_array_elements_text(e->'reasons'->'shared_topics')
                      FROM json_array_elements(res->'questions') AS e));
    INSERT INTO related_store AS s (question_id, result, neighbours, topic_ids,
                                    computed_at, marked_at, ranking)
    VALUES (qid, res, nb, tids, clock_timestamp(), q.marked_at,
            mq__related_ranking())
    ON CONFLICT (question_id) DO UPDATE
        SET result = EXCLUDED.result, neighbours = EXCLUDED.neighbours,
            topic_ids = EXCLUDED.topic_ids, computed_at = EXCLUDED.computed_at,
            marked_at = EXCLUDED.marked_at, ranking = EXCLUDED.ranking;
    IF q.spread THEN
        PERFORM mq__related_mark(mq__related_spread(res),
                                 now() + mq__related_staleness(), false);
    END IF;
    DELETE FROM related_queue WHERE question_id = qid AND mark = claimed;
    RETURN true;
END
$$;

-- The worker's idle backfill: queues (lowest priority) the visible
-- questions with no queue row and no stored result of the ranking in
-- force (none, or one another ranking computed) among the n
-- after `after` in id order. Returns the last id looked at, NULL past
-- the end; the worker walks the table from NULL to NULL.
CREATE OR REPLACE FUNCTION mq_related_backfill(after uuid, n integer)
RETURNS uuid
LANGUAGE sql AS $$
    WITH scan AS MATERIALIZED (
        SELECT x.id, x.deleted_at FROM questions x
        WHERE after IS NULL OR x.id > after
        ORDER BY x.id LIMIT n
    ), queued AS (
        INSERT INTO related_queue (question_id, due_at)
        SELECT s.id, 'infinity'
        FROM scan s, (SELECT mq__related_ranking() AS ranking) AS v
        WHERE s.deleted_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM related_store r
                          WHERE r.question_id = s.id AND r.ranking = v.ranking)
        ORDER BY s.id
        ON CONFLICT (question_id) DO NOTHING
    )
    SELECT s.id FROM scan s ORDER BY s.id DESC LIMIT 1
$$;

-- A question page's Similar Q&A: the stored result when it may be
-- served (see the head of the file), else mq_related() live. Raises
-- MQ404 (through mq_related) for a question that is missing or hidden.
CREATE OR REPLACE FUNCTION mq_related_stored(qid uuid, lim integer, base text)
RETURNS json
LANGUAGE plpgsql STABLE AS $$
DECLARE
    s related_store;
BEGIN
    IF lim = 4 THEN
        SELECT * INTO s FROM related_store r WHERE r.question_id = qid;
        IF FOUND
           AND s.ranking = mq__related_ranking()
           AND EXISTS (SELECT 1 FROM questions x
                       WHERE x.id = qid AND x.deleted_at IS NULL)
           AND NOT EXISTS (SELECT 1 FROM related_queue q
                           WHERE q.question_id = qid AND q.due_at <= now())
           AND (SELECT count(*) FROM questions x
                WHERE x.id = ANY (s.neighbours) AND x.deleted_at IS NULL)
               = cardinality(s.neighbours)
           AND NOT EXISTS (SELECT 1 FROM topics t
                           WHERE t.id = ANY (s.topic_ids)
                             AND t.deleted_at IS NOT NULL) THEN
            RETURN s.result;
        END IF;
    END IF;
    RETURN mq_related(qid, NULL, NULL, lim, base);
END
$$;

-- For `make bench` and operators: how far behind the worker is.
--   queued    questions waiting (backfill included)
--   overdue   of them, past their deadline (served live meanwhile)
--   oldest_s  seconds since the oldest change still waiting was marked
CREATE OR REPLACE FUNCTION mq_related_queue_stats(
    OUT queued bigint, OUT overdue bigint, OUT oldest_s float8)
LANGUAGE sql STABLE AS $$
    SELECT count(*),
           count(*) FILTER (WHERE due_at <= now()),
           coalesce(extract(epoch FROM now() - min(marked_at)), 0)::float8
    FROM related_queue
$$;
