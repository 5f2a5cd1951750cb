-- Writes: one PL/pgSQL function per write of the API (one call = one
-- statement = one transaction), the validation helpers they share, and
-- mq__emit, which appends each write to the /changes feed.
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
--   mq_recount() (counters.sql) takes exclusively before its table locks.
-- Advisory lock keys: see the head of migrations/0002_domain.sql.
--
-- Each write function validates, locks what it changes (404 and 403 are
-- decided before If-Match, so a stranger learns nothing from a 412),
-- writes, appends its event last and returns the new representation.
-- Members of a body other than the editable ones are ignored here: the API
-- rejects them before the call. Helpers with the mq__ prefix are not for
-- the C code.

-- A topic slug from a name: accents dropped, lowercase ASCII letters and
-- digits kept, every other run turned into one '-', trimmed, and cut to the
-- 80 characters a slug may have (at a hyphen boundary, never leaving a
-- trailing '-'). '' when nothing is left (e.g. a name in Chinese).
-- STABLE, not IMMUTABLE, because unaccent() reads its rules file.
CREATE OR REPLACE FUNCTION mq_slugify(name text) RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
    SELECT btrim(left(btrim(regexp_replace(lower(unaccent(name)),
                                           '[^a-z0-9]+', '-', 'g'),
                            '-'),
                      80),
                 '-')
$$;

CREATE OR REPLACE FUNCTION mq__fail(code text, message text, hint text DEFAULT NULL)
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
CREATE OR REPLACE FUNCTION mq__writer() RETURNS void
LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock_shared(7271, 3)
$$;

-- "/asker/age_band" -> "asker.age_band", for messages.
CREATE OR REPLACE FUNCTION mq__label(ptr text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT replace(substr(ptr, 2), '/', '.')
$$;

-- obj->key; a missing or null required member is MQ422 with its pointer
-- (the API validates bodies first, so this is a safety net: it must not
-- turn into a NOT NULL violation). SQL NULL for an absent or null optional
-- member.
CREATE OR REPLACE FUNCTION mq__field(obj jsonb, key text, ptr text, required boolean)
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

CREATE OR REPLACE FUNCTION mq__object(v jsonb, ptr text) RETURNS jsonb
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
CREATE OR REPLACE FUNCTION mq__string(v jsonb, ptr text, lo integer, hi integer)
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

CREATE OR REPLACE FUNCTION mq__choice(v jsonb, ptr text, allowed text[]) RETURNS text
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

CREATE OR REPLACE FUNCTION mq__language(v jsonb, ptr text) RETURNS text
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

-- The age bands a write may set: ten-year bands with '90+' on top, as
-- HIPAA's Safe Harbor method aggregates ages over 89 (issue 15; '80+',
-- kept on questions asked before, is no longer written).
CREATE OR REPLACE FUNCTION mq__age_bands() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY['0-9', '10-19', '20-29', '30-39', '40-49', '50-59', '60-69',
                 '70-79', '80-89', '90+']
$$;

-- The message never repeats the address.
CREATE OR REPLACE FUNCTION mq__email(v jsonb, ptr text) RETURNS text
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

CREATE OR REPLACE FUNCTION mq__slug(v jsonb, ptr text) RETURNS text
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
CREATE OR REPLACE FUNCTION mq__department(v jsonb, ptr text) RETURNS text
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
-- content (issue 14): a doctor's id that must exist (MQ422 otherwise).
CREATE OR REPLACE FUNCTION mq__doctor_ref(v jsonb, ptr text) RETURNS uuid
LANGUAGE plpgsql STABLE AS $$
DECLARE
    s text := mq__string(v, ptr, 36, 36);
    found_id uuid;
BEGIN
    IF s IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT d.id INTO found_id FROM doctors d WHERE d.id::text = lower(s);
    IF found_id IS NULL THEN
        PERFORM mq__fail('MQ422', format('%s names no doctor', mq__label(ptr)),
                         ptr);
    END IF;
    RETURN found_id;
END
$$;

CREATE OR REPLACE FUNCTION mq__topic_ids(v jsonb, ptr text) RETURNS uuid[]
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
CREATE OR REPLACE FUNCTION mq__set_topics(qid uuid, listed uuid[], v jsonb, ptr text)
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
CREATE OR REPLACE FUNCTION mq__check_if_match(if_match text[], current json)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF if_match IS NOT NULL
       AND NOT ('*' = ANY (if_match) OR mq_etag(current) = ANY (if_match)) THEN
        PERFORM mq__fail('MQ412',
                         'the resource has changed since it was read: If-Match does not match its current ETag');
    END IF;
