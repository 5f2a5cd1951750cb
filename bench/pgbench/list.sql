-- The ceiling of the first page of GET /questions (sort=newest, limit=20):
-- the statement handle_list_questions() builds (internal/handlers/
-- questions.c; typed columns, limit + 1 rows), then "question_topics_of"
-- for the page's ids, which pgbench takes from a copy of the page's
-- query (medqa sends the ids it got). Variable: base (-D), unused now
-- that url is built in C. pgbench would take the colons of the to_char
-- pattern for variables, so they are written \x3a in an E'' literal: the
-- same constant.
SELECT q.id, to_char(q.asked_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\x3aMI\x3aSS.US"Z"'), q.id::text, q.id, q.title, q.body, q.language, q.asker_name, q.asker_age_band, q.asker_gender, d.slug, d.name, q.state, q.reply_count, mq_ts(q.asked_at), mq_ts(q.updated_at), q.headline, rd.id, rd.name, rdd.slug, rdd.name, mq_ts(q.last_reviewed) FROM questions q LEFT JOIN departments d ON d.slug = q.department_slug LEFT JOIN doctors rd ON rd.id = q.reviewed_by LEFT JOIN departments rdd ON rdd.slug = rd.department_slug WHERE q.deleted_at IS NULL ORDER BY q.asked_at DESC, q.id DESC LIMIT 21;
SELECT qt.question_id, t.slug, t.name FROM question_topics qt JOIN topics t ON t.id = qt.topic_id WHERE qt.question_id = ANY (ARRAY(SELECT q.id FROM questions q WHERE q.deleted_at IS NULL ORDER BY q.asked_at DESC, q.id DESC LIMIT 20)) AND t.deleted_at IS NULL ORDER BY qt.question_id, t.name, t.slug;
