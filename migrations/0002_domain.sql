-- Domain: doctors, topics, questions, replies, API keys, idempotency keys
-- and the /changes feed. Their functions and triggers live in sql/:
-- the JSON representations in representations.sql, the write functions
-- in writes.sql, the counter triggers and mq_recount() in counters.sql
-- (since issue 12; this file defined them when it was first applied).
--
-- The migrator wraps this file in one transaction.
--
-- Errors raised for clients use SQLSTATE class "MQ": MQ404 not found (or
-- hidden), MQ403 not yours, MQ409 conflict, MQ412 If-Match mismatch, MQ422
-- invalid or unknown reference. MESSAGE is safe to show a client (it never
-- contains an e-mail address or any stored content; it may echo a slug the
-- client sent); HINT, when set, is a JSON pointer into the request body.
--
-- Lock order used everywhere, so concurrent writers cannot deadlock:
--   rows:   reply -> question -> departments (by slug) -> topics (by id)
--           -> doctors (by id) -> the changes-feed lock (always last);
--   and before all of it the shared "writer gate" (mq__writer()), which
--   mq_recount() takes exclusively before its table locks.
-- A stress run (10 sessions, thousands of mixed writes on a few hot rows,
-- mq_recount() among them) ends with no deadlock and counters equal to a
-- recount.
--
-- Advisory lock keys (the two-integer key space; the migrator and the
-- Idempotency-Key locks of the C code use the bigint one):
--   (7271, 1) the changes feed, exclusive, see mq__emit();
--   (7271, 2) taken by mq_refresh_df() (sql/related.sql);
--   (7271, 3) the writer gate, see mq__writer() and mq_recount(), and the
--             try-lock of mq_refresh_df_if_stale() (sql/related.sql).

-- unaccent turns "Ménière" into "Meniere" when a topic slug is derived from
-- its name (it is a trusted extension, so a database owner may create it).
CREATE EXTENSION IF NOT EXISTS unaccent;

-- ---------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------

-- Visible (not deleted) questions filed under the department.
ALTER TABLE departments
    ADD COLUMN question_count integer NOT NULL DEFAULT 0
        CHECK (question_count >= 0);

CREATE TABLE doctors (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    department_slug text NOT NULL REFERENCES departments (slug),
    -- Visible doctor replies on visible questions.
    reply_count integer NOT NULL DEFAULT 0 CHECK (reply_count >= 0),
    created_at timestamptz NOT NULL DEFAULT now()
);
-- GET /doctors lists by (name, id), optionally within one department. Not
-- in the contract; the table is small, but these keep that keyset list an
-- index scan and cover the foreign key.
CREATE INDEX doctors_department_name_idx ON doctors (department_slug, name, id);
CREATE INDEX doctors_name_idx ON doctors (name, id);

CREATE TABLE topics (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Unique even among deleted topics: the slug is the topic's public id
    -- and the entity_id of its events in `changes`, so it is never reused.
    slug text NOT NULL UNIQUE
        CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 80),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    department_slug text NOT NULL REFERENCES departments (slug),
    description text NULL CHECK (length(description) <= 2000),
    -- Visible questions carrying the topic. Still maintained after the
    -- topic is deleted (it is just never shown then), so mq_recount() and
    -- the triggers agree without special cases.
    question_count integer NOT NULL DEFAULT 0 CHECK (question_count >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz NULL
);
-- Prefix autocomplete: lower(t.name) LIKE 'abc%' (issue 5 will refine).
-- Partial like every list index here: lists never show deleted topics, and
-- every list query says "deleted_at IS NULL", which the planner needs to
-- use a partial index.
CREATE INDEX topics_name_prefix_idx ON topics (lower(name) text_pattern_ops)
    WHERE deleted_at IS NULL;
-- GET /topics?department=… ordered by (name, slug); slug is the keyset
-- tie-breaker, so it is part of the index.
CREATE INDEX topics_department_name_idx ON topics (department_slug, name, slug)
    WHERE deleted_at IS NULL;

CREATE TABLE questions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    body text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
    -- BCP 47. The 35-character cap is not in the contract: it is the
    -- length RFC 5646 asks implementations to support, and it keeps an
    -- absurd tag from failing the btree index with an internal error.
    language text NOT NULL DEFAULT 'en'
        CHECK (language ~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$'
               AND length(language) <= 35),
    asker_name text NOT NULL CHECK (length(asker_name) BETWEEN 1 AND 60),
    asker_age_band text NOT NULL
        CHECK (asker_age_band IN ('0-9', '10-19', '20-29', '30-39', '40-49',
                                  '50-59', '60-69', '70-79', '80+')),
    asker_gender text NOT NULL
        CHECK (asker_gender IN ('female', 'male', 'other', 'undisclosed')),
    department_slug text NOT NULL REFERENCES departments (slug),
    -- 'answered' iff the question has a visible doctor reply.
    state text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'answered')),
    -- Visible replies of both kinds.
    reply_count integer NOT NULL DEFAULT 0 CHECK (reply_count >= 0),
    asked_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz NULL,
    search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A') ||
        setweight(to_tsvector('english', body), 'B')) STORED
);
CREATE INDEX questions_asked_idx ON questions (asked_at DESC, id DESC)
    WHERE deleted_at IS NULL;
