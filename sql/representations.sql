-- JSON representations: the objects of the contract, built in SQL. The C
-- service sends their ::text untouched and hashes it for ETags, so key
-- order is part of the contract and every byte matters.
--
-- Speed (measured on 100,000 questions, bench/RESULTS.md): mq_ts is STABLE
-- (to_char is only STABLE) so it inlines into its caller;
-- mq_department_ref, mq__question_topics and mq__reply_doctor hold a
-- subquery and cannot inline, so they are PL/pgSQL, whose plans are
-- cached per session. The hot read statements of the C service
-- (GET /questions/{id}, the question list) do better still without any
-- function call per row: they put the department and topics in as scalar
-- subqueries of their own, prepared once per connection. mq__department_of
-- and mq__topics_of are those subqueries, written once here as
-- set-returning SQL functions that PostgreSQL inlines into the caller's
-- FROM, and mq__question_doc assembles the object, so the key order is
-- written in one place.

-- RFC 3339 UTC with milliseconds. IMMUTABLE is honest here: the zone is a
-- constant and the pattern has no locale-dependent fields.
CREATE OR REPLACE FUNCTION mq_ts(ts timestamptz) RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
    SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

CREATE OR REPLACE FUNCTION mq_etag(j json) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT encode(substring(sha256(convert_to(j::text, 'UTF8')) FROM 1 FOR 16),
                  'hex')
$$;

-- {"slug","name"} of a department: no row when there is no such slug.
CREATE OR REPLACE FUNCTION mq__department_of(slug text) RETURNS TABLE (j json)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT json_build_object('slug', d.slug, 'name', d.name)
    FROM departments d
    WHERE d.slug = mq__department_of.slug
$$;

-- A question's visible topics [{"slug","name"}…] by name: always one row.
CREATE OR REPLACE FUNCTION mq__topics_of(question_id uuid) RETURNS TABLE (j json)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(json_agg(json_build_object('slug', t.slug, 'name', t.name)
                             ORDER BY t.name, t.slug),
                    '[]'::json)
    FROM question_topics qt
    JOIN topics t ON t.id = qt.topic_id
    WHERE qt.question_id = mq__topics_of.question_id
      AND t.deleted_at IS NULL
$$;

-- content (issue 14): {reviewed_by: the doctor, last_reviewed}, or null
-- when no doctor has looked at the question.
CREATE OR REPLACE FUNCTION mq__medical_review(doctor_id uuid, at timestamptz)
RETURNS json
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    IF doctor_id IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN json_build_object('reviewed_by', mq__reply_doctor(doctor_id),
                             'last_reviewed', mq_ts(at));
END
$$;

-- The Question object from its row and its two looked-up parts. No
-- subquery, so it inlines into json_build_object(...) in the caller.
CREATE OR REPLACE FUNCTION mq__question_doc(q questions, base text, department json,
                                 topics json) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT json_build_object(
        'id', q.id,
        'title', q.title,
        'body', q.body,
        'language', q.language,
        'asker', json_build_object('name', q.asker_name,
                                   'age_band', q.asker_age_band,
                                   'gender', q.asker_gender),
        'department', department,
        'topics', topics,
        'state', q.state,
        'reply_count', q.reply_count,
        'asked_at', mq_ts(q.asked_at),
        'updated_at', mq_ts(q.updated_at),
        'url', base || '/questions/' || q.id,
        'headline', q.headline,
        'medical_review', mq__medical_review(q.reviewed_by, q.last_reviewed))
$$;

CREATE OR REPLACE FUNCTION mq_department_ref(slug text) RETURNS json
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RETURN (SELECT d.j FROM mq__department_of(slug) AS d);
END
$$;

-- The parts of mq_question_json and mq_reply_json that need a subquery
-- live in their own functions: PostgreSQL inlines a SQL function into the
-- calling query only when its body has no subquery, and with these split
-- out, mq_question_json, mq_reply_json, mq_topic_json and mq_doctor_json
-- all inline (EXPLAIN VERBOSE shows json_build_object(...) in place).
CREATE OR REPLACE FUNCTION mq__question_topics(question_id uuid) RETURNS json
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RETURN (SELECT t.j FROM mq__topics_of(question_id) AS t);
END
$$;

-- null (JSON null in the reply) for an editorial reply.
CREATE OR REPLACE FUNCTION mq__reply_doctor(doctor_id uuid) RETURNS json
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RETURN (SELECT json_build_object('id', d.id,
                                     'name', d.name,
                                     'department',
                                     (SELECT x.j
                                      FROM mq__department_of(d.department_slug) AS x))
            FROM doctors d
            WHERE d.id = mq__reply_doctor.doctor_id);
END
$$;

CREATE OR REPLACE FUNCTION mq_question_json(q questions, base text)
RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT mq__question_doc(q, base, mq_department_ref(q.department_slug),
                            mq__question_topics(q.id))
$$;

CREATE OR REPLACE FUNCTION mq_reply_json(r replies) RETURNS json
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

CREATE OR REPLACE FUNCTION mq_topic_json(t topics) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT json_build_object(
        'slug', t.slug,
        'name', t.name,
        'department', mq_department_ref(t.department_slug),
        'description', t.description,
        'question_count', t.question_count)
$$;

CREATE OR REPLACE FUNCTION mq_doctor_json(d doctors) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT json_build_object(
        'id', d.id,
        'name', d.name,
        'department', mq_department_ref(d.department_slug),
        'reply_count', d.reply_count)
$$;
