-- Relevance, third step: the same terms, computed fast enough for bulk
-- loads. mq_terms and mq_canon were SQL functions whose bodies PostgreSQL
-- cannot inline, so every row re-planned them (2.7 ms per question, most
-- of a 1,000,000-row load). As PL/pgSQL their plans are cached per session,
-- and the synonym map is one constant jsonb object looked up per term.
-- The results are identical, so the generated column needs no rewrite.

CREATE OR REPLACE FUNCTION mq_canon(v tsvector) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT AS $$
DECLARE
    canon text;
BEGIN
    SELECT string_agg(m.map ->> u.lexeme, ' ') INTO canon
    FROM unnest(v) AS u,
         (SELECT '{"abdomen": "stomach", "abdomin": "stomach", "ach": "pain", "acid": "reflux", "anxious": "anxieti", "arrhythmia": "palpit", "awak": "insomnia", "babi": "child", "bald": "alopecia", "belch": "reflux", "belli": "stomach", "bladder": "urin", "blemish": "acn", "block": "congest", "blotch": "rash", "blur": "blurri", "breakout": "acn", "bump": "rash", "burp": "reflux", "buzz": "tinnitus", "cephalalgia": "headach", "children": "child", "cloudi": "blurri", "cobweb": "floater", "daughter": "child", "dermat": "eczema", "diarrhoea": "diarrhea", "drain": "tire", "dyspepsia": "reflux", "dyspnea": "breathless", "edema": "swell", "erupt": "rash", "exhaust": "tire", "eyesight": "vision", "faint": "dizzi", "fascicul": "twitch", "fatigu": "tire", "febril": "fever", "feverish": "fever", "flicker": "twitch", "flutter": "twitch", "fuzzi": "blurri", "gerd": "reflux", "giddi": "dizzi", "gloomi": "depress", "glucos": "diabet", "gut": "stomach", "hazi": "blurri", "hba1c": "diabet", "heartburn": "reflux", "hive": "rash", "hopeless": "depress", "hum": "tinnitus", "hurt": "pain", "indigest": "reflux", "infant": "child", "irregular": "palpit", "itchi": "itch", "jerk": "twitch", "jump": "twitch", "kid": "child", "kneecap": "knee", "lid": "eyelid", "lighthead": "dizzi", "lightheaded": "dizzi", "loos": "diarrhea", "lumbar": "back", "mens": "menstruat", "menstrual": "menstruat", "micturit": "urin", "migrain": "headach", "nasal": "nose", "nauseous": "nausea", "nervous": "anxieti", "nostril": "nose", "oedema": "swell", "panic": "anxieti", "panicki": "anxieti", "paresthesia": "numb", "patella": "knee", "pee": "urin", "period": "menstruat", "pimpl": "acn", "pound": "palpit", "pressur": "hypertens", "pruritus": "itch", "puffi": "swell", "pyrexia": "fever", "queasi": "nausea", "quiver": "twitch", "race": "palpit", "regurgit": "reflux", "ring": "tinnitus", "run": "diarrhea", "scratch": "itch", "see": "vision", "shake": "tremor", "shaki": "tremor", "shed": "alopecia", "shiver": "tremor", "sick": "nausea", "sight": "vision", "sinus": "nose", "skip": "palpit", "sleepless": "insomnia", "son": "child", "sore": "pain", "spasm": "twitch", "speck": "floater", "spin": "dizzi", "spinal": "back", "spine": "back", "stuf": "congest", "stuffi": "congest", "sugar": "diabet", "swollen": "swell", "temperatur": "fever", "thin": "alopecia", "throw": "nausea", "thump": "palpit", "tic": "twitch", "tingl": "numb", "toddler": "child", "trembl": "tremor", "tummi": "stomach", "twitchi": "twitch", "urticaria": "rash", "vertigo": "dizzi", "vomit": "nausea", "wake": "insomnia", "wateri": "diarrhea", "weari": "tire", "welt": "rash", "wheez": "breathless", "whistl": "tinnitus", "wind": "breathless", "woozi": "dizzi", "worri": "anxieti", "zit": "acn"}'::jsonb AS map) AS m
    WHERE m.map ? u.lexeme;
    RETURN setweight(coalesce(to_tsvector('simple', canon), ''::tsvector), 'C');
END
$$;

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
