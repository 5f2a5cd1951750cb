-- Term statistics that do not depend on when they were last refreshed
-- (issue 16). Every write of a question appends the change it makes to
-- the document frequencies (one row per term: +1 when a visible question
-- gains it, -1 when it loses it or is hidden; lexeme '' counts the visible
-- questions themselves) here, and folds what is pending into term_df /
-- term_df_total when no other writer or refresh is doing so
-- (mq__df_fold, sql/related.sql). Readers add what is still pending, so
-- /related ranks with current statistics whether or not mq_refresh_df()
-- has run. Appending rather than updating term_df in place keeps
-- concurrent writers from queueing on the rows of common terms.
CREATE TABLE term_df_pending (
    lexeme text NOT NULL,
    delta integer NOT NULL
);
CREATE INDEX term_df_pending_lexeme ON term_df_pending (lexeme);
