-- The ceiling of a GET /questions page deep in the list: the keyset
-- statement handle_list_questions() builds for a cursor. ts and cid are
-- the keys of the row the cursor points at (-D), base as in list.sql.
SELECT mq__question_doc(q, :base, (SELECT d.j FROM mq__department_of(q.department_slug) AS d), (SELECT t.j FROM mq__topics_of(q.id) AS t))::text, to_char(q.asked_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\x3aMI\x3aSS.US"Z"'), q.id::text FROM questions q WHERE q.deleted_at IS NULL AND (q.asked_at, q.id) < (:ts::timestamptz, :cid::uuid) ORDER BY q.asked_at DESC, q.id DESC LIMIT 21;
