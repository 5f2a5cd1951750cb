-- The ceiling of GET /questions/{id}: medqa's prepared statement
-- "question_get" (internal/handlers/questions.c: QG with REP_Q_COLS from
-- internal/handlers/represent.h: typed columns, the topics joined), with
-- the id drawn at random from bench_ids (the same ids the wrk script
-- uses). Keep it in step with the C source. Variables: nids, base (-D).
\set k random(1, :nids)
SELECT q.id, q.title, q.body, q.language, q.asker_name, q.asker_age_band, q.asker_gender, d.slug, d.name, q.state, q.reply_count, mq_ts(q.asked_at), mq_ts(q.updated_at), q.headline, rd.id, rd.name, rdd.slug, rdd.name, mq_ts(q.last_reviewed), t.slug, t.name, mq_ts(q.deleted_at), q.rel FROM (SELECT q.*, nullif(:base::text, :base::text) AS rel FROM questions q WHERE q.id = (SELECT b.id FROM bench_ids b WHERE b.n = :k) AND q.deleted_at IS NULL OFFSET 0) q LEFT JOIN departments d ON d.slug = q.department_slug LEFT JOIN doctors rd ON rd.id = q.reviewed_by LEFT JOIN departments rdd ON rdd.slug = rd.department_slug LEFT JOIN LATERAL (SELECT t.slug, t.name FROM question_topics qt JOIN topics t ON t.id = qt.topic_id WHERE qt.question_id = q.id AND t.deleted_at IS NULL) t ON true ORDER BY t.name, t.slug;
