-- Read speed: the same representations, planned once per session instead
-- of once per request.
--
-- Measured on 100,000 questions (bench/RESULTS.md, "Optimisations tried"):
--   * mq_ts was IMMUTABLE around to_char(), which is only STABLE, so
--     PostgreSQL would not inline it and ran it as a SQL function, planning
--     its body anew in every query that used it. STABLE is what it is (its
--     result never changes, but nothing here needs more than STABLE), and
--     it now inlines to the to_char() call.
--   * mq_department_ref, mq__question_topics and mq__reply_doctor hold a
--     subquery, so they cannot inline either; as SQL functions their bodies
--     were planned again in each query that called them (a GET paid for two
--     such plans). As PL/pgSQL their plans are cached per session.
--   * The hot read statements of the C service (GET /questions/{id}, the
--     question list) do better still without any function call per row:
--     they put the department and topics in as scalar subqueries of their
--     own, prepared once per connection. mq__department_of and
--     mq__topics_of are those subqueries, written once here as set-returning
--     SQL functions that PostgreSQL inlines into the caller's FROM, and
--     mq__question_doc assembles the object, so the key order (part of the
--     contract: ETags hash the text) is written in one place.
-- Every representation is byte-for-byte what it was.

CREATE OR REPLACE FUNCTION mq_ts(ts timestamptz) RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
    SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- {"slug","name"} of a department: no row when there is no such slug.
CREATE FUNCTION mq__department_of(slug text) RETURNS TABLE (j json)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT json_build_object('slug', d.slug, 'name', d.name)
    FROM departments d
    WHERE d.slug = mq__department_of.slug
$$;

-- A question's visible topics [{"slug","name"}…] by name: always one row.
CREATE FUNCTION mq__topics_of(question_id uuid) RETURNS TABLE (j json)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(json_agg(json_build_object('slug', t.slug, 'name', t.name)
                             ORDER BY t.name, t.slug),
                    '[]'::json)
    FROM question_topics qt
    JOIN topics t ON t.id = qt.topic_id
    WHERE qt.question_id = mq__topics_of.question_id
      AND t.deleted_at IS NULL
$$;

-- The Question object from its row and its two looked-up parts. No
-- subquery, so it inlines into json_build_object(...) in the caller.
CREATE FUNCTION mq__question_doc(q questions, base text, department json,
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
        'url', base || '/questions/' || q.id)
$$;

CREATE OR REPLACE FUNCTION mq_department_ref(slug text) RETURNS json
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RETURN (SELECT d.j FROM mq__department_of(slug) AS d);
END
$$;

CREATE OR REPLACE FUNCTION mq__question_topics(question_id uuid) RETURNS json
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RETURN (SELECT t.j FROM mq__topics_of(question_id) AS t);
END
$$;

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
