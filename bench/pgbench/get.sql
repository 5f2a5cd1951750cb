-- The ceiling of GET /questions/{id} (and ?include=replies): medqa's
-- prepared statement "question_get" (internal/handlers/questions.c), with
-- the id drawn at random from bench_ids (the same ids the wrk script
-- uses). Keep it in step with the C source. Variables: nids, base,
-- replies, editor, related (-D).
\set k random(1, :nids)
SELECT mq_question_json(q, :base)::text, CASE WHEN :replies::boolean THEN (SELECT coalesce(json_agg(mq_reply_json(r) ORDER BY r.replied_at, r.id), '[]'::json) FROM replies r   WHERE r.question_id = q.id AND r.deleted_at IS NULL)::text END, mq_ts(q.deleted_at), CASE WHEN :related::boolean AND q.deleted_at IS NULL THEN   mq_related(q.id, NULL, NULL, 4, :base)::text END FROM questions q WHERE q.id = (SELECT b.id FROM bench_ids b WHERE b.n = :k) AND (q.deleted_at IS NULL OR :editor::boolean);
