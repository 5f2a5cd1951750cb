-- Content a partner can publish (issue 14): the columns only; the
-- representation that shows them is in sql/representations.sql.
--   headline       an SEO title an editor sets, distinct from the patient's
--                  own title ("Facial Muscle Twitches: Causes and Concerns"
--                  above "Lip twitching"); NULL until set.
--   reviewed_by,   the doctor who last looked at the question medically,
--   last_reviewed  and when: set by an editor, or when a doctor's reply is
--                  written. Both NULL when no doctor has looked at it, both
--                  set otherwise.
ALTER TABLE questions
    ADD COLUMN headline text NULL
        CHECK (headline IS NULL OR length(headline) BETWEEN 1 AND 200),
    ADD COLUMN reviewed_by uuid NULL REFERENCES doctors (id),
    ADD COLUMN last_reviewed timestamptz NULL,
    ADD CONSTRAINT questions_review_whole
        CHECK ((reviewed_by IS NULL) = (last_reviewed IS NULL));

-- Questions a doctor already replied to were reviewed by that doctor when
-- the (first visible) reply was written.
UPDATE questions q
SET reviewed_by = r.doctor_id, last_reviewed = r.replied_at
FROM (SELECT DISTINCT ON (question_id) question_id, doctor_id, replied_at
      FROM replies
      WHERE kind = 'doctor' AND deleted_at IS NULL
      ORDER BY question_id, replied_at DESC, id DESC) r
WHERE r.question_id = q.id;
