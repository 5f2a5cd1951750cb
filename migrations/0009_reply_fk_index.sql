-- replies_question_idx covers every reply again, not only visible ones.
--
-- Deleting a question row (an operator erasing a patient's data; the
-- benchmark removing its own writes between rounds) cascades to its replies
-- through the foreign key, and PostgreSQL's cascade runs
-- "DELETE FROM replies WHERE question_id = $1", which a partial index
-- (WHERE deleted_at IS NULL) cannot serve: every deleted question scanned
-- the whole replies table. Measured in `make bench` at 100,000 questions:
-- removing one round's ~4,000 benchmark questions took 270 s; at a million
-- it would take hours. The lists still say "deleted_at IS NULL" and read
-- this index the same way (hidden replies are few).
DROP INDEX replies_question_idx;
CREATE INDEX replies_question_idx ON replies (question_id, replied_at, id);
