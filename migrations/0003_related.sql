-- Similar Q&A ("/related"): what a question is about, as one tsvector per
-- question (the generated column related_terms) and the IDF statistics.
-- The functions (mq_terms and the ranking, mq_related) live in
-- sql/terms.sql and sql/related.sql since issue 12.
--
-- Patients describe one condition in many words ("eyelid jumping", "eye
-- spasm", "quivering lid"), so plain word overlap finds little. The terms
-- column therefore holds, per question:
--   * English stems of the title (weight A) and body (weight B);
--   * character bigrams of any Chinese text (title A, body B): zh-TW is
--     written without spaces, and bigrams are the standard way to match
--     such text without a dictionary segmenter;
--   * a canonical term (weight C) for each lay word that has one in a small
--     general medical synonym map ("jump", "flicker", "spasm" -> "twitch").
-- Everything is IMMUTABLE, so the column is generated and bulk loads
-- (COPY) fill it without triggers. The column needs mq_terms to exist, so
-- on a new database the migrator applies sql/terms.sql first:
-- requires: sql/terms.sql

ALTER TABLE questions
    ADD COLUMN related_terms tsvector
    GENERATED ALWAYS AS (mq_terms(title, body)) STORED;

CREATE INDEX questions_related_terms_idx ON questions USING gin (related_terms)
    WHERE deleted_at IS NULL;

-- Document frequency of every term, for IDF weights. Refreshed by
-- mq_refresh_df() (after bulk loads, and periodically by medqa); a term
-- newer than the last refresh counts as rare (df = 1), which is what a new
-- term is.
CREATE TABLE term_df (
    lexeme text PRIMARY KEY,
    df integer NOT NULL CHECK (df > 0)
);
CREATE TABLE term_df_total (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    docs integer NOT NULL,
    refreshed_at timestamptz NOT NULL DEFAULT now()
);
