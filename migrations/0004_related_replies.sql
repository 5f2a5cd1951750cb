-- Relevance, second step: the doctor's reply counts, and search speaks the
-- patients' words.
--
-- A doctor's reply names the condition in medical words the patient did not
-- use ("hemifacial spasm", "myokymia"), so the terms of a question's doctor
-- replies (weight D) take part in /related scoring. They live in their own
-- column, kept by a trigger on replies; the title/body terms stay a
-- generated column, so bulk loads do not need the trigger for those.

-- The lay-word -> canonical-term map used by mq_canon, as a relation so
-- search can use it too. IMMUTABLE: the map is constant.
CREATE FUNCTION mq_synonyms() RETURNS TABLE (word text, canon text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT * FROM (VALUES ('abdomen','stomach'),('abdomin','stomach'),('ach','pain'),('acid','reflux'),('anxious','anxieti'),('arrhythmia','palpit'),('awak','insomnia'),('babi','child'),('bald','alopecia'),('belch','reflux'),('belli','stomach'),('bladder','urin'),('blemish','acn'),('block','congest'),('blotch','rash'),('blur','blurri'),('breakout','acn'),('bump','rash'),('burp','reflux'),('buzz','tinnitus'),('cephalalgia','headach'),('children','child'),('cloudi','blurri'),('cobweb','floater'),('daughter','child'),('dermat','eczema'),('diarrhoea','diarrhea'),('drain','tire'),('dyspepsia','reflux'),('dyspnea','breathless'),('edema','swell'),('erupt','rash'),('exhaust','tire'),('eyesight','vision'),('faint','dizzi'),('fascicul','twitch'),('fatigu','tire'),('febril','fever'),('feverish','fever'),('flicker','twitch'),('flutter','twitch'),('fuzzi','blurri'),('gerd','reflux'),('giddi','dizzi'),('gloomi','depress'),('glucos','diabet'),('gut','stomach'),('hazi','blurri'),('hba1c','diabet'),('heartburn','reflux'),('hive','rash'),('hopeless','depress'),('hum','tinnitus'),('hurt','pain'),('indigest','reflux'),('infant','child'),('irregular','palpit'),('itchi','itch'),('jerk','twitch'),('jump','twitch'),('kid','child'),('kneecap','knee'),('lid','eyelid'),('lighthead','dizzi'),('lightheaded','dizzi'),('loos','diarrhea'),('lumbar','back'),('mens','menstruat'),('menstrual','menstruat'),('micturit','urin'),('migrain','headach'),('nasal','nose'),('nauseous','nausea'),('nervous','anxieti'),('nostril','nose'),('oedema','swell'),('panic','anxieti'),('panicki','anxieti'),('paresthesia','numb'),('patella','knee'),('pee','urin'),('period','menstruat'),('pimpl','acn'),('pound','palpit'),('pressur','hypertens'),('pruritus','itch'),('puffi','swell'),('pyrexia','fever'),('queasi','nausea'),('quiver','twitch'),('race','palpit'),('regurgit','reflux'),('ring','tinnitus'),('run','diarrhea'),('scratch','itch'),('see','vision'),('shake','tremor'),('shaki','tremor'),('shed','alopecia'),('shiver','tremor'),('sick','nausea'),('sight','vision'),('sinus','nose'),('skip','palpit'),('sleepless','insomnia'),('son','child'),('sore','pain'),('spasm','twitch'),('speck','floater'),('spin','dizzi'),('spinal','back'),('spine','back'),('stuf','congest'),('stuffi','congest'),('sugar','diabet'),('swollen','swell'),('temperatur','fever'),('thin','alopecia'),('throw','nausea'),('thump','palpit'),('tic','twitch'),('tingl','numb'),('toddler','child'),('trembl','tremor'),('tummi','stomach'),('twitchi','twitch'),('urticaria','rash'),('vertigo','dizzi'),('vomit','nausea'),('wake','insomnia'),('wateri','diarrhea'),('weari','tire'),('welt','rash'),('wheez','breathless'),('whistl','tinnitus'),('wind','breathless'),('woozi','dizzi'),('worri','anxieti'),('zit','acn')) AS m(word, canon)
$$;

CREATE OR REPLACE FUNCTION mq_canon(v tsvector) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT setweight(coalesce(to_tsvector('simple', string_agg(m.canon, ' ')),
                              ''::tsvector), 'C')
    FROM unnest(v) AS u
    JOIN mq_synonyms() AS m ON m.word = u.lexeme
$$;

ALTER TABLE questions
    ADD COLUMN reply_terms tsvector NOT NULL DEFAULT ''::tsvector;

-- The terms of a question's visible doctor replies, all at weight D.
CREATE FUNCTION mq_reply_terms(qid uuid) RETURNS tsvector
LANGUAGE sql STABLE AS $$
    SELECT coalesce(setweight(b || mq_canon(b), 'D'), ''::tsvector)
    FROM (SELECT to_tsvector('english', string_agg(r.body, ' '))
                 || to_tsvector('simple', mq_cjk_bigrams(string_agg(r.body, ' '))) AS b
          FROM replies r
          WHERE r.question_id = qid AND r.kind = 'doctor'
            AND r.deleted_at IS NULL) AS x
$$;

CREATE FUNCTION mq__replies_terms() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE questions q SET reply_terms = mq_reply_terms(q.id)
    WHERE q.id = CASE WHEN TG_OP = 'DELETE' THEN OLD.question_id
                      ELSE NEW.question_id END;
    RETURN NULL;
END
$$;

CREATE TRIGGER replies_terms
    AFTER INSERT OR DELETE OR UPDATE OF body, deleted_at, kind ON replies
    FOR EACH ROW EXECUTE FUNCTION mq__replies_terms();

-- For bulk loads that ran with triggers off.
CREATE FUNCTION mq_refresh_reply_terms() RETURNS void
LANGUAGE sql AS $$
    UPDATE questions q SET reply_terms = mq_reply_terms(q.id)
    WHERE EXISTS (SELECT 1 FROM replies r WHERE r.question_id = q.id
                  AND r.kind = 'doctor');
$$;

CREATE INDEX questions_reply_terms_idx ON questions USING gin (reply_terms)
    WHERE deleted_at IS NULL;

CREATE OR REPLACE FUNCTION mq_refresh_df() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7271, 2);
    DELETE FROM term_df;
    INSERT INTO term_df (lexeme, df)
    SELECT word, ndoc FROM ts_stat(
        'SELECT related_terms || reply_terms FROM questions WHERE deleted_at IS NULL');
    INSERT INTO term_df_total (docs)
    SELECT count(*) FROM questions WHERE deleted_at IS NULL
    ON CONFLICT (one) DO UPDATE SET docs = EXCLUDED.docs, refreshed_at = now();
