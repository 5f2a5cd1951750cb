-- The ceiling of GET /questions/{id}: medqa's prepared statement
-- "question_get" (internal/handlers/questions.c: QG with Q_DOC), with the
-- id drawn at random from bench_ids (the same ids the wrk script uses).
-- Keep it in step with the C source. Variables: nids, base (-D).
\set k random(1, :nids)
SELECT mq__question_doc(q, :base, (SELECT d.j FROM mq__department_of(q.department_slug) AS d), (SELECT t.j FROM mq__topics_of(q.id) AS t))::text, NULL::text, mq_ts(q.deleted_at), NULL::text FROM questions q WHERE q.id = (SELECT b.id FROM bench_ids b WHERE b.n = :k) AND q.deleted_at IS NULL;
