-- Bulk loads with complete terms.
--
-- 1. questions.search goes. It was the first full-text column (0002):
--    English lexemes of the title at weight A and of the body at B.
--    related_terms (0003) holds exactly those lexemes at the same weights,
--    plus Chinese bigrams and canonical synonyms, and since 0007 search and
--    /related read only related_terms and reply_terms; nothing reads
--    `search`. It still cost every insert a second to_tsvector of the
--    whole text (a quarter of a million-question load) and a GIN index.
--    Dropping a column rewrites nothing.
--
-- 2. mq_reply_terms_of(text): a question's reply terms from the text of its
--    visible doctor replies, which mq_reply_terms(qid) now uses. The
--    synthetic loader (internal/seed/synthetic.c) computes reply_terms
--    through it, on a second connection, while the questions are copied,
--    instead of updating a million rows afterwards. The replies are joined
--    in reply order now, so both paths give the same positions. (Both
--    functions live in sql/terms.sql and sql/related.sql since issue 12.)

ALTER TABLE questions DROP COLUMN search;
