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
--    in reply order now, so both paths give the same positions.

ALTER TABLE questions DROP COLUMN search;

-- PL/pgSQL, like mq_terms (0005): a SQL function with a FROM clause is
-- not inlined, and its per-call executor start cost more than the terms.
-- Bigrams only when there is Chinese, as in mq_terms; without any, the
-- 'simple' vector of an empty string added nothing anyway.
CREATE FUNCTION mq_reply_terms_of(body text) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    b tsvector;
BEGIN
    IF body IS NULL THEN
        RETURN ''::tsvector;
    END IF;
    b := to_tsvector('english', body);
    IF body ~ '[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]' THEN
        b := b || to_tsvector('simple', mq_cjk_bigrams(body));
    END IF;
    RETURN setweight(b || mq_canon(b), 'D');
END
$$;

CREATE OR REPLACE FUNCTION mq_reply_terms(qid uuid) RETURNS tsvector
LANGUAGE sql STABLE AS $$
    SELECT mq_reply_terms_of(string_agg(r.body, ' ' ORDER BY r.replied_at, r.id))
    FROM replies r
    WHERE r.question_id = qid AND r.kind = 'doctor' AND r.deleted_at IS NULL
$$;
