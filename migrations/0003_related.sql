-- Similar Q&A ("/related"): what a question is about, as one tsvector per
-- question, and the ranking function.
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
-- (COPY) fill it without triggers.

-- Overlapping bigrams of every run of CJK ideographs, space separated.
CREATE FUNCTION mq_cjk_bigrams(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT coalesce(string_agg(
        CASE WHEN length(run) = 1 THEN run
             ELSE (SELECT string_agg(substr(run, i, 2), ' ')
                   FROM generate_series(1, length(run) - 1) AS i)
        END, ' '), '')
    FROM (SELECT m[1] AS run
          FROM regexp_matches(t, '([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)', 'g') AS m) AS runs
$$;

-- A query matching text whose Chinese parts contain every bigram of the
-- Chinese parts of q; NULL when q has no Chinese. Lets GET /questions?q=
-- find zh-TW questions, which English stemming cannot split into words.
CREATE FUNCTION mq_cjk_query(q text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT string_agg(quote_literal(b), ' & ')::tsquery
    FROM regexp_split_to_table(nullif(mq_cjk_bigrams(q), ''), ' ') AS b
$$;

-- The canonical stems of the lay words in v (as a tsvector of weight C).
-- The map is written out as constants so the function stays IMMUTABLE.
CREATE FUNCTION mq_canon(v tsvector) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT setweight(coalesce(to_tsvector('simple', string_agg(m.canon, ' ')),
                              ''::tsvector), 'C')
    FROM unnest(v) AS u
    JOIN (VALUES ('abdomen','stomach'),('abdomin','stomach'),('ach','pain'),('acid','reflux'),('anxious','anxieti'),('arrhythmia','palpit'),('awak','insomnia'),('babi','child'),('bald','alopecia'),('belch','reflux'),('belli','stomach'),('bladder','urin'),('blemish','acn'),('block','congest'),('blotch','rash'),('blur','blurri'),('breakout','acn'),('bump','rash'),('burp','reflux'),('buzz','tinnitus'),('cephalalgia','headach'),('children','child'),('cloudi','blurri'),('cobweb','floater'),('daughter','child'),('dermat','eczema'),('diarrhoea','diarrhea'),('drain','tire'),('dyspepsia','reflux'),('dyspnea','breathless'),('edema','swell'),('erupt','rash'),('exhaust','tire'),('eyesight','vision'),('faint','dizzi'),('fascicul','twitch'),('fatigu','tire'),('febril','fever'),('feverish','fever'),('flicker','twitch'),('flutter','twitch'),('fuzzi','blurri'),('gerd','reflux'),('giddi','dizzi'),('gloomi','depress'),('glucos','diabet'),('gut','stomach'),('hazi','blurri'),('hba1c','diabet'),('heartburn','reflux'),('hive','rash'),('hopeless','depress'),('hum','tinnitus'),('hurt','pain'),('indigest','reflux'),('infant','child'),('irregular','palpit'),('itchi','itch'),('jerk','twitch'),('jump','twitch'),('kid','child'),('kneecap','knee'),('lid','eyelid'),('lighthead','dizzi'),('lightheaded','dizzi'),('loos','diarrhea'),('lumbar','back'),('mens','menstruat'),('menstrual','menstruat'),('micturit','urin'),('migrain','headach'),('nasal','nose'),('nauseous','nausea'),('nervous','anxieti'),('nostril','nose'),('oedema','swell'),('panic','anxieti'),('panicki','anxieti'),('paresthesia','numb'),('patella','knee'),('pee','urin'),('period','menstruat'),('pimpl','acn'),('pound','palpit'),('pressur','hypertens'),('pruritus','itch'),('puffi','swell'),('pyrexia','fever'),('queasi','nausea'),('quiver','twitch'),('race','palpit'),('regurgit','reflux'),('ring','tinnitus'),('run','diarrhea'),('scratch','itch'),('see','vision'),('shake','tremor'),('shaki','tremor'),('shed','alopecia'),('shiver','tremor'),('sick','nausea'),('sight','vision'),('sinus','nose'),('skip','palpit'),('sleepless','insomnia'),('son','child'),('sore','pain'),('spasm','twitch'),('speck','floater'),('spin','dizzi'),('spinal','back'),('spine','back'),('stuf','congest'),('stuffi','congest'),('sugar','diabet'),('swollen','swell'),('temperatur','fever'),('thin','alopecia'),('throw','nausea'),('thump','palpit'),('tic','twitch'),('tingl','numb'),('toddler','child'),('trembl','tremor'),('tummi','stomach'),('twitchi','twitch'),('urticaria','rash'),('vertigo','dizzi'),('vomit','nausea'),('wake','insomnia'),('wateri','diarrhea'),('weari','tire'),('welt','rash'),('wheez','breathless'),('whistl','tinnitus'),('wind','breathless'),('woozi','dizzi'),('worri','anxieti'),('zit','acn')) AS m(word, canon) ON m.word = u.lexeme
$$;

CREATE FUNCTION mq_terms(title text, body text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT base || mq_canon(base)
    FROM (SELECT setweight(to_tsvector('english', coalesce(title, '')), 'A')
              || setweight(to_tsvector('english', coalesce(body, '')), 'B')
              || setweight(to_tsvector('simple', mq_cjk_bigrams(coalesce(title, ''))), 'A')
              || setweight(to_tsvector('simple', mq_cjk_bigrams(coalesce(body, ''))), 'B')
              AS base) AS b
$$;

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

CREATE FUNCTION mq_refresh_df() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- One refresh at a time; readers keep seeing the old table until commit.
    PERFORM pg_advisory_xact_lock(7271, 2);
    DELETE FROM term_df;
    INSERT INTO term_df (lexeme, df)
    SELECT word, ndoc FROM ts_stat(
        'SELECT related_terms FROM questions WHERE deleted_at IS NULL');
    INSERT INTO term_df_total (docs)
    SELECT count(*) FROM questions WHERE deleted_at IS NULL
    ON CONFLICT (one) DO UPDATE SET docs = EXCLUDED.docs, refreshed_at = now();
END
$$;

-- The terms of v with their IDF weight ln(1 + N / df) times the weight of
-- the part they came from (title 1.0, body 0.6, canonical synonym 0.5).
CREATE FUNCTION mq_weighted_terms(v tsvector)
RETURNS TABLE (lexeme text, w float8)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT u.lexeme,
           ln(1 + greatest(coalesce((SELECT docs FROM term_df_total), 1), 1)::float8
                  / coalesce(d.df, 1))
           * (SELECT max(CASE x WHEN 'A' THEN 1.0 WHEN 'B' THEN 0.6
                                WHEN 'C' THEN 0.5 ELSE 0.3 END)
              FROM unnest(u.weights) AS x)
    FROM unnest(v) AS u
    LEFT JOIN term_df d ON d.lexeme = u.lexeme
$$;

-- A short excerpt: the first ~180 characters, cut at a space.
CREATE FUNCTION mq_excerpt(t text, n integer DEFAULT 180) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT CASE WHEN length(t) <= n THEN t
                ELSE coalesce(nullif(regexp_replace(left(t, n), '\s+\S*$', ''), ''),
                              left(t, n)) || '…'
           END
$$;

-- The related questions and topics of a question (qid) or of a draft
-- (txt, optionally within dept). Never the question itself, never hidden
-- content.
--
-- Ranking, for each candidate c against the source s:
--   score = 0.60 * text + 0.25 * same_department + 0.15 * shared_topics
--   text            = cosine of s and c over their terms, each term weighted
--                     by IDF and by where it stands (mq_weighted_terms), so
--                     rare medical words count and "two weeks" does not
--   same_department = 1 when c is in s's department (a draft's given
--                     department, if any), else 0
--   shared_topics   = |topics(s) ∩ topics(c)| / |topics(s)| (0 without
--                     topics)
-- Candidates: questions sharing one of s's 12 rarest terms (a GIN index
-- look-up on short posting lists), plus the newest 200 sharing a topic.
-- Ties go to answered questions, then to newer ones.
CREATE FUNCTION mq_related(qid uuid, txt text, dept text, lim integer,
                           base text) RETURNS json
LANGUAGE plpgsql STABLE AS $$
DECLARE
    s_terms tsvector;
    s_dept text := dept;
    s_topics uuid[] := '{}';
    s_norm float8;
    s_lex text[];
    s_w float8[];
    q tsquery;
    result json;
BEGIN
    IF qid IS NOT NULL THEN
        SELECT x.related_terms, x.department_slug,
               ARRAY(SELECT qt.topic_id FROM question_topics qt
                     JOIN topics t ON t.id = qt.topic_id AND t.deleted_at IS NULL
                     WHERE qt.question_id = x.id)
        INTO s_terms, s_dept, s_topics
        FROM questions x WHERE x.id = qid AND x.deleted_at IS NULL;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'MQ404',
                MESSAGE = 'No question with that id.';
        END IF;
    ELSE
        s_terms := mq_terms(txt, NULL);
    END IF;

    -- The source's weighted terms, heaviest first, kept as two arrays.
    SELECT array_agg(t.lexeme ORDER BY t.w DESC, t.lexeme),
           array_agg(t.w ORDER BY t.w DESC, t.lexeme),
           sqrt(sum(t.w * t.w))
    INTO s_lex, s_w, s_norm
    FROM mq_weighted_terms(s_terms) t;
    SELECT string_agg(quote_literal(l), ' | ')::tsquery INTO q
    FROM unnest(s_lex[1:12]) AS l;

    WITH cand AS (
        (SELECT c.id FROM questions c
         WHERE q IS NOT NULL AND c.deleted_at IS NULL AND c.related_terms @@ q
           AND c.id IS DISTINCT FROM qid
         LIMIT 2000)
        UNION
        (SELECT qt.question_id FROM question_topics qt
         JOIN questions c ON c.id = qt.question_id AND c.deleted_at IS NULL
         WHERE qt.topic_id = ANY (s_topics) AND qt.question_id IS DISTINCT FROM qid
         ORDER BY c.asked_at DESC LIMIT 200)
    ), scored AS (
        SELECT c.*,
               coalesce((SELECT sum(s.w * t.w) / nullif(s_norm * sqrt(sum(t.w * t.w)), 0)
                         FROM mq_weighted_terms(c.related_terms) t
                         LEFT JOIN unnest(s_lex, s_w) AS s(lexeme, w) ON s.lexeme = t.lexeme), 0) AS text_score,
               coalesce((c.department_slug = s_dept)::int, 0) AS same_dept,
               CASE WHEN cardinality(s_topics) = 0 THEN 0::float8
                    ELSE (SELECT count(*) FROM question_topics qt
                          WHERE qt.question_id = c.id AND qt.topic_id = ANY (s_topics))::float8
                         / cardinality(s_topics) END AS topic_share
        FROM questions c JOIN cand ON cand.id = c.id
    ), ranked AS (
        SELECT s.*, round((0.60 * s.text_score + 0.25 * s.same_dept
                           + 0.15 * s.topic_share)::numeric, 4) AS score
        FROM scored s
        ORDER BY score DESC, (s.state = 'answered') DESC, s.asked_at DESC, s.id
        LIMIT lim
    )
    SELECT json_build_object(
        'question_id', qid,
        'questions', coalesce((
            SELECT json_agg(json_build_object(
                'id', r.id, 'title', r.title, 'excerpt', mq_excerpt(r.body),
                'department', mq_department_ref(r.department_slug),
                'reply', (SELECT json_build_object(
                              'doctor', json_build_object('id', d.id, 'name', d.name),
                              'excerpt', mq_excerpt(rp.body))
                          FROM replies rp JOIN doctors d ON d.id = rp.doctor_id
                          WHERE rp.question_id = r.id AND rp.kind = 'doctor'
                            AND rp.deleted_at IS NULL
                          ORDER BY rp.replied_at, rp.id LIMIT 1),
                'score', r.score,
                'reasons', json_build_object(
                    'same_department', r.same_dept = 1,
                    'shared_topics', coalesce((
                        SELECT json_agg(t.slug ORDER BY t.slug)
                        FROM question_topics qt JOIN topics t ON t.id = qt.topic_id
                        WHERE qt.question_id = r.id AND qt.topic_id = ANY (s_topics)
                          AND t.deleted_at IS NULL), '[]'::json),
                    'matched_terms', coalesce((
                        SELECT json_agg(m.lexeme ORDER BY m.w DESC, m.lexeme) FROM (
                            SELECT s.lexeme, s.w FROM unnest(s_lex, s_w) AS s(lexeme, w)
                            WHERE s.lexeme = ANY (tsvector_to_array(r.related_terms))
                            ORDER BY s.w DESC, s.lexeme LIMIT 8) AS m), '[]'::json)))
                ORDER BY r.score DESC, (r.state = 'answered') DESC, r.asked_at DESC, r.id)
            FROM ranked r), '[]'::json),
        'topics', coalesce((
            SELECT json_agg(json_build_object('slug', t.slug, 'name', t.name,
                                              'department', mq_department_ref(t.department_slug))
                            ORDER BY tt.own DESC, tt.n DESC, t.name)
            FROM (SELECT qt.topic_id, bool_or(qt.topic_id = ANY (s_topics)) AS own,
                         count(*) AS n
                  FROM question_topics qt
                  WHERE qt.question_id IN (SELECT id FROM ranked)
                     OR qt.topic_id = ANY (s_topics)
                  GROUP BY qt.topic_id
                  ORDER BY own DESC, n DESC LIMIT 10) AS tt
            JOIN topics t ON t.id = tt.topic_id AND t.deleted_at IS NULL), '[]'::json))
    INTO result;
    RETURN result;
END
$$;
