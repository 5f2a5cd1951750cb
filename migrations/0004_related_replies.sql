-- Relevance, second step: the doctor's reply counts, and search speaks the
-- patients' words.
--
-- A doctor's reply names the condition in medical words the patient did not
-- use ("hemifacial spasm", "myokymia"), so the terms of a question's doctor
-- replies (weight D) take part in /related scoring. They live in their own
-- column, kept by a trigger on replies; the title/body terms stay a
-- generated column, so bulk loads do not need the trigger for those.
-- The functions, the trigger and the one synonym map live in sql/ since
-- issue 12 (related.sql, search.sql, terms.sql).

ALTER TABLE questions
    ADD COLUMN reply_terms tsvector NOT NULL DEFAULT ''::tsvector;

CREATE INDEX questions_reply_terms_idx ON questions USING gin (reply_terms)
    WHERE deleted_at IS NULL;
