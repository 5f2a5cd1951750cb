-- Terms: what a text is about, as a tsvector, for /related and search.
--
-- Everything here is IMMUTABLE and reads no table, because the generated
-- column questions.related_terms is computed from mq_terms. So this file
-- is also applied before migrations/0003_related.sql on a new database
-- (that migration's "-- requires: sql/terms.sql" line): the column cannot
-- be created before its function. Changing what these functions return
-- changes stored data: recompute related_terms (UPDATE questions SET
-- title = title) and reply_terms in a versioned migration of the same
-- change, or stored and computed terms disagree.

-- Overlapping bigrams of every run of CJK ideographs, space separated.
CREATE OR REPLACE FUNCTION mq_cjk_bigrams(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT coalesce(string_agg(
        CASE WHEN length(run) = 1 THEN run
             ELSE (SELECT string_agg(substr(run, i, 2), ' ')
                   FROM generate_series(1, length(run) - 1) AS i)
        END, ' '), '')
    FROM (SELECT m[1] AS run
          FROM regexp_matches(t, '([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)', 'g') AS m) AS runs
$$;

-- The synonym map, the one copy: a lay word's English stem -> the stem of
-- its canonical term ("jump", "flicker", "spasm" -> "twitch"). mq_canon
-- adds the canonical terms to every question's terms; mq_search_query
-- (search.sql) lets a search word match its canonical term. A general
-- medical map, kept small: adding a pair changes the terms of every question
-- holding the word, so the stored related_terms (a generated column) must be
-- recomputed in the same change (UPDATE questions SET title = title).
-- IMMUTABLE, and a constant: called without arguments PostgreSQL folds it
-- into the plan of its caller, so a lookup costs what a literal did.
CREATE OR REPLACE FUNCTION mq_synonym_map() RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT '{
    "abdomen": "stomach", "abdomin": "stomach", "ach": "pain",
    "acid": "reflux", "anxious": "anxieti", "arrhythmia": "palpit",
    "awak": "insomnia", "babi": "child", "bald": "alopecia",
    "belch": "reflux", "belli": "stomach", "bladder": "urin",
    "blemish": "acn", "block": "congest", "blotch": "rash", "blur": "blurri",
    "breakout": "acn", "bump": "rash", "burp": "reflux", "buzz": "tinnitus",
    "cephalalgia": "headach", "children": "child", "cloudi": "blurri",
    "cobweb": "floater", "daughter": "child", "dermat": "eczema",
    "diarrhoea": "diarrhea", "drain": "tire", "dyspepsia": "reflux",
    "dyspnea": "breathless", "edema": "swell", "erupt": "rash",
    "exhaust": "tire", "eyesight": "vision", "faint": "dizzi",
    "fascicul": "twitch", "fatigu": "tire", "febril": "fever",
    "feverish": "fever", "flicker": "twitch", "flutter": "twitch",
    "fuzzi": "blurri", "gerd": "reflux", "giddi": "dizzi",
    "gloomi": "depress", "glucos": "diabet", "gut": "stomach",
    "hazi": "blurri", "hba1c": "diabet", "heartburn": "reflux",
    "hive": "rash", "hopeless": "depress", "hum": "tinnitus", "hurt": "pain",
    "indigest": "reflux", "infant": "child", "irregular": "palpit",
    "itchi": "itch", "jerk": "twitch", "jump": "twitch", "kid": "child",
    "kneecap": "knee", "lid": "eyelid", "lighthead": "dizzi",
    "lightheaded": "dizzi", "loos": "diarrhea", "lumbar": "back",
    "mens": "menstruat", "menstrual": "menstruat", "micturit": "urin",
    "migrain": "headach", "nasal": "nose", "nauseous": "nausea",
    "nervous": "anxieti", "nostril": "nose", "oedema": "swell",
    "panic": "anxieti", "panicki": "anxieti", "paresthesia": "numb",
    "patella": "knee", "pee": "urin", "period": "menstruat", "pimpl": "acn",
    "pound": "palpit", "pressur": "hypertens", "pruritus": "itch",
    "puffi": "swell", "pyrexia": "fever", "queasi": "nausea",
    "quiver": "twitch", "race": "palpit", "regurgit": "reflux",
    "ring": "tinnitus", "run": "diarrhea", "scratch": "itch", "see": "vision",
    "shake": "tremor", "shaki": "tremor", "shed": "alopecia",
    "shiver": "tremor", "sick": "nausea", "sight": "vision", "sinus": "nose",
    "skip": "palpit", "sleepless": "insomnia", "son": "child", "sore": "pain",
    "spasm": "twitch", "speck": "floater", "spin": "dizzi", "spinal": "back",
    "spine": "back", "stuf": "congest", "stuffi": "congest",
    "sugar": "diabet", "swollen": "swell", "temperatur": "fever",
    "thin": "alopecia", "throw": "nausea", "thump": "palpit", "tic": "twitch",
    "tingl": "numb", "toddler": "child", "trembl": "tremor",
    "tummi": "stomach", "twitchi": "twitch", "urticaria": "rash",
    "vertigo": "dizzi", "vomit": "nausea", "wake": "insomnia",
    "wateri": "diarrhea", "weari": "tire", "welt": "rash",
    "wheez": "breathless", "whistl": "tinnitus", "wind": "breathless",
    "woozi": "dizzi", "worri": "anxieti", "zit": "acn"
    }'::jsonb
$$;

-- The canonical stems of the lay words in v (as a tsvector of weight C).
-- PL/pgSQL rather than SQL: a SQL function with a FROM clause is not
-- inlined, and re-planning it per row cost most of a bulk load; here the
-- plan is cached per session and the map is one constant jsonb looked up
-- per term.
CREATE OR REPLACE FUNCTION mq_canon(v tsvector) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT AS $$
DECLARE
    canon text;
BEGIN
    SELECT string_agg(m.map ->> u.lexeme, ' ') INTO canon
    FROM unnest(v) AS u,
         (SELECT mq_synonym_map() AS map) AS m
    WHERE m.map ? u.lexeme;
    RETURN setweight(coalesce(to_tsvector('simple', canon), ''::tsvector), 'C');
END
$$;

-- What a question is about, as one tsvector (questions.related_terms is
-- generated from it): English stems of the title (weight A) and body (B),
-- character bigrams of any Chinese text (title A, body B; zh-TW is written
-- without spaces, and bigrams are the standard way to match it without a
-- dictionary segmenter), and a canonical term (C) for each lay word of the
-- synonym map.
CREATE OR REPLACE FUNCTION mq_terms(title text, body text) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    base tsvector;
BEGIN
    base := setweight(to_tsvector('english', coalesce(title, '')), 'A')
         || setweight(to_tsvector('english', coalesce(body, '')), 'B');
    -- Chinese bigrams only when there is Chinese: the regex is the cost.
    IF coalesce(title, '') || coalesce(body, '') ~ '[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]' THEN
        base := base
             || setweight(to_tsvector('simple', mq_cjk_bigrams(coalesce(title, ''))), 'A')
             || setweight(to_tsvector('simple', mq_cjk_bigrams(coalesce(body, ''))), 'B');
    END IF;
    RETURN base || mq_canon(base);
END
$$;

-- The terms of a question's doctor replies (weight D) from their text,
-- joined in reply order (mq_reply_terms, related.sql, and the synthetic
-- loader both use it). PL/pgSQL, like mq_terms: a SQL function with a FROM clause is
-- not inlined, and its per-call executor start cost more than the terms.
-- Bigrams only when there is Chinese, as in mq_terms; without any, the
-- 'simple' vector of an empty string added nothing anyway.
CREATE OR REPLACE FUNCTION mq_reply_terms_of(body text) RETURNS tsvector
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
