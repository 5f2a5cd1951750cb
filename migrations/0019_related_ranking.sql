-- issue 16: a stored Similar Q&A result (migrations/0018_related_store.sql)
-- records the ranking that computed it: the checksums of the SQL files
-- the ranking is made of (mq__related_ranking, sql/related_store.sql).
-- A result computed by another ranking (a changed sql/related.sql,
-- sql/terms.sql or sql/vocabulary.sql) is never served; the worker's
-- backfill walk requeues it. Rows stored before this migration carry ''
-- and so are redone.
ALTER TABLE related_store ADD COLUMN ranking text NOT NULL DEFAULT '';
