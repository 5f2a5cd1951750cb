-- Functions no caller uses any more, dropped when the functions moved to
-- sql/ (issue 12). Nothing in SQL or C calls them:
--   mq_weighted_terms   the per-term IDF weights of mq_related before
--                       0007, which computes them in its own query;
--   mq_cjk_query        a Chinese-only search query; mq_search_query
--                       builds its own;
--   mq_department_json  a Department object no endpoint returns;
--   mq_refresh_reply_terms  a bulk refresh replaced by the synthetic
--                       loader computing reply_terms through
--                       mq_reply_terms_of (0008);
--   mq_synonyms         the second live copy of the synonym map (the one
--                       mq_search_query read); both callers now read the
--                       one map, mq_synonym_map() in sql/terms.sql, which
--                       held the same 139 pairs.
-- And one renamed: mq_related_candidates, the candidate query of
-- mq_related, is mq__related_candidates in sql/related.sql (mq__ marks the
-- helpers the C code does not call).
-- IF EXISTS: a database created after this change never had them.
DROP FUNCTION IF EXISTS mq_weighted_terms(tsvector);
DROP FUNCTION IF EXISTS mq_cjk_query(text);
DROP FUNCTION IF EXISTS mq_department_json(departments);
DROP FUNCTION IF EXISTS mq_refresh_reply_terms();
DROP FUNCTION IF EXISTS mq_synonyms();
DROP FUNCTION IF EXISTS mq_related_candidates(tsquery, uuid, integer);
