-- Content a partner can publish (issue 14): the medical review a doctor's
-- reply stands for. The columns are migrations/0013_content.sql's.
--
-- A visible doctor's reply written to a question is that doctor reviewing
-- it medically, then: the question's reviewed_by and last_reviewed become
-- the reply's doctor and time, unless a later review is already recorded
-- (an editor's, or a reply loaded with an older date). An editorial reply
-- reviews nothing. Like the reply counters (counters.sql) it updates the
-- question row after the reply's insert, in the writer's transaction and
-- lock order (reply, then question).
CREATE OR REPLACE FUNCTION mq__review_on_reply() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE questions q
    SET reviewed_by = NEW.doctor_id, last_reviewed = NEW.replied_at
    WHERE q.id = NEW.question_id
      AND (q.last_reviewed IS NULL OR q.last_reviewed <= NEW.replied_at);
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER replies_review
    AFTER INSERT ON replies
    FOR EACH ROW
    WHEN (NEW.kind = 'doctor' AND NEW.deleted_at IS NULL)
    EXECUTE FUNCTION mq__review_on_reply();
