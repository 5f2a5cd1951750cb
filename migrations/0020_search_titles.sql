-- Search (GET /questions?q=&sort=relevance) ranks a bounded set of
-- candidates, and takes first the questions whose title matches the whole
-- query (internal/handlers/questions.c, Q_SEARCH_HEAD): this index finds
-- them. It holds the title's terms as related_terms holds them (mq_terms,
-- vocabulary concepts included), so a query matches a title here exactly
-- when it matches the title's part of related_terms.
-- An index over a function is not rebuilt when the function changes: the
-- versioned migration that recomputes related_terms after a change of
-- mq_terms or of the vocabulary (as 0016 did) must also
-- REINDEX INDEX questions_title_terms.
-- requires: sql/terms.sql
CREATE INDEX questions_title_terms ON questions
    USING gin (mq_terms(title, NULL)) WHERE deleted_at IS NULL;
