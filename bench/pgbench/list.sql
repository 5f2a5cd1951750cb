-- The ceiling of the first page of GET /questions (sort=newest, limit=20):
-- the statement handle_list_questions() builds (internal/handlers/
-- questions.c), which asks for limit + 1 rows (a constant, qb_limit()).
-- Variable: base (-D). pgbench would take the colons of the to_char
-- pattern for variables, so they are written \x3a in an E'' literal: the
-- same constant.
SELECT mq__question_doc(q, :base, (SELECT d.j FROM mq__department_of(q.department_slug) AS d), (SELECT t.j FROM mq__topics_of(q.id) AS t))::text, to_char(q.asked_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\x3aMI\x3aSS.US"Z"'), q.id::text FROM questions q WHERE q.deleted_at IS NULL ORDER BY q.asked_at DESC, q.id DESC LIMIT 21;
