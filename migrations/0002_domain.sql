-- Domain: doctors, topics, questions, replies, API keys, idempotency keys
-- and the /changes feed, with
--   * JSON representation functions (the C service sends their ::text
--     untouched, and hashes it for ETags),
--   * PL/pgSQL write functions (one call = one statement = one
--     transaction; each appends to `changes`),
--   * triggers that keep every counter and question.state right on any
--     write path, and mq_recount() to rebuild them after a bulk load.
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
--   (7271, 2) taken by mq_refresh_df() (migration 0003), not used here;
--   (7271, 3) the writer gate, see mq__writer() and mq_recount().

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

-- ---------------------------------------------------------------------------
-- JSON representations. Key order is part of the contract (ETags hash the
-- text). Each is one SELECT, STABLE and PARALLEL SAFE; mq_ts and mq_etag
-- are IMMUTABLE (so they do not inline: the functions they call are only
-- STABLE, but their results cannot change).
-- ---------------------------------------------------------------------------

-- RFC 3339 UTC with milliseconds. IMMUTABLE is honest here: the zone is a
-- constant and the pattern has no locale-dependent fields.
CREATE FUNCTION mq_ts(ts timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

CREATE FUNCTION mq_etag(j json) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT encode(substring(sha256(convert_to(j::text, 'UTF8')) FROM 1 FOR 16),
                  'hex')
$$;

CREATE FUNCTION mq_department_ref(slug text) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT json_build_object('slug', d.slug, 'name', d.name)
    FROM departments d
    WHERE d.slug = mq_department_ref.slug
$$;

-- Not in the contract: the Department resource of the API
-- {"slug","name","question_count"}, for GET /departments.
CREATE FUNCTION mq_department_json(d departments) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT json_build_object('slug', d.slug, 'name', d.name,
                             'question_count', d.question_count)
$$;

-- The parts of mq_question_json and mq_reply_json that need a subquery
-- live in their own functions: PostgreSQL inlines a SQL function into the
-- calling query only when its body has no subquery, and with these split
-- out, mq_question_json, mq_reply_json, mq_topic_json and mq_doctor_json
-- all inline (EXPLAIN VERBOSE shows json_build_object(...) in place).
CREATE FUNCTION mq__question_topics(question_id uuid) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(json_agg(json_build_object('slug', t.slug, 'name', t.name)
                             ORDER BY t.name, t.slug),
                    '[]'::json)
    FROM question_topics qt
    JOIN topics t ON t.id = qt.topic_id
    WHERE qt.question_id = mq__question_topics.question_id
      AND t.deleted_at IS NULL
$$;

-- null (JSON null in the reply) for an editorial reply.
CREATE FUNCTION mq__reply_doctor(doctor_id uuid) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT json_build_object('id', d.id,
                             'name', d.name,
                             'department', mq_department_ref(d.department_slug))
    FROM doctors d
    WHERE d.id = mq__reply_doctor.doctor_id
$$;

CREATE FUNCTION mq_question_json(q questions, base text) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT json_build_object(
        'id', q.id,
        'title', q.title,
        'body', q.body,
        'language', q.language,
        'asker', json_build_object('name', q.asker_name,
                                   'age_band', q.asker_age_band,
                                   'gender', q.asker_gender),
        'department', mq_department_ref(q.department_slug),
        'topics', mq__question_topics(q.id),
        'state', q.state,
        'reply_count', q.reply_count,
        'asked_at', mq_ts(q.asked_at),
        'updated_at', mq_ts(q.updated_at),
        'url', base || '/questions/' || q.id)
$$;

CREATE FUNCTION mq_reply_json(r replies) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT json_build_object(
        'id', r.id,
        'question_id', r.question_id,
        'kind', r.kind,
        'body', r.body,
        'doctor', mq__reply_doctor(r.doctor_id),
        'replied_at', mq_ts(r.replied_at),
        'updated_at', mq_ts(r.updated_at))
$$;

CREATE FUNCTION mq_topic_json(t topics) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT json_build_object(
        'slug', t.slug,
        'name', t.name,
        'department', mq_department_ref(t.department_slug),
        'description', t.description,
        'question_count', t.question_count)
$$;

CREATE FUNCTION mq_doctor_json(d doctors) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT json_build_object(
        'id', d.id,
        'name', d.name,
        'department', mq_department_ref(d.department_slug),
        'reply_count', d.reply_count)
$$;

-- A topic slug from a name: accents dropped, lowercase ASCII letters and
-- digits kept, every other run turned into one '-', trimmed, and cut to the
-- 80 characters a slug may have (at a hyphen boundary, never leaving a
-- trailing '-'). '' when nothing is left (e.g. a name in Chinese).
-- STABLE, not IMMUTABLE, because unaccent() reads its rules file.
CREATE FUNCTION mq_slugify(name text) RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
    SELECT btrim(left(btrim(regexp_replace(lower(unaccent(name)),
                                           '[^a-z0-9]+', '-', 'g'),
                            '-'),
                      80),
                 '-')
$$;

-- ---------------------------------------------------------------------------
-- Internal helpers of the write functions (mq__ prefix: not for the C code)
-- ---------------------------------------------------------------------------

CREATE FUNCTION mq__fail(code text, message text, hint text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message;
    END IF;
    RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message, HINT = hint;
END
$$;

-- The first call of every write function: the writer gate, shared. While
-- mq_recount() holds it exclusively no write function is half-way through,
-- and a write function never waits for it while holding another lock, so
-- the recount's table locks cannot deadlock with API writes (taking the
-- six table locks one by one while writers hold row locks could).
CREATE FUNCTION mq__writer() RETURNS void
LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock_shared(7271, 3)
$$;

-- "/asker/age_band" -> "asker.age_band", for messages.
CREATE FUNCTION mq__label(ptr text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT replace(substr(ptr, 2), '/', '.')
$$;

-- obj->key; a missing or null required member is MQ422 with its pointer
-- (the API validates bodies first, so this is a safety net: it must not
-- turn into a NOT NULL violation). SQL NULL for an absent or null optional
-- member.
CREATE FUNCTION mq__field(obj jsonb, key text, ptr text, required boolean)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v jsonb := obj -> key;
BEGIN
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        IF required THEN
            PERFORM mq__fail('MQ422',
                             format('%s is required and cannot be null',
                                    mq__label(ptr)),
                             ptr);
        END IF;
        RETURN NULL;
    END IF;
    RETURN v;
END
$$;

CREATE FUNCTION mq__object(v jsonb, ptr text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF v IS NOT NULL AND jsonb_typeof(v) <> 'object' THEN
        IF ptr = '' THEN
            PERFORM mq__fail('MQ422', 'the request body must be a JSON object');
        END IF;
        PERFORM mq__fail('MQ422',
                         format('%s must be an object', mq__label(ptr)), ptr);
    END IF;
    RETURN v;
END
$$;

-- A JSON string of lo..hi characters, as text (NULL stays NULL).
CREATE FUNCTION mq__string(v jsonb, ptr text, lo integer, hi integer)
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    s text;
BEGIN
    IF v IS NULL THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(v) <> 'string' THEN
        PERFORM mq__fail('MQ422',
                         format('%s must be a string', mq__label(ptr)), ptr);
    END IF;
    s := v #>> '{}';
    IF length(s) NOT BETWEEN lo AND hi THEN
        PERFORM mq__fail('MQ422',
                         format('%s must be %s to %s characters long',
                                mq__label(ptr), lo, hi),
                         ptr);
    END IF;
    RETURN s;
END
$$;

CREATE FUNCTION mq__choice(v jsonb, ptr text, allowed text[]) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF v IS NULL THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(v) <> 'string' OR NOT (v #>> '{}') = ANY (allowed) THEN
        PERFORM mq__fail('MQ422',
                         format('%s must be one of %s', mq__label(ptr),
                                array_to_string(allowed, ', ')),
                         ptr);
    END IF;
    RETURN v #>> '{}';
END
$$;

CREATE FUNCTION mq__language(v jsonb, ptr text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    s text := mq__string(v, ptr, 2, 35);
BEGIN
    IF s IS NOT NULL AND s !~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$' THEN
        PERFORM mq__fail('MQ422',
                         'language must be a BCP 47 tag such as "en" or "zh-TW"',
                         ptr);
    END IF;
    RETURN s;
END
$$;

-- The message never repeats the address.
CREATE FUNCTION mq__email(v jsonb, ptr text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    s text;
BEGIN
    IF v IS NULL THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(v) = 'string' THEN
        s := v #>> '{}';
    END IF;
    IF s IS NULL OR length(s) > 254 OR s NOT LIKE '_%@_%' THEN
        PERFORM mq__fail('MQ422',
                         'contact_email must be an e-mail address of at most 254 characters',
                         ptr);
    END IF;
    RETURN s;
END
$$;

CREATE FUNCTION mq__slug(v jsonb, ptr text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    s text;
BEGIN
    IF jsonb_typeof(v) = 'string' THEN
        s := v #>> '{}';
    END IF;
    IF s IS NULL OR length(s) > 80 OR s !~ '^[a-z0-9]+(-[a-z0-9]+)*$' THEN
        PERFORM mq__fail('MQ422',
                         'slug must be lowercase letters and digits in groups joined by single hyphens, at most 80 characters',
                         ptr);
    END IF;
    RETURN s;
END
$$;

-- An existing department's slug, or MQ422 naming the slug the client sent.
CREATE FUNCTION mq__department(v jsonb, ptr text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    s text;
BEGIN
    IF jsonb_typeof(v) <> 'string' THEN
        PERFORM mq__fail('MQ422', 'department must be a department slug', ptr);
    END IF;
    s := v #>> '{}';
    IF NOT EXISTS (SELECT 1 FROM departments d WHERE d.slug = s) THEN
        PERFORM mq__fail('MQ422',
                         format('department "%s" does not exist', left(s, 100)),
                         ptr);
    END IF;
    RETURN s;
END
$$;

-- Resolves a JSON array of topic slugs to ids, in input order (a slug
-- listed twice appears twice). NULL or JSON null gives the empty list. An
-- unknown or deleted slug is MQ422 pointing at its index. No locks here:
-- mq__set_topics locks, in id order, and checks again.
CREATE FUNCTION mq__topic_ids(v jsonb, ptr text) RETURNS uuid[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
    e jsonb;
    i bigint;
    tid uuid;
    ids uuid[] := '{}';
BEGIN
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        RETURN ids;
    END IF;
    IF jsonb_typeof(v) <> 'array' THEN
        PERFORM mq__fail('MQ422', 'topics must be an array of topic slugs', ptr);
    END IF;
    FOR e, i IN SELECT x.value, x.ordinality - 1
                FROM jsonb_array_elements(v) WITH ORDINALITY AS x
    LOOP
        IF jsonb_typeof(e) <> 'string' THEN
            PERFORM mq__fail('MQ422', 'topics must be an array of topic slugs',
                             ptr || '/' || i);
        END IF;
        SELECT t.id INTO tid
        FROM topics t
        WHERE t.slug = e #>> '{}' AND t.deleted_at IS NULL;
        IF NOT FOUND THEN
            PERFORM mq__fail('MQ422',
                             format('topic "%s" does not exist',
                                    left(e #>> '{}', 100)),
                             ptr || '/' || i);
        END IF;
        ids := ids || tid;
    END LOOP;
    RETURN ids;
END
$$;

-- Makes the question's topic links exactly the topics of `listed` (ids
-- from mq__topic_ids(v, ptr); duplicates are one link, not an error).
-- Every topic row whose counter may change is locked in one pass in id
-- order, the only order any write path locks several topics in, so two
-- writers with overlapping topics cannot deadlock. A listed topic deleted
-- by a transaction that committed since it was resolved is then reported
-- as unknown (mq_delete_topic holds FOR UPDATE, so we waited for it).
CREATE FUNCTION mq__set_topics(qid uuid, listed uuid[], v jsonb, ptr text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    wanted uuid[] := ARRAY(SELECT DISTINCT x FROM unnest(listed) AS x ORDER BY x);
    have uuid[];
    gone uuid;
    i integer;
BEGIN
    SELECT coalesce(array_agg(qt.topic_id ORDER BY qt.topic_id), '{}')
    INTO have
    FROM question_topics qt
    WHERE qt.question_id = qid;
    IF have = wanted THEN
        RETURN;
    END IF;
    SELECT (array_agg(l.id) FILTER (WHERE l.deleted_at IS NOT NULL
                                     AND l.id = ANY (wanted)))[1]
    INTO gone
    FROM (SELECT t.id, t.deleted_at FROM topics t
          WHERE t.id = ANY (have || wanted)
          ORDER BY t.id
          FOR NO KEY UPDATE) l;
    IF gone IS NOT NULL THEN
        i := array_position(listed, gone) - 1;
        PERFORM mq__fail('MQ422',
                         format('topic "%s" does not exist',
                                left(v ->> i, 100)),
                         ptr || '/' || i);
    END IF;
    DELETE FROM question_topics qt
    WHERE qt.question_id = qid AND qt.topic_id <> ALL (wanted);
    INSERT INTO question_topics (question_id, topic_id)
    SELECT qid, x FROM unnest(wanted) AS x
    WHERE x <> ALL (have)
    ORDER BY x;
END
$$;

-- MQ412 unless If-Match is absent, holds '*', or holds the current tag.
CREATE FUNCTION mq__check_if_match(if_match text[], current json)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF if_match IS NOT NULL
       AND NOT ('*' = ANY (if_match) OR mq_etag(current) = ANY (if_match)) THEN
        PERFORM mq__fail('MQ412',
                         'the resource has changed since it was read: If-Match does not match its current ETag');
    END IF;
END
$$;

-- Appends one event; on a *.deleted event first hides the entity's earlier
-- created/updated events (for a question, also those of its replies).
-- Earlier *.deleted events stay visible: they carry nothing but an id, and
-- a partner part-way through the feed needs them. Always the last write of
-- a write function (see the comment on `changes`).
CREATE FUNCTION mq__emit(type text, entity_id text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    kind text := split_part(mq__emit.type, '.', 1);
BEGIN
    -- (7271, 1): the changes feed. The two-integer key space is separate
    -- from the bigint one the migrator and Idempotency-Key locks use.
    PERFORM pg_advisory_xact_lock(7271, 1);
    IF mq__emit.type LIKE '%.deleted' THEN
        UPDATE changes c SET hidden = true
        WHERE c.entity_id = mq__emit.entity_id AND NOT c.hidden
          AND c.type IN (kind || '.created', kind || '.updated');
        IF kind = 'question' THEN
            UPDATE changes c SET hidden = true
            FROM replies r
            WHERE r.question_id = mq__emit.entity_id::uuid
              AND c.entity_id = r.id::text AND NOT c.hidden
              AND c.type IN ('reply.created', 'reply.updated');
        END IF;
    END IF;
    INSERT INTO changes (type, entity_id)
    VALUES (mq__emit.type, mq__emit.entity_id);
END
$$;

-- ---------------------------------------------------------------------------
-- Counter triggers. Definitions:
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
-- off) and call mq_recount() afterwards.
-- ---------------------------------------------------------------------------

-- questions: INSERT, UPDATE OF deleted_at/department_slug, and DELETE (a
-- purge). DELETE runs BEFORE the row goes, while its question_topics and
-- replies still exist; their own triggers then find no parent row and
-- leave the counters alone.
CREATE FUNCTION mq__questions_counts() RETURNS trigger
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

CREATE TRIGGER questions_counts_insert
    AFTER INSERT ON questions
    FOR EACH ROW EXECUTE FUNCTION mq__questions_counts();
CREATE TRIGGER questions_counts_update
    AFTER UPDATE OF deleted_at, department_slug ON questions
    FOR EACH ROW
    WHEN ((OLD.deleted_at IS NULL) IS DISTINCT FROM (NEW.deleted_at IS NULL)
          OR OLD.department_slug IS DISTINCT FROM NEW.department_slug)
    EXECUTE FUNCTION mq__questions_counts();
CREATE TRIGGER questions_counts_delete
    BEFORE DELETE ON questions
    FOR EACH ROW EXECUTE FUNCTION mq__questions_counts();

-- question_topics: a link counts for its topic while its question is
-- visible (the topic's own deleted_at does not matter, see topics).
CREATE FUNCTION mq__question_topics_counts() RETURNS trigger
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

CREATE TRIGGER question_topics_counts
    AFTER INSERT OR UPDATE OR DELETE ON question_topics
    FOR EACH ROW EXECUTE FUNCTION mq__question_topics_counts();

-- One question's side of a reply change: reply_count by `delta`, state
-- recomputed, updated_at moved to `ts` (never backwards), and the doctor
-- counters moved when the question is visible. The question row is locked
-- by its own statement first, so the EXISTS below runs on a snapshot taken
-- after any concurrent reply writer on this question has committed.
CREATE FUNCTION mq__reply_touch(qid uuid, delta integer, doctor_minus uuid,
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
CREATE FUNCTION mq__replies_counts() RETURNS trigger
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

CREATE TRIGGER replies_counts_insert_delete
    AFTER INSERT OR DELETE ON replies
    FOR EACH ROW EXECUTE FUNCTION mq__replies_counts();
CREATE TRIGGER replies_counts_update
    AFTER UPDATE OF deleted_at, question_id, kind, doctor_id ON replies
    FOR EACH ROW
    WHEN ((OLD.deleted_at IS NULL) IS DISTINCT FROM (NEW.deleted_at IS NULL)
          OR OLD.question_id IS DISTINCT FROM NEW.question_id
          OR OLD.kind IS DISTINCT FROM NEW.kind
          OR OLD.doctor_id IS DISTINCT FROM NEW.doctor_id)
    EXECUTE FUNCTION mq__replies_counts();

-- Deleting a topic needs no trigger: its counter no longer matters, and
-- mq_question_json lists only topics whose deleted_at IS NULL.

-- Recomputes every counter and question.state from scratch (after a bulk
-- load with triggers off, or to repair). Blocks writers to the tables it
-- reads until the caller's transaction ends, so the counts it writes are
-- the counts of what is committed; readers are not blocked. Only rows whose
-- value changes are written. Safe to run while the API writes; a loader
-- should call it in a transaction of its own, or at least before any
-- other session writes through the API (it waits for the writer gate).
CREATE FUNCTION mq_recount() RETURNS void
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

-- ---------------------------------------------------------------------------
-- Write functions. Each validates, locks what it changes (404 and 403 are
-- decided before If-Match, so a stranger learns nothing from a 412),
-- writes, appends its event last and returns the new representation.
-- Members of a body other than the editable ones are ignored here: the API
-- rejects them before the call.
-- ---------------------------------------------------------------------------

-- p = {"title","body","language"?,"asker":{"name","age_band","gender"},
--      "department","topics"?,"contact_email"?}; a JSON null for an
-- optional member means "absent". Topics from any department may be used.
CREATE FUNCTION mq_create_question(p jsonb, base text) RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
    asker jsonb;
    v_title text;
    v_body text;
    v_language text;
    v_name text;
    v_age text;
    v_gender text;
    v_dept text;
    v_topics uuid[];
    v_email text;
    q questions;
BEGIN
    PERFORM mq__writer();
    PERFORM mq__object(p, '');
    v_title := mq__string(mq__field(p, 'title', '/title', true), '/title', 1, 200);
    v_body := mq__string(mq__field(p, 'body', '/body', true), '/body', 1, 10000);
    v_language := coalesce(mq__language(mq__field(p, 'language', '/language', false),
                                        '/language'),
                           'en');
    asker := mq__object(mq__field(p, 'asker', '/asker', true), '/asker');
    v_name := mq__string(mq__field(asker, 'name', '/asker/name', true),
                         '/asker/name', 1, 60);
    v_age := mq__choice(mq__field(asker, 'age_band', '/asker/age_band', true),
                        '/asker/age_band',
                        ARRAY['0-9', '10-19', '20-29', '30-39', '40-49',
                              '50-59', '60-69', '70-79', '80+']);
    v_gender := mq__choice(mq__field(asker, 'gender', '/asker/gender', true),
                           '/asker/gender',
                           ARRAY['female', 'male', 'other', 'undisclosed']);
    v_dept := mq__department(mq__field(p, 'department', '/department', true),
                             '/department');
    v_topics := mq__topic_ids(p -> 'topics', '/topics');
    v_email := mq__email(mq__field(p, 'contact_email', '/contact_email', false),
                         '/contact_email');

    INSERT INTO questions (title, body, language, asker_name, asker_age_band,
                           asker_gender, department_slug)
    VALUES (v_title, v_body, v_language, v_name, v_age, v_gender, v_dept)
    RETURNING * INTO q;
    IF v_email IS NOT NULL THEN
        INSERT INTO question_contacts (question_id, email)
        VALUES (q.id, v_email);
    END IF;
    PERFORM mq__set_topics(q.id, v_topics, p -> 'topics', '/topics');
    PERFORM mq__emit('question.created', q.id::text);
    RETURN mq_question_json(q, base);
END
$$;

-- RFC 7396 merge patch over title, body, language, asker (merged member by
-- member), department, topics (an array replaces the list; null empties
-- it) and contact_email (null removes it). "language": null restores the
-- default 'en', as on create. A null for a required member is MQ422.
-- updated_at moves and question.updated is appended only when the public
-- representation changes: an empty patch, a patch that sets what is
-- already there, or a change of contact_email alone (write-only, so
-- invisible to clients) leaves updated_at, the ETag and the feed as they
-- are.
CREATE FUNCTION mq_patch_question(id uuid, patch jsonb, if_match text[],
                                  base text)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    q questions;
    n questions;
    asker jsonb;
    before json;
    after json;
    v_email text;
BEGIN
    PERFORM mq__writer();
    SELECT * INTO q FROM questions x
    WHERE x.id = mq_patch_question.id AND x.deleted_at IS NULL
    FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM mq__fail('MQ404', 'no question exists with this id');
    END IF;
    before := mq_question_json(q, base);
    PERFORM mq__check_if_match(if_match, before);
    PERFORM mq__object(patch, '');

    n := q;
    IF patch ? 'title' THEN
        n.title := mq__string(mq__field(patch, 'title', '/title', true),
                              '/title', 1, 200);
    END IF;
    IF patch ? 'body' THEN
        n.body := mq__string(mq__field(patch, 'body', '/body', true),
                             '/body', 1, 10000);
    END IF;
    IF patch ? 'language' THEN
        n.language := coalesce(mq__language(mq__field(patch, 'language',
                                                      '/language', false),
                                            '/language'),
                               'en');
    END IF;
    IF patch ? 'asker' THEN
        asker := mq__object(mq__field(patch, 'asker', '/asker', true), '/asker');
        IF asker ? 'name' THEN
            n.asker_name := mq__string(mq__field(asker, 'name', '/asker/name',
                                                 true),
                                       '/asker/name', 1, 60);
        END IF;
        IF asker ? 'age_band' THEN
            n.asker_age_band := mq__choice(
                mq__field(asker, 'age_band', '/asker/age_band', true),
                '/asker/age_band',
                ARRAY['0-9', '10-19', '20-29', '30-39', '40-49', '50-59',
                      '60-69', '70-79', '80+']);
        END IF;
        IF asker ? 'gender' THEN
            n.asker_gender := mq__choice(
                mq__field(asker, 'gender', '/asker/gender', true),
                '/asker/gender',
                ARRAY['female', 'male', 'other', 'undisclosed']);
        END IF;
    END IF;
    IF patch ? 'department' THEN
        n.department_slug := mq__department(
            mq__field(patch, 'department', '/department', true), '/department');
    END IF;

    IF (n.title, n.body, n.language, n.asker_name, n.asker_age_band,
        n.asker_gender, n.department_slug)
       IS DISTINCT FROM
       (q.title, q.body, q.language, q.asker_name, q.asker_age_band,
        q.asker_gender, q.department_slug) THEN
        UPDATE questions x
        SET title = n.title, body = n.body, language = n.language,
            asker_name = n.asker_name, asker_age_band = n.asker_age_band,
            asker_gender = n.asker_gender, department_slug = n.department_slug
        WHERE x.id = q.id;
    END IF;
    IF patch ? 'topics' THEN
        PERFORM mq__set_topics(q.id, mq__topic_ids(patch -> 'topics', '/topics'),
                               patch -> 'topics', '/topics');
    END IF;
    IF patch ? 'contact_email' THEN
        v_email := mq__email(mq__field(patch, 'contact_email', '/contact_email',
                                       false),
                             '/contact_email');
        IF v_email IS NULL THEN
            DELETE FROM question_contacts c WHERE c.question_id = q.id;
        ELSE
            INSERT INTO question_contacts AS c (question_id, email)
            VALUES (q.id, v_email)
            ON CONFLICT (question_id) DO UPDATE SET email = EXCLUDED.email;
        END IF;
    END IF;

    SELECT * INTO n FROM questions x WHERE x.id = q.id;
    after := mq_question_json(n, base);
    IF after::text IS DISTINCT FROM before::text THEN
        UPDATE questions x SET updated_at = now()
        WHERE x.id = q.id
        RETURNING * INTO n;
        PERFORM mq__emit('question.updated', q.id::text);
        after := mq_question_json(n, base);
    END IF;
    RETURN after;
END
$$;

-- Soft delete: the department and topic counts drop, and so does the
-- reply_count of every doctor who replied (triggers). The contact e-mail
-- is kept (see question_contacts). Only question.deleted is appended, not
-- a reply.deleted per reply: a partner drops a deleted question's replies
-- with it.
CREATE FUNCTION mq_delete_question(id uuid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    qid uuid;
BEGIN
    PERFORM mq__writer();
    SELECT x.id INTO qid FROM questions x
    WHERE x.id = mq_delete_question.id AND x.deleted_at IS NULL
    FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM mq__fail('MQ404', 'no question exists with this id');
    END IF;
    UPDATE questions x SET deleted_at = now() WHERE x.id = qid;
    PERFORM mq__emit('question.deleted', qid::text);
END
$$;

-- kind NULL means 'doctor' when doctor_id is given, else 'editorial'. A
-- doctor reply needs doctor_id and an editorial one must not have it
-- (MQ403: the C layer derives both from the API key's role).
CREATE FUNCTION mq_create_reply(question_id uuid, kind text, body text,
                                doctor_id uuid)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    v_kind text := coalesce(mq_create_reply.kind,
                            CASE WHEN mq_create_reply.doctor_id IS NULL
                                 THEN 'editorial' ELSE 'doctor' END);
    rep replies;
BEGIN
    PERFORM mq__writer();
    IF v_kind NOT IN ('doctor', 'editorial') THEN
        PERFORM mq__fail('MQ422', 'kind must be one of doctor, editorial', '/kind');
    END IF;
    IF v_kind = 'doctor' AND mq_create_reply.doctor_id IS NULL THEN
        PERFORM mq__fail('MQ403',
                         'doctor replies come from a doctor''s API key');
    END IF;
    IF v_kind = 'editorial' AND mq_create_reply.doctor_id IS NOT NULL THEN
        PERFORM mq__fail('MQ403',
                         'a doctor''s API key writes doctor replies; editorial replies come from editors');
    END IF;
    -- NO KEY UPDATE, not SHARE: the reply trigger updates this row, and two
    -- concurrent replies holding SHARE locks would deadlock upgrading them.
    PERFORM 1 FROM questions q
    WHERE q.id = mq_create_reply.question_id AND q.deleted_at IS NULL
    FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        PERFORM mq__fail('MQ404', 'no question exists with this id');
    END IF;
    IF mq_create_reply.doctor_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM doctors d WHERE d.id = mq_create_reply.doctor_id) THEN
        PERFORM mq__fail('MQ422', 'the doctor this API key belongs to does not exist');
    END IF;
    IF mq_create_reply.body IS NULL THEN
        PERFORM mq__fail('MQ422', 'body is required and cannot be null', '/body');
    END IF;
    IF length(mq_create_reply.body) NOT BETWEEN 1 AND 20000 THEN
        PERFORM mq__fail('MQ422', 'body must be 1 to 20000 characters long', '/body');
    END IF;

    INSERT INTO replies (question_id, kind, doctor_id, body)
    VALUES (mq_create_reply.question_id, v_kind, mq_create_reply.doctor_id,
            mq_create_reply.body)
    RETURNING * INTO rep;
    PERFORM mq__emit('reply.created', rep.id::text);
    RETURN mq_reply_json(rep);
END
$$;

-- The reply of a visible question, locked, or MQ404; MQ403 when a doctor
-- key (actor_doctor NOT NULL) is not the reply's doctor (this includes
-- editorial replies). Shared by mq_patch_reply and mq_delete_reply.
CREATE FUNCTION mq__lock_reply(rid uuid, actor_doctor uuid) RETURNS replies
LANGUAGE plpgsql AS $$
DECLARE
    rep replies;
BEGIN
    SELECT r.* INTO rep
    FROM replies r JOIN questions q ON q.id = r.question_id
    WHERE r.id = rid AND r.deleted_at IS NULL AND q.deleted_at IS NULL
    FOR UPDATE OF r;
    IF NOT FOUND THEN
        PERFORM mq__fail('MQ404', 'no reply exists with this id');
    END IF;
    IF actor_doctor IS NOT NULL AND rep.doctor_id IS DISTINCT FROM actor_doctor THEN
        PERFORM mq__fail('MQ403', 'only the doctor who wrote this reply may change it');
    END IF;
    RETURN rep;
END
$$;

-- Editable: body. updated_at moves and reply.updated is appended only when
-- the body actually changes.
CREATE FUNCTION mq_patch_reply(id uuid, patch jsonb, if_match text[],
                               actor_doctor uuid)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    rep replies;
    v_body text;
BEGIN
    PERFORM mq__writer();
    rep := mq__lock_reply(mq_patch_reply.id, actor_doctor);
    PERFORM mq__check_if_match(if_match, mq_reply_json(rep));
    PERFORM mq__object(patch, '');
    IF patch ? 'body' THEN
        v_body := mq__string(mq__field(patch, 'body', '/body', true),
                             '/body', 1, 20000);
        IF v_body IS DISTINCT FROM rep.body THEN
            UPDATE replies r SET body = v_body, updated_at = now()
            WHERE r.id = rep.id
            RETURNING * INTO rep;
            PERFORM mq__emit('reply.updated', rep.id::text);
        END IF;
    END IF;
    RETURN mq_reply_json(rep);
END
$$;

-- Soft delete; the question's reply_count, state and updated_at and the
-- doctor's reply_count follow (triggers).
CREATE FUNCTION mq_delete_reply(id uuid, actor_doctor uuid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    rep replies;
BEGIN
    PERFORM mq__writer();
    rep := mq__lock_reply(mq_delete_reply.id, actor_doctor);
    UPDATE replies r SET deleted_at = now() WHERE r.id = rep.id;
    PERFORM mq__emit('reply.deleted', rep.id::text);
END
$$;

-- p = {"name","department","description"?,"slug"?}. Without a slug it is
-- mq_slugify(name) (MQ422 /name when that leaves nothing). A slug that
-- exists, even on a deleted topic, is MQ409 /slug; ON CONFLICT makes that
-- hold for two concurrent creates of one slug as well.
CREATE FUNCTION mq_create_topic(p jsonb) RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
    v_name text;
    v_dept text;
    v_desc text;
    v_slug text;
    t topics;
BEGIN
    PERFORM mq__writer();
    PERFORM mq__object(p, '');
    v_name := mq__string(mq__field(p, 'name', '/name', true), '/name', 1, 100);
    v_dept := mq__department(mq__field(p, 'department', '/department', true),
                             '/department');
    v_desc := mq__string(mq__field(p, 'description', '/description', false),
                         '/description', 0, 2000);
    IF mq__field(p, 'slug', '/slug', false) IS NOT NULL THEN
        v_slug := mq__slug(p -> 'slug', '/slug');
    ELSE
        v_slug := mq_slugify(v_name);
        IF v_slug = '' THEN
            PERFORM mq__fail('MQ422',
                             'a slug cannot be made from this name (it has no Latin letters or digits); send a slug',
                             '/name');
        END IF;
    END IF;

    INSERT INTO topics (slug, name, department_slug, description)
    VALUES (v_slug, v_name, v_dept, v_desc)
    ON CONFLICT (slug) DO NOTHING
    RETURNING * INTO t;
    IF NOT FOUND THEN
        PERFORM mq__fail('MQ409',
                         format('a topic with slug "%s" exists already; choose another slug',
                                v_slug),
                         '/slug');
    END IF;
    PERFORM mq__emit('topic.created', t.slug);
    RETURN mq_topic_json(t);
END
$$;

-- Editable: name, description (null clears it), department. The slug is
-- the topic's identity and does not change. updated_at moves and
-- topic.updated is appended only when something changes. Questions that
-- carry the topic show the new name at once, but their updated_at does
-- not move (a rename would otherwise rewrite and lock every such
-- question); topic.updated tells partners.
CREATE FUNCTION mq_patch_topic(slug text, patch jsonb, if_match text[])
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    t topics;
    n topics;
BEGIN
    PERFORM mq__writer();
    SELECT * INTO t FROM topics x
    WHERE x.slug = mq_patch_topic.slug AND x.deleted_at IS NULL
    FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM mq__fail('MQ404', 'no topic exists with this slug');
    END IF;
    PERFORM mq__check_if_match(if_match, mq_topic_json(t));
    PERFORM mq__object(patch, '');

    n := t;
    IF patch ? 'name' THEN
        n.name := mq__string(mq__field(patch, 'name', '/name', true),
                             '/name', 1, 100);
    END IF;
    IF patch ? 'description' THEN
        n.description := mq__string(mq__field(patch, 'description',
                                              '/description', false),
                                    '/description', 0, 2000);
    END IF;
    IF patch ? 'department' THEN
        n.department_slug := mq__department(
            mq__field(patch, 'department', '/department', true), '/department');
    END IF;
    IF (n.name, n.description, n.department_slug)
       IS DISTINCT FROM (t.name, t.description, t.department_slug) THEN
        UPDATE topics x
        SET name = n.name, description = n.description,
            department_slug = n.department_slug, updated_at = now()
        WHERE x.id = t.id
        RETURNING * INTO t;
        PERFORM mq__emit('topic.updated', t.slug);
    END IF;
    RETURN mq_topic_json(t);
END
$$;

-- Soft delete. The topic leaves every question's topics list (the links
-- stay, hidden); its slug stays taken. Questions' updated_at does not move
-- (see mq_patch_topic); topic.deleted tells partners.
CREATE FUNCTION mq_delete_topic(slug text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    tid uuid;
BEGIN
    PERFORM mq__writer();
    -- FOR UPDATE conflicts with the FOR NO KEY UPDATE of mq__set_topics,
    -- so a question being linked to this topic either lands first or sees
    -- the topic gone.
    SELECT x.id INTO tid FROM topics x
    WHERE x.slug = mq_delete_topic.slug AND x.deleted_at IS NULL
    FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM mq__fail('MQ404', 'no topic exists with this slug');
    END IF;
    UPDATE topics x SET deleted_at = now() WHERE x.id = tid;
    PERFORM mq__emit('topic.deleted', mq_delete_topic.slug);
END
$$;
