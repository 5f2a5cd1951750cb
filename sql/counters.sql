-- Counters: the triggers that keep every counter (question_count of
-- departments and topics, reply_count of questions and doctors) and
-- questions.state right on any write path, and mq_recount() to rebuild
-- them after a bulk load that ran with triggers off.
--
-- Definitions:
--   question visible   = questions.deleted_at IS NULL
--   reply visible      = replies.deleted_at IS NULL (and, for doctor
--                        counts, its question visible)
--   departments.question_count = visible questions in it
--   topics.question_count      = visible questions linked to it
--   doctors.reply_count        = visible doctor replies on visible questions
--   questions.reply_count      = its visible replies (both kinds)
--   questions.state            = 'answered' iff a visible doctor reply exists
-- Counters move by deltas (safe under concurrency: an UPDATE re-reads the
-- newest row version); state is recomputed after locking the question row.
-- Seed loaders may run with session_replication_role = replica (triggers
-- off) and call mq_recount() afterwards. Deleting a topic needs no
-- trigger: its counter no longer matters, and the representations list
-- only topics whose deleted_at IS NULL.

-- questions: INSERT, UPDATE OF deleted_at/department_slug, and DELETE (a
-- purge). DELETE runs BEFORE the row goes, while its question_topics and
-- replies still exist; their own triggers then find no parent row and
-- leave the counters alone.
CREATE OR REPLACE FUNCTION mq__questions_counts() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    old_vis boolean := TG_OP <> 'INSERT' AND OLD.deleted_at IS NULL;
    new_vis boolean := TG_OP <> 'DELETE' AND NEW.deleted_at IS NULL;
    old_dept text;
    new_dept text;
    qid uuid;
    delta integer;
BEGIN
    IF old_vis THEN
        old_dept := OLD.department_slug;
    END IF;
    IF new_vis THEN
        new_dept := NEW.department_slug;
    END IF;
    IF old_dept IS DISTINCT FROM new_dept THEN
        -- Both rows locked in slug order first: the UPDATE alone would
        -- lock them in heap order, which differs between two moves A->B
        -- and B->A and could deadlock them.
        PERFORM 1 FROM departments d
        WHERE d.slug IN (old_dept, new_dept)
        ORDER BY d.slug
        FOR NO KEY UPDATE;
        UPDATE departments d
        SET question_count = d.question_count
            + CASE WHEN d.slug = new_dept THEN 1 ELSE 0 END
            - CASE WHEN d.slug = old_dept THEN 1 ELSE 0 END
        WHERE d.slug IN (old_dept, new_dept);
    END IF;

    IF old_vis IS DISTINCT FROM new_vis THEN
        delta := CASE WHEN new_vis THEN 1 ELSE -1 END;
        qid := CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END;

        PERFORM 1 FROM topics t
        WHERE t.id IN (SELECT qt.topic_id FROM question_topics qt
                       WHERE qt.question_id = qid)
        ORDER BY t.id
        FOR NO KEY UPDATE;
        UPDATE topics t
        SET question_count = t.question_count + delta
        FROM question_topics qt
        WHERE qt.question_id = qid AND t.id = qt.topic_id;

        PERFORM 1 FROM doctors d
        WHERE d.id IN (SELECT r.doctor_id FROM replies r
                       WHERE r.question_id = qid AND r.deleted_at IS NULL
                         AND r.kind = 'doctor')
        ORDER BY d.id
        FOR NO KEY UPDATE;
        UPDATE doctors d
        SET reply_count = d.reply_count + delta * s.n
        FROM (SELECT r.doctor_id, count(*)::integer AS n
              FROM replies r
              WHERE r.question_id = qid AND r.deleted_at IS NULL
                AND r.kind = 'doctor'
              GROUP BY r.doctor_id) s
        WHERE d.id = s.doctor_id;
    END IF;

    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER questions_counts_insert
    AFTER INSERT ON questions
    FOR EACH ROW EXECUTE FUNCTION mq__questions_counts();

