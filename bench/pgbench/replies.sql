-- The ceiling of GET /questions/{id}?include=replies: medqa's prepared
-- statement "question_get_p" (internal/handlers/questions.c), ids as in
-- get.sql. Variables: nids, base (-D).
\set k random(1, :nids)
SELECT mq__question_doc(q, :base, (SELECT d.j FROM mq__department_of(q.department_slug) AS d), (SELECT t.j FROM mq__topics_of(q.id) AS t))::text, (SELECT coalesce(json_agg(mq_reply_json(r) ORDER BY r.replied_at, r.id), '[]'::json) FROM replies r WHERE r.question_id = q.id AND r.deleted_at IS NULL)::text, mq_ts(q.deleted_at), NULL::text FROM questions q WHERE q.id = (SELECT b.id FROM bench_ids b WHERE b.n = :k) AND q.deleted_at IS NULL;
