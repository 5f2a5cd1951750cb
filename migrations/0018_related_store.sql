-- Similar Q&A kept per question (issue 17): the result of mq_related() for
-- a question's page (limit 4), stored, so that a page view reads it
-- instead of ranking ~120 candidates (~15 ms of PostgreSQL CPU at
-- 1,000,000 questions). The functions that fill, invalidate and read it
-- are in sql/related_store.sql.
--
--   related_store   one row per question whose result has been computed:
--                   the JSON exactly as mq_related() gave it, the ids of
--                   the questions and topics it shows (GIN-indexed: a
--                   write to one of them finds the rows that show it),
--                   when it was computed and when the change it answers
--                   was first marked (NULL: a backfill, nothing changed).
--   related_queue   the questions whose result is missing or stale, with
--                   the deadline by which the refresh worker should redo
--                   them (due_at; 'infinity' for backfill), a lease
--                   (claimed_until) so that N instances never redo the
--                   same one at once, and a mark that changes on every
--                   re-marking, so a refresh that raced a newer change
--                   leaves the row queued.
--   related_store_config  RELATED_MAX_STALENESS, written by each instance's
--                   worker at start, read by the triggers that set
--                   deadlines.
CREATE TABLE related_store (
    question_id uuid PRIMARY KEY REFERENCES questions (id) ON DELETE CASCADE,
    result json NOT NULL,
    neighbours uuid[] NOT NULL,
    topic_ids uuid[] NOT NULL,
    computed_at timestamptz NOT NULL,
    marked_at timestamptz NULL
);
CREATE INDEX related_store_neighbours ON related_store USING gin (neighbours);
CREATE INDEX related_store_topics ON related_store USING gin (topic_ids);

CREATE SEQUENCE related_queue_mark;
CREATE TABLE related_queue (
    question_id uuid PRIMARY KEY REFERENCES questions (id) ON DELETE CASCADE,
    due_at timestamptz NOT NULL,
    marked_at timestamptz NULL,
    spread boolean NOT NULL DEFAULT false,
    mark bigint NOT NULL DEFAULT nextval('related_queue_mark'),
    claimed_until timestamptz NULL
);
CREATE INDEX related_queue_due ON related_queue (due_at);

CREATE TABLE related_store_config (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    max_staleness_s integer NOT NULL DEFAULT 60 CHECK (max_staleness_s > 0)
);
INSERT INTO related_store_config DEFAULT VALUES;

-- A database migrated from before: every visible question is backfilled
-- by the worker (lowest priority; pages compute live until then).
INSERT INTO related_queue (question_id, due_at)
SELECT id, 'infinity' FROM questions WHERE deleted_at IS NULL;