CREATE INDEX questions_updated_idx ON questions (updated_at, id)
    WHERE deleted_at IS NULL;
CREATE INDEX questions_department_asked_idx
    ON questions (department_slug, asked_at DESC, id DESC)
    WHERE deleted_at IS NULL;
CREATE INDEX questions_state_asked_idx ON questions (state, asked_at DESC, id DESC)
    WHERE deleted_at IS NULL;
CREATE INDEX questions_language_asked_idx
    ON questions (language, asked_at DESC, id DESC)
    WHERE deleted_at IS NULL;
CREATE INDEX questions_search_idx ON questions USING gin (search)
    WHERE deleted_at IS NULL;

-- The asker's write-only e-mail, in its own table so that no
-- representation query can reach it by accident. It stays when the
-- question is soft-deleted (a soft delete is reversible by an operator);
-- a hard delete of the question removes it.
CREATE TABLE question_contacts (
    question_id uuid PRIMARY KEY REFERENCES questions (id) ON DELETE CASCADE,
    -- The '@' test is not in the contract: a cheap sanity check, reported
    -- as MQ422 /contact_email by the write functions before it can fire.
    email text NOT NULL CHECK (length(email) <= 254 AND email LIKE '_%@_%')
);

-- ON DELETE CASCADE from questions: questions are only soft-deleted by the
-- API; the cascade lets an operator purge one for good (the counters stay
-- right, see the triggers). Topics are never purged while linked.
CREATE TABLE question_topics (
    question_id uuid NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    topic_id uuid NOT NULL REFERENCES topics (id),
    PRIMARY KEY (question_id, topic_id)
);
CREATE INDEX question_topics_topic_idx ON question_topics (topic_id, question_id);

CREATE TABLE replies (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    question_id uuid NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('doctor', 'editorial')),
    doctor_id uuid NULL REFERENCES doctors (id),
    CHECK ((kind = 'doctor') = (doctor_id IS NOT NULL)),
    body text NOT NULL CHECK (length(body) BETWEEN 1 AND 20000),
    replied_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz NULL
);
-- A question's replies, oldest first.
CREATE INDEX replies_question_idx ON replies (question_id, replied_at, id)
    WHERE deleted_at IS NULL;
-- The other three are partial too (the contract leaves it open): every
-- query that lists replies shows only visible ones and says so.
CREATE INDEX replies_doctor_updated_idx ON replies (doctor_id, updated_at, id)
    WHERE deleted_at IS NULL;
CREATE INDEX replies_updated_idx ON replies (updated_at, id)
    WHERE deleted_at IS NULL;
CREATE INDEX replies_replied_idx ON replies (replied_at DESC, id DESC)
    WHERE deleted_at IS NULL;

CREATE TABLE api_keys (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    role text NOT NULL CHECK (role IN ('partner', 'app', 'doctor', 'editor')),
    doctor_id uuid NULL REFERENCES doctors (id),
    CHECK ((role = 'doctor') = (doctor_id IS NOT NULL)),
    prefix text NOT NULL UNIQUE,
    hash bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz NULL
);

CREATE TABLE idempotency_keys (
    -- Deleting a key (not revoking it) drops its stored responses too.
    api_key_id uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    key text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash bytea NOT NULL,
    status integer NOT NULL CHECK (status BETWEEN 100 AND 599),
    body text NOT NULL,
    location text NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (api_key_id, key)
);
-- For the sweep that deletes expired keys.
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- The syndication feed. Append-only, except that `hidden` is set on the
-- created/updated events of an entity once it is deleted.
--
-- Write functions append through mq__emit(), which first takes a
-- transaction-level advisory lock, so events are numbered in commit order:
-- a reader that has seen seq N will never later find a committed event
-- with a smaller seq (with a plain sequence, a transaction that took seq 10
-- could commit after one that took seq 11, and a partner polling with
-- cursor 11 would miss 10 forever). The lock is taken as the last step of
-- each write function, so it is held only from there to COMMIT.
CREATE TABLE changes (
    seq bigserial PRIMARY KEY,
    type text NOT NULL
        CHECK (type IN ('question.created', 'question.updated',
                        'question.deleted', 'reply.created', 'reply.updated',
                        'reply.deleted', 'topic.created', 'topic.updated',
                        'topic.deleted')),
    -- The uuid as text for questions and replies, the slug for topics.
    entity_id text NOT NULL CHECK (length(entity_id) BETWEEN 1 AND 80),
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    hidden boolean NOT NULL DEFAULT false
);
CREATE INDEX changes_visible_seq_idx ON changes (seq) WHERE NOT hidden;
-- Not in the contract: finds an entity's events to hide them on delete.
CREATE INDEX changes_entity_idx ON changes (entity_id) WHERE NOT hidden;
