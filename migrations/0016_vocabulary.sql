-- issue 16: the lay <-> medical vocabulary (data/vocabulary, generated
-- into sql/vocabulary.sql) replaces the small synonym map, so every
-- question's stored terms are recomputed with it: related_terms (a
-- generated column over mq_terms, recomputed by any update of the row's
-- title) and reply_terms, then the document frequencies.
-- requires: sql/vocabulary.sql
-- requires: sql/terms.sql
-- requires: sql/related.sql
UPDATE questions SET title = title;
UPDATE questions SET reply_terms = mq_reply_terms(id) WHERE reply_terms <> ''::tsvector;
SELECT mq_refresh_df();
DROP FUNCTION IF EXISTS mq_part_weight(text[]);
