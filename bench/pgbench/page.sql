-- The ceiling of GET /questions/{id}?include=replies,related: medqa's
-- prepared statement "question_get_pl" (internal/handlers/questions.c),
-- with the id drawn from the page sample (bench_ids n <= pids, whose
-- stored Similar Q&A scripts/bench.sh warmed). Variables: pids, base (-D).
\set k random(1, :pids)
SELECT mq__question_doc(q, :base, (SELECT d.j FROM mq__department_of(q.department_slug) AS d), (SELECT t.j FROM mq__topics_of(q.id) AS t))::text, (SELECT coalesce(json_agg(mq_reply_json(r) ORDER BY r.replied_at, r.id), '[]'::json) FROM replies r WHERE r.question_id = q.id AND r.deleted_at IS NULL)::text, mq_ts(q.deleted_at), CASE WHEN q.deleted_at IS NULL THEN mq_related_stored(q.id, 4, :base)::text END FROM questions q WHERE q.id = (SELECT b.id FROM bench_ids b WHERE b.n = :k) AND q.deleted_at IS NULL;