END
$$;

-- The query for GET /questions?q=: every English word of q must match,
-- either as itself or as its canonical term ("eyelid jumping" finds "lid
-- twitch"), and Chinese text matches by any of its bigrams (ranking then
-- prefers questions holding more of them). NULL when q has no terms.
CREATE FUNCTION mq_search_query(q text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT CASE WHEN e IS NULL THEN c WHEN c IS NULL THEN e ELSE e && c END
    FROM (SELECT
            (SELECT string_agg('(' || quote_literal(l.lexeme)
                               || coalesce(' | ' || quote_literal(m.canon), '')
                               || ')', ' & ')
             FROM unnest(to_tsvector('english',
                     regexp_replace(q, '[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+', ' ', 'g'))) AS l
             LEFT JOIN mq_synonyms() AS m ON m.word = l.lexeme)::tsquery AS e,
            (SELECT string_agg(quote_literal(b), ' | ')
             FROM regexp_split_to_table(nullif(mq_cjk_bigrams(q), ''), ' ') AS b)::tsquery AS c
         ) AS x
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
-- (terms: title/body terms plus doctor-reply terms, see above)
-- Candidates: questions sharing one of s's 12 rarest terms (a GIN index
-- look-up on short posting lists), plus the newest 200 sharing a topic.
-- Ties go to answered questions, then to newer ones.
CREATE OR REPLACE FUNCTION mq_related(qid uuid, txt text, dept text, lim integer,
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
        SELECT x.related_terms || x.reply_terms, x.department_slug,
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
         WHERE q IS NOT NULL AND c.deleted_at IS NULL
           AND (c.related_terms @@ q OR c.reply_terms @@ q)
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
                         FROM mq_weighted_terms(c.related_terms || c.reply_terms) t
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
                            WHERE s.lexeme = ANY (tsvector_to_array(r.related_terms || r.reply_terms))
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