END
$$;

-- Appends one event; on a *.deleted or *.erased event first hides the
-- entity's earlier created/updated events (for a question, also those of
-- its replies).
-- Earlier *.deleted events stay visible: they carry nothing but an id, and
-- a partner part-way through the feed needs them. Always the last write of
-- a write function (see the comment on `changes`).
CREATE OR REPLACE FUNCTION mq__emit(type text, entity_id text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    kind text := split_part(mq__emit.type, '.', 1);
BEGIN
    -- (7271, 1): the changes feed. The two-integer key space is separate
    -- from the bigint one the migrator and Idempotency-Key locks use.
    PERFORM pg_advisory_xact_lock(7271, 1);
    IF mq__emit.type LIKE '%.deleted' OR mq__emit.type LIKE '%.erased' THEN
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

-- p = {"title","body","language"?,"asker":{"name","age_band","gender"},
--      "department","topics"?,"contact_email"?}; a JSON null for an
-- optional member means "absent". Topics from any department may be used.
CREATE OR REPLACE FUNCTION mq_create_question(p jsonb, base text) RETURNS json
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
                        mq__age_bands());
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
CREATE OR REPLACE FUNCTION mq_patch_question(id uuid, patch jsonb, if_match text[],
                                  base text)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    q questions;
    n questions;
    asker jsonb;
    review jsonb;
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
                mq__age_bands());
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
    -- content (issue 14): the editor's headline (null clears it) and
    -- medical review (null clears it; without last_reviewed, now).
    IF patch ? 'headline' THEN
        n.headline := mq__string(mq__field(patch, 'headline', '/headline',
                                           false),
                                 '/headline', 1, 200);
    END IF;
    IF patch ? 'medical_review' THEN
        review := mq__object(mq__field(patch, 'medical_review',
                                       '/medical_review', false),
                             '/medical_review');
        IF review IS NULL THEN
            n.reviewed_by := NULL;
            n.last_reviewed := NULL;
        ELSE
            n.reviewed_by := mq__doctor_ref(
                mq__field(review, 'doctor', '/medical_review/doctor', true),
                '/medical_review/doctor');
            n.last_reviewed := coalesce(
                (mq__string(mq__field(review, 'last_reviewed',
                                      '/medical_review/last_reviewed', false),
                            '/medical_review/last_reviewed', 1, 64)
                 )::timestamptz,
                now());
        END IF;
    END IF;

    IF (n.title, n.body, n.language, n.asker_name, n.asker_age_band,
        n.asker_gender, n.department_slug, n.headline, n.reviewed_by,
        n.last_reviewed)
       IS DISTINCT FROM
       (q.title, q.body, q.language, q.asker_name, q.asker_age_band,
        q.asker_gender, q.department_slug, q.headline, q.reviewed_by,
        q.last_reviewed) THEN
        UPDATE questions x
        SET title = n.title, body = n.body, language = n.language,
            asker_name = n.asker_name, asker_age_band = n.asker_age_band,
            asker_gender = n.asker_gender, department_slug = n.department_slug,
            headline = n.headline, reviewed_by = n.reviewed_by,
            last_reviewed = n.last_reviewed
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
CREATE OR REPLACE FUNCTION mq_delete_question(id uuid) RETURNS void
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
CREATE OR REPLACE FUNCTION mq_create_reply(question_id uuid, kind text, body text,
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
CREATE OR REPLACE FUNCTION mq__lock_reply(rid uuid, actor_doctor uuid) RETURNS replies
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
CREATE OR REPLACE FUNCTION mq_patch_reply(id uuid, patch jsonb, if_match text[],
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
CREATE OR REPLACE FUNCTION mq_delete_reply(id uuid, actor_doctor uuid) RETURNS void
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
CREATE OR REPLACE FUNCTION mq_create_topic(p jsonb) RETURNS json
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
CREATE OR REPLACE FUNCTION mq_patch_topic(slug text, patch jsonb, if_match text[])
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
CREATE OR REPLACE FUNCTION mq_delete_topic(slug text) RETURNS void
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