CREATE OR REPLACE TRIGGER questions_counts_update
    AFTER UPDATE OF deleted_at, department_slug ON questions
    FOR EACH ROW
    WHEN ((OLD.deleted_at IS NULL) IS DISTINCT FROM (NEW.deleted_at IS NULL)
          OR OLD.department_slug IS DISTINCT FROM NEW.department_slug)
    EXECUTE FUNCTION mq__questions_counts();

CREATE OR REPLACE TRIGGER questions_counts_delete
    BEFORE DELETE ON questions
    FOR EACH ROW EXECUTE FUNCTION mq__questions_counts();

-- question_topics: a link counts for its topic while its question is
-- visible (the topic's own deleted_at does not matter, see topics).
CREATE OR REPLACE FUNCTION mq__question_topics_counts() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND EXISTS (
        SELECT 1 FROM questions q
        WHERE q.id = OLD.question_id AND q.deleted_at IS NULL) THEN
        UPDATE topics t SET question_count = t.question_count - 1
        WHERE t.id = OLD.topic_id;
    END IF;
    IF TG_OP <> 'DELETE' AND EXISTS (
        SELECT 1 FROM questions q
        WHERE q.id = NEW.question_id AND q.deleted_at IS NULL) THEN
        UPDATE topics t SET question_count = t.question_count + 1
        WHERE t.id = NEW.topic_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER question_topics_counts
    AFTER INSERT OR UPDATE OR DELETE ON question_topics
    FOR EACH ROW EXECUTE FUNCTION mq__question_topics_counts();

-- One question's side of a reply change: reply_count by `delta`, state
-- recomputed, updated_at moved to `ts` (never backwards), and the doctor
-- counters moved when the question is visible. The question row is locked
-- by its own statement first, so the EXISTS below runs on a snapshot taken
-- after any concurrent reply writer on this question has committed.
CREATE OR REPLACE FUNCTION mq__reply_touch(qid uuid, delta integer, doctor_minus uuid,
                                doctor_plus uuid, ts timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    qvis boolean;
BEGIN
    SELECT q.deleted_at IS NULL INTO qvis
    FROM questions q WHERE q.id = qid
    FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RETURN; -- purged in this statement; its BEFORE DELETE trigger counted
    END IF;
    UPDATE questions q
    SET reply_count = q.reply_count + delta,
        state = CASE WHEN EXISTS (SELECT 1 FROM replies r
                                  WHERE r.question_id = q.id
                                    AND r.deleted_at IS NULL
                                    AND r.kind = 'doctor')
                     THEN 'answered' ELSE 'open' END,
        updated_at = greatest(q.updated_at, ts)
    WHERE q.id = qid;
    IF qvis AND doctor_minus IS DISTINCT FROM doctor_plus THEN
        IF doctor_minus IS NOT NULL AND doctor_plus IS NOT NULL THEN
            PERFORM 1 FROM doctors d
            WHERE d.id IN (doctor_minus, doctor_plus)
            ORDER BY d.id
            FOR NO KEY UPDATE;
        END IF;
        UPDATE doctors d
        SET reply_count = d.reply_count
            + CASE WHEN d.id = doctor_plus THEN 1 ELSE 0 END
            - CASE WHEN d.id = doctor_minus THEN 1 ELSE 0 END
        WHERE d.id IN (doctor_minus, doctor_plus);
    END IF;
END
$$;

-- replies: INSERT, UPDATE of the columns that matter to counters, DELETE.
-- A new reply moves its question's updated_at to replied_at, a deleted one
-- to deleted_at (both now() on the API path; a seed loading history gets
-- the historical time, not the load time).
CREATE OR REPLACE FUNCTION mq__replies_counts() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    old_vis boolean := TG_OP <> 'INSERT' AND OLD.deleted_at IS NULL;
    new_vis boolean := TG_OP <> 'DELETE' AND NEW.deleted_at IS NULL;
    old_doc uuid;
    new_doc uuid;
    ts timestamptz := now();
BEGIN
    IF old_vis AND OLD.kind = 'doctor' THEN
        old_doc := OLD.doctor_id;
    END IF;
    IF new_vis AND NEW.kind = 'doctor' THEN
        new_doc := NEW.doctor_id;
    END IF;
    IF TG_OP = 'INSERT' THEN
        ts := NEW.replied_at;
    ELSIF TG_OP = 'UPDATE' AND old_vis AND NOT new_vis THEN
        ts := NEW.deleted_at;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.question_id = NEW.question_id THEN
        PERFORM mq__reply_touch(NEW.question_id,
                                new_vis::integer - old_vis::integer,
                                old_doc, new_doc, ts);
    ELSE
        IF TG_OP <> 'INSERT' THEN
            PERFORM mq__reply_touch(OLD.question_id, -old_vis::integer,
                                    old_doc, NULL, ts);
        END IF;
        IF TG_OP <> 'DELETE' THEN
            PERFORM mq__reply_touch(NEW.question_id, new_vis::integer,
                                    NULL, new_doc, ts);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER replies_counts_insert_delete
    AFTER INSERT OR DELETE ON replies
    FOR EACH ROW EXECUTE FUNCTION mq__replies_counts();

CREATE OR REPLACE TRIGGER replies_counts_update
    AFTER UPDATE OF deleted_at, question_id, kind, doctor_id ON replies
    FOR EACH ROW
    WHEN ((OLD.deleted_at IS NULL) IS DISTINCT FROM (NEW.deleted_at IS NULL)
          OR OLD.question_id IS DISTINCT FROM NEW.question_id
          OR OLD.kind IS DISTINCT FROM NEW.kind
          OR OLD.doctor_id IS DISTINCT FROM NEW.doctor_id)
    EXECUTE FUNCTION mq__replies_counts();

-- Recomputes every counter and question.state from scratch (after a bulk
-- load with triggers off, or to repair). Blocks writers to the tables it
-- reads until the caller's transaction ends, so the counts it writes are
-- the counts of what is committed; readers are not blocked. Only rows whose
-- value changes are written. Safe to run while the API writes; a loader
-- should call it in a transaction of its own, or at least before any
-- other session writes through the API (it waits for the writer gate).
CREATE OR REPLACE FUNCTION mq_recount() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- First the writer gate (no write function is running, none starts),
    -- then the tables, against writers that bypass the write functions.
    PERFORM pg_advisory_xact_lock(7271, 3);
    LOCK TABLE replies, questions, departments, question_topics, topics,
               doctors IN SHARE ROW EXCLUSIVE MODE;

    UPDATE questions q
    SET reply_count = s.n, state = s.state
    FROM (SELECT q2.id,
                 count(r.id) FILTER (WHERE r.deleted_at IS NULL)::integer AS n,
                 CASE WHEN bool_or(r.deleted_at IS NULL AND r.kind = 'doctor')
                      THEN 'answered' ELSE 'open' END AS state
          FROM questions q2
          LEFT JOIN replies r ON r.question_id = q2.id
          GROUP BY q2.id) s
    WHERE q.id = s.id
      AND (q.reply_count, q.state) IS DISTINCT FROM (s.n, s.state);

    UPDATE departments d
    SET question_count = s.n
    FROM (SELECT d2.slug, count(q.id)::integer AS n
          FROM departments d2
          LEFT JOIN questions q
                 ON q.department_slug = d2.slug AND q.deleted_at IS NULL
          GROUP BY d2.slug) s
    WHERE d.slug = s.slug AND d.question_count <> s.n;

    UPDATE topics t
    SET question_count = s.n
    FROM (SELECT t2.id, count(q.id)::integer AS n
          FROM topics t2
          LEFT JOIN question_topics qt ON qt.topic_id = t2.id
          LEFT JOIN questions q
                 ON q.id = qt.question_id AND q.deleted_at IS NULL
          GROUP BY t2.id) s
    WHERE t.id = s.id AND t.question_count <> s.n;

    UPDATE doctors d
    SET reply_count = s.n
    FROM (SELECT d2.id, count(q.id)::integer AS n
          FROM doctors d2
          LEFT JOIN replies r
                 ON r.doctor_id = d2.id AND r.kind = 'doctor'
                AND r.deleted_at IS NULL
          LEFT JOIN questions q
                 ON q.id = r.question_id AND q.deleted_at IS NULL
          GROUP BY d2.id) s
    WHERE d.id = s.id AND d.reply_count <> s.n;
END
$$;
