/* seed/synthetic — millions of plausible questions, fast and reproducible.
 *
 * Every random choice comes from our own counter-based PRNG: question i
 * draws from streams seeded by (seed, i, purpose), so a row never depends
 * on the rows before it. That lets us walk the questions three times, once
 * per COPY (questions, question_topics, replies), in whatever order loads
 * fastest, keeping only two sort keys per question in memory; and the same
 * (n, seed) produces the same bytes on any machine. Ids are
 * version-4-shaped UUIDs drawn from those streams.
 *
 * Speed comes from COPY in large buffers inside one transaction with
 * triggers off (session_replication_role = replica): the per-row counter
 * triggers would otherwise run two million times, so mq_recount() rebuilds
 * every counter and state once at the end instead. */
#include "medqa/synthetic.h"

#include <jansson.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------------
 * Vocabulary
 * ------------------------------------------------------------------- */

#define SYN_MAXV 6      /* entries per vocabulary list, NULL-terminated */
#define SYN_MAXTOPICS 6 /* topics per department */
#define SYN_MAXCONDS 4  /* conditions per department */
#define SYN_DOCTORS 20  /* doctors per department */

/* A body part and what it does, composed as "my <part> has been <ing>".
 * A part ending in 's' is plural ("my eyes have been burning"). */
struct syn_part {
    const char *part;
    const char *ing;
};

struct syn_condition {
    const char *lay;          /* article-free lay name: "eyelid twitching" */
    const char *medical;      /* what a doctor calls it */
    const char *explain;      /* noun phrase in apposition to medical */
    const char *differential; /* what it must be told apart from */
    const char *red_flag;     /* a clause that follows "if" */
    struct syn_part parts[SYN_MAXV];
    const char *extras[SYN_MAXV];   /* other symptoms, noun phrases */
    const char *triggers[SYN_MAXV]; /* "after drinking coffee" */
    const char *advice[SYN_MAXV];   /* verb phrases after "please" */
    const char *tests[SYN_MAXV];    /* noun phrases with their article */
    /* 1-based indexes into the department's topics (0 pads), the first
     * being the condition's main topic. */
    unsigned char topics[3];
    bool chronic; /* weeks to years rather than days to weeks */
    char sex;     /* 'f' or 'm' when only one sex asks, else 0 */
    unsigned char age_lo, age_hi; /* band indexes; 0/0: department default */
};

struct syn_topic {
    const char *slug;
    const char *name;
};

enum syn_who { SYN_ADULT, SYN_CHILD, SYN_FEMALE };

struct syn_department {
    const char *slug;
    const char *clinic;     /* "your local <clinic> clinic" */
    const char *specialist; /* with its article: "an endocrinologist" */
    unsigned weight;        /* relative share of the questions */
    enum syn_who who;
    struct syn_topic topics[SYN_MAXTOPICS + 1];
    struct syn_condition conds[SYN_MAXCONDS];
};

enum {
    D_FAMILY,
    D_INTERNAL,
    D_NEURO,
    D_CARDIO,
    D_DERM,
    D_GASTRO,
    D_OPHTH,
    D_ENT,
    D_PSYCH,
    D_ORTHO,
    D_PEDS,
    D_URO,
    D_OBGYN,
    D_ENDO,
    SYN_NDEPT
};

static const struct syn_department syn_depts[SYN_NDEPT] = {
    [D_FAMILY] =
        {"family-medicine",
         "family medicine",
         "your family doctor",
         10,
         SYN_ADULT,
         {{"common-cold", "Common Cold"},
          {"fatigue", "Fatigue"},
          {"vaccinations", "Vaccinations"},
          {"weight-management", "Weight Management"}},
         {{"lingering cold",
           "a viral upper respiratory tract infection",
           "a self-limiting infection of the nose and throat that usually "
           "settles within seven to ten days",
           "acute bacterial sinusitis",
           "the fever lasts more than three days or you become short of breath",
           {{"throat", "feeling scratchy"},
            {"nose", "running constantly"},
            {"chest", "feeling heavy"},
            {"head", "feeling stuffy"}},
           {"a mild fever", "a dry cough", "aching muscles", "a blocked nose"},
           {"in the mornings", "at night when I lie down",
            "after going out in the cold", "when I talk for long"},
           {"rest and drink plenty of fluids", "use saline nasal rinses",
            "take paracetamol for the aches if needed",
            "consider a yearly flu vaccination"},
           {"a throat swab", "a chest examination"},
           {1, 3},
           false,
           0,
           0,
           0},
          {"constant tiredness",
           "persistent fatigue",
           "a symptom most often linked to sleep, stress or anaemia, and now "
           "and then to thyroid disease",
           "an underactive thyroid",
           "you lose weight without trying or have drenching night sweats",
           {{"energy", "running low"},
            {"whole body", "feeling heavy"},
            {"legs", "feeling weak"}},
           {"trouble concentrating", "pale skin", "poor sleep", "low mood"},
           {"in the afternoon", "after even light activity", "after meals",
            "on work days"},
           {"keep a regular sleep schedule", "build up gentle exercise slowly",
            "eat regular, balanced meals"},
           {"a full blood count", "thyroid function tests",
            "a fasting blood sugar test"},
           {2},
           true,
           0,
           0,
           0},
          {"weight gain",
           "central obesity",
           "excess weight around the waist that raises the risk of diabetes, "
           "high blood pressure and joint problems",
           "metabolic syndrome",
           "you also feel very thirsty or pass urine far more often",
           {{"waist", "getting bigger"},
            {"weight", "creeping up"},
            {"ankles", "swelling"}},
           {"snoring at night", "shortness of breath on stairs",
            "pain in my knees"},
           {"at the end of the day", "over the winter months",
            "after long flights", "after salty meals"},
           {"aim for 150 minutes of brisk walking a week",
            "cut back on sugary drinks and late-night snacks",
            "keep a simple food diary for two weeks"},
           {"a fasting glucose and lipid panel", "a blood pressure check"},
           {4},
           true,
           0,
           0,
           0}}},
    [D_INTERNAL] =
        {"internal-medicine",
         "internal medicine",
         "an internist",
         9,
         SYN_ADULT,
         {{"fever", "Fever"},
          {"anemia", "Anemia"},
          {"chronic-cough", "Chronic Cough"},
          {"fatty-liver", "Fatty Liver"}},
         {{"persistent cough",
           "chronic cough",
           "a cough lasting more than eight weeks, most often caused by "
           "postnasal drip, asthma or acid reflux",
           "cough-variant asthma",
           "you cough up blood or lose weight",
           {{"cough", "getting worse"},
            {"chest", "feeling tight"},
            {"throat", "tickling"}},
           {"clear phlegm", "wheezing at night", "a hoarse voice"},
           {"at night", "after talking", "in cold air", "after meals"},
           {"avoid smoke and strong scents",
            "sleep with the head of the bed raised", "stop smoking"},
           {"a chest X-ray", "spirometry"},
           {3},
           true,
           0,
           0,
           0},
          {"dizziness and tiredness",
           "iron-deficiency anaemia",
           "a shortage of red blood cells, usually from low iron intake or "
           "slow blood loss",
           "vitamin B12 deficiency",
           "you notice black stools or you faint",
           {{"head", "feeling light"},
            {"heart", "racing"},
            {"hands", "feeling cold"}},
           {"pale lips", "brittle nails", "shortness of breath on stairs"},
           {"when I stand up quickly", "after climbing stairs",
            "in the mornings"},
           {"eat more iron-rich foods such as red meat, beans and leafy greens",
            "take iron tablets with orange juice rather than with tea"},
           {"a full blood count", "ferritin and iron studies"},
           {2},
           true,
           0,
           0,
           0},
          {"recurring fevers",
           "fever of unknown origin",
           "a fever that keeps returning without an obvious cause and needs a "
           "structured work-up",
           "a hidden bacterial infection",
           "the fever goes above 39.5 degrees or you feel confused",
           {{"temperature", "going up every evening"},
            {"body", "aching"},
            {"neck glands", "swelling"}},
           {"night sweats", "chills", "a poor appetite"},
           {"in the evenings", "every few days", "after a trip abroad"},
           {"keep a daily temperature diary", "drink plenty of fluids"},
           {"blood cultures", "inflammatory markers such as CRP"},
           {1},
           false,
           0,
           0,
           0},
          {"fatty liver",
           "non-alcoholic fatty liver disease",
           "a build-up of fat in the liver closely linked to weight, blood "
           "sugar and cholesterol",
           "viral hepatitis",
           "your skin or the whites of your eyes turn yellow",
           {{"liver enzymes", "rising"}, {"upper right belly", "aching"}},
           {"tiredness", "a heavy feeling after fatty meals"},
           {"after fatty meals", "after drinking alcohol"},
           {"lose five to ten percent of your body weight gradually",
            "avoid alcohol", "cut down on sugary drinks"},
           {"a liver ultrasound", "hepatitis B and C blood tests"},
           {4},
           true,
           0,
           3,
           7}}},
    [D_NEURO] =
        {"neurology",
         "neurology",
         "a neurologist",
         8,
         SYN_ADULT,
         {{"eyelid-muscle-twitching", "Eyelid Muscle Twitching"},
          {"facial-twitching", "Facial Twitching"},
          {"muscle-twitching", "Muscle Twitching"},
          {"migraine", "Migraine"},
          {"facial-and-hand-numbness", "Facial and Hand Numbness"}},
         {{"eyelid twitching",
           "eyelid myokymia",
           "a harmless, repetitive contraction of the orbicularis oculi muscle "
           "around the eye",
           "blepharospasm",
           "the eyelid starts to close on its own or the twitching spreads to "
           "the rest of the face",
           {{"left eyelid", "twitching"},
            {"right eyelid", "twitching"},
            {"lower left eyelid", "fluttering"},
            {"upper right eyelid", "jumping"}},
           {"a flicker near my cheek", "dry, tired eyes", "trouble sleeping"},
           {"after drinking coffee", "when I am stressed",
            "after long hours at the screen", "after a late night"},
           {"cut down on coffee, strong tea and energy drinks",
            "get regular sleep", "take breaks from the screen"},
           {"a neurological examination",
            "blood tests for magnesium and electrolytes"},
           {1, 2},
           false,
           0,
           0,
           0},
          {"muscle twitching",
           "benign fasciculations",
           "small, harmless contractions of muscle fibres that often follow "
           "exercise, stress or caffeine",
           "a motor nerve disorder",
           "you notice real weakness, muscle wasting or trouble swallowing",
           {{"calf muscles", "twitching"},
            {"left arm", "jumping"},
            {"thigh muscles", "twitching"},
            {"right thumb", "flickering"}},
           {"muscle cramps at night", "a tingling feeling",
            "mild aching after exercise"},
           {"after exercise", "when I lie down at night",
            "after drinking coffee", "when I am anxious"},
           {"stay well hydrated", "stretch after exercise", "reduce caffeine"},
           {"an electromyography (EMG) study",
            "blood tests for electrolytes and thyroid function"},
           {3},
           false,
           0,
           0,
           0},
          {"headaches",
           "migraine",
           "a recurrent, usually one-sided throbbing headache, often with "
           "nausea and sensitivity to light",
           "tension-type headache",
           "the headache is sudden and severe, or comes with weakness, "
           "confusion or a stiff neck",
           {{"head", "pounding"},
            {"left temple", "throbbing"},
            {"right side of my head", "aching"}},
           {"nausea", "sensitivity to light",
            "flashing lights before the pain"},
           {"after skipping meals", "when I sleep too little",
            "in bright light", "at the end of the work day"},
           {"keep a headache diary", "avoid skipping meals",
            "limit painkillers to fewer than ten days a month"},
           {"a neurological examination", "brain imaging"},
           {4},
           true,
           0,
           0,
           0},
          {"hand numbness",
           "carpal tunnel syndrome",
           "compression of the median nerve where it passes through the wrist",
           "a trapped nerve in the neck",
           "numbness comes on suddenly on one side of the body",
           {{"fingers", "going numb"},
            {"right hand", "tingling"},
            {"left hand", "falling asleep"}},
           {"weakness when gripping", "pain in the wrist", "neck stiffness"},
           {"at night", "when I type for long", "when I hold my phone"},
           {"wear a wrist splint at night", "take regular breaks from typing"},
           {"a nerve conduction study", "an X-ray of the neck"},
           {5},
           true,
           0,
           0,
           0}}},
    [D_CARDIO] =
        {"cardiology",
         "cardiology",
         "a cardiologist",
         7,
         SYN_ADULT,
         {{"palpitations", "Palpitations"},
          {"high-blood-pressure", "High Blood Pressure"},
          {"chest-pain", "Chest Pain"},
          {"high-cholesterol", "High Cholesterol"}},
         {{"heart palpitations",
           "premature ventricular contractions",
           "extra heartbeats that start in the lower chambers and are usually "
           "harmless in a healthy heart",
           "atrial fibrillation",
           "you faint, have chest pain or the racing lasts more than a few "
           "minutes",
           {{"heart", "racing"},
            {"heart", "skipping beats"},
            {"chest", "fluttering"}},
           {"light-headedness", "a pounding in my neck", "shortness of breath"},
           {"after coffee", "when I lie on my left side", "when I am anxious",
            "at night"},
           {"cut down on caffeine and alcohol",
            "write down when the episodes happen and how long they last"},
           {"a 24-hour Holter monitor", "an echocardiogram", "an ECG"},
           {1},
           false,
           0,
           0,
           0},
          {"high blood pressure",
           "essential hypertension",
           "persistently raised blood pressure without a single identifiable "
           "cause",
           "secondary hypertension",
           "readings go above 180/110 or you have chest pain or a sudden "
           "headache",
           {{"blood pressure", "running high"},
            {"head", "feeling heavy"},
            {"neck", "feeling stiff"}},
           {"headaches in the morning", "ringing in the ears",
            "blurry vision now and then"},
           {"in the mornings", "after salty meals", "at work",
            "after poor sleep"},
           {"cut down on salt",
            "measure your blood pressure at home at the same times each day",
            "walk briskly most days"},
           {"home blood pressure readings for a week",
            "kidney function and urine tests"},
           {2},
           true,
           0,
           3,
           7},
          {"chest tightness",
           "stable angina",
           "chest discomfort from narrowed coronary arteries when the heart "
           "needs more oxygen",
           "chest wall pain",
           "the pain comes at rest or lasts more than 15 minutes",
           {{"chest", "feeling tight"},
            {"left side of my chest", "aching"},
            {"chest", "hurting"}},
           {"shortness of breath", "sweating", "pain spreading to my left arm"},
           {"when I climb stairs", "after heavy meals", "when I am stressed",
            "in cold weather"},
           {"avoid heavy exertion until you have been assessed",
            "stop smoking if you smoke"},
           {"an exercise ECG", "a coronary CT angiogram"},
           {3},
           false,
           0,
           4,
           7},
          {"high cholesterol",
           "hypercholesterolaemia",
           "a raised level of LDL cholesterol in the blood",
           "familial hypercholesterolaemia",
           "you develop chest pain on exertion",
           {{"cholesterol", "rising"}, {"LDL level", "going up"}},
           {"yellowish spots near the eyelids",
            "a family history of heart disease"},
           {"in winter", "after festive meals", "after the holidays"},
           {"eat less saturated fat", "exercise for 30 minutes on most days"},
           {"a fasting lipid panel", "a cardiovascular risk assessment"},
           {4},
           true,
           0,
           3,
           7}}},
    [D_DERM] =
        {"dermatology",
         "dermatology",
         "a dermatologist",
         9,
         SYN_ADULT,
         {{"acne", "Acne"},
          {"eczema", "Eczema"},
          {"hair-loss", "Hair Loss"},
          {"hives", "Hives"}},
         {{"acne",
           "acne vulgaris",
           "inflammation of the hair follicles and oil glands of the skin",
           "rosacea",
           "you develop deep, painful cysts that leave scars",
           {{"forehead", "breaking out"},
            {"chin", "breaking out"},
            {"cheeks", "getting red and bumpy"}},
           {"oily skin", "dark marks where spots have healed",
            "painful lumps under the skin"},
           {"before exams", "after eating sweets", "when I wear a mask",
            "in summer"},
           {"wash twice a day with a gentle cleanser",
            "avoid squeezing the spots", "use non-comedogenic moisturisers"},
           {"a skin examination", "hormone blood tests"},
           {1},
           true,
           0,
           1,
           3},
          {"itchy skin",
           "atopic dermatitis",
           "a chronic inflammatory skin condition with a weakened skin barrier",
           "contact dermatitis",
           "the skin oozes, crusts or becomes painful",
           {{"elbows", "itching"},
            {"hands", "cracking and peeling"},
            {"neck", "itching"}},
           {"dry patches", "small blisters", "redness after scratching"},
           {"at night", "in winter", "after washing dishes",
            "after hot showers"},
           {"moisturise generously several times a day",
            "use lukewarm water and mild soap"},
           {"patch testing", "a skin examination"},
           {2},
           true,
           0,
           0,
           0},
          {"hair loss",
           "telogen effluvium",
           "temporary shedding of hair a few months after physical or "
           "emotional stress",
           "androgenetic alopecia",
           "you lose hair in patches with scarring or redness",
           {{"hair", "falling out"},
            {"hairline", "receding"},
            {"hair", "thinning"}},
           {"a round bald patch", "an itchy scalp", "dandruff"},
           {"after an illness", "when I wash it", "when I brush it"},
           {"be gentle when brushing and avoid tight hairstyles",
            "eat enough protein"},
           {"thyroid function and iron tests", "a scalp examination"},
           {3},
           true,
           0,
           0,
           0},
          {"hives",
           "acute urticaria",
           "an allergic-type reaction in which histamine causes itchy, raised "
           "welts",
           "angioedema",
           "your tongue or throat swells or you have trouble breathing",
           {{"arms", "breaking out in welts"},
            {"skin", "itching"},
            {"lips", "swelling"}},
           {"red raised patches", "itching that moves around",
            "swollen eyelids"},
           {"after eating seafood", "after exercise", "when I scratch",
            "in the evening"},
           {"take a non-drowsy antihistamine", "avoid known triggers"},
           {"an allergy test", "a blood test for inflammatory markers"},
           {4},
           false,
           0,
           0,
           0}}},
    [D_GASTRO] =
        {"gastroenterology",
         "gastroenterology",
         "a gastroenterologist",
         8,
         SYN_ADULT,
         {{"acid-reflux", "Acid Reflux"},
          {"irritable-bowel-syndrome", "Irritable Bowel Syndrome"},
          {"stomach-pain", "Stomach Pain"},
          {"constipation", "Constipation"}},
         {{"heartburn",
           "gastro-oesophageal reflux disease (GERD)",
           "the backflow of stomach acid into the oesophagus",
           "functional dyspepsia",
           "you have trouble swallowing, vomit blood or lose weight",
           {{"chest", "burning"},
            {"throat", "burning"},
            {"stomach", "feeling bloated"}},
           {"a sour taste in my mouth", "frequent burping",
            "a hoarse voice in the morning"},
           {"after meals", "when I lie down", "after coffee",
            "after spicy food"},
           {"avoid eating within three hours of bedtime",
            "raise the head of the bed", "cut down on coffee and alcohol"},
           {"an upper endoscopy", "a trial of acid-suppressing medication"},
           {1, 3},
           true,
           0,
           0,
           0},
          {"bloating and loose stools",
           "irritable bowel syndrome",
           "a disorder of gut-brain interaction that causes pain and changes "
           "in bowel habit",
           "inflammatory bowel disease",
           "you see blood in your stool or wake at night with diarrhoea",
           {{"stomach", "cramping"},
            {"belly", "bloating"},
            {"bowel habits", "changing"}},
           {"alternating diarrhoea and constipation", "a lot of gas",
            "relief after going to the toilet"},
           {"after meals", "when I am stressed", "after dairy",
            "in the mornings"},
           {"try a low-FODMAP diet with a dietitian", "eat regular meals"},
           {"a stool test for inflammation", "blood tests for coeliac disease"},
           {2, 3},
           true,
           0,
           0,
           0},
          {"constipation",
           "functional constipation",
           "infrequent or difficult bowel movements without a structural cause",
           "a blockage in the colon",
           "you lose weight, bleed heavily or the pattern changes suddenly "
           "after 50",
           {{"bowels", "moving slowly"},
            {"lower belly", "aching"},
            {"stomach", "feeling full"}},
           {"hard stools", "straining", "bleeding on the toilet paper"},
           {"when I travel", "when I eat less fruit",
            "when I do not drink enough"},
           {"increase fibre and water gradually",
            "go to the toilet at the same time each day"},
           {"a colonoscopy", "thyroid and calcium blood tests"},
           {4},
           true,
           0,
           0,
           0}}},
    [D_OPHTH] =
        {"ophthalmology",
         "eye",
         "an ophthalmologist",
         6,
         SYN_ADULT,
         {{"dry-eye", "Dry Eye"},
          {"eye-floaters", "Eye Floaters"},
          {"myopia", "Myopia"},
          {"red-eye", "Red Eye"}},
         {{"dry eyes",
           "dry eye disease",
           "an unstable tear film that leaves the surface of the eye irritated",
           "blepharitis",
           "you have eye pain, sensitivity to light or a drop in vision",
           {{"eyes", "feeling gritty"},
            {"eyes", "burning"},
            {"eyes", "watering"}},
           {"blurry vision that clears when I blink", "tired eyes", "redness"},
           {"after long hours at the computer", "in air-conditioned rooms",
            "in the evening", "when I wear contact lenses"},
           {"use preservative-free artificial tears",
            "follow the 20-20-20 rule at the screen"},
           {"a slit-lamp examination", "a tear break-up time test"},
           {1},
           true,
           0,
           0,
           0},
          {"eye floaters",
           "vitreous floaters",
           "clumps in the gel inside the eye that cast shadows on the retina",
           "a retinal tear",
           "you see a sudden shower of floaters, flashes or a curtain over "
           "your vision",
           {{"right eye", "seeing floaters"},
            {"left eye", "seeing black dots"},
            {"vision", "filling with floating spots"}},
           {"cobweb-like shapes", "brief flashes of light",
            "short-sightedness"},
           {"when I look at a white wall", "in bright light",
            "when I move my eyes"},
           {"have your retina checked once",
            "note any change in the number of floaters"},
           {"a dilated fundus examination",
            "an optical coherence tomography scan"},
           {2, 3},
           false,
           0,
           0,
           0},
          {"red eyes",
           "conjunctivitis",
           "inflammation of the thin membrane that covers the white of the eye",
           "uveitis",
           "the eye is painful, your vision drops or light hurts",
           {{"left eye", "turning red"},
            {"right eye", "itching"},
            {"eyelids", "sticking together"}},
           {"a sticky discharge", "swollen eyelids", "sensitivity to light"},
           {"in the morning", "after swimming", "during pollen season"},
           {"wash your hands often and do not share towels",
            "use cool compresses"},
           {"a slit-lamp examination", "a swab of the discharge"},
           {4},
           false,
           0,
           0,
           0},
          {"blurry distance vision",
           "progressive myopia",
           "short-sightedness that worsens as the eyeball grows longer",
           "astigmatism",
           "you see flashes or a shadow in your vision",
           {{"vision", "getting blurry"}, {"eyes", "straining"}},
           {"headaches after reading", "trouble reading road signs"},
           {"when driving at night", "in the classroom",
            "after reading for long"},
           {"spend at least two hours outdoors each day",
            "take breaks from close work"},
           {"a refraction test", "a measurement of axial length"},
           {3},
           true,
           0,
           1,
           3}}},
    [D_ENT] =
        {"otolaryngology",
         "ENT",
         "an ENT specialist",
         6,
         SYN_ADULT,
         {{"tinnitus", "Tinnitus"},
          {"sinusitis", "Sinusitis"},
          {"sore-throat", "Sore Throat"},
          {"hearing-loss", "Hearing Loss"}},
         {{"ringing in the ears",
           "subjective tinnitus",
           "the perception of sound without an outside source, often linked to "
           "hearing loss",
           "sudden sensorineural hearing loss",
           "you lose hearing suddenly in one ear",
           {{"left ear", "ringing"},
            {"ears", "buzzing"},
            {"right ear", "feeling blocked"}},
           {"muffled hearing", "dizziness",
            "trouble sleeping because of the noise"},
           {"at night when it is quiet", "after loud concerts",
            "when I am tired"},
           {"avoid loud noise and use ear protection",
            "use soft background sound at night"},
           {"a hearing test (audiogram)", "tympanometry"},
           {1, 4},
           true,
           0,
           0,
           0},
          {"sinus pressure",
           "chronic rhinosinusitis",
           "inflammation of the nose and sinuses lasting more than twelve "
           "weeks",
           "nasal polyps",
           "you have swelling around the eye or a severe headache",
           {{"nose", "feeling blocked"},
            {"cheeks", "aching"},
            {"face", "feeling full"}},
           {"thick yellow mucus", "a reduced sense of smell", "postnasal drip"},
           {"when I bend forward", "in the mornings", "after a cold"},
           {"use saline nasal rinses twice a day",
            "use a steroid nasal spray regularly"},
           {"a nasal endoscopy", "a CT scan of the sinuses"},
           {2},
           true,
           0,
           0,
           0},
          {"sore throat",
           "acute tonsillitis",
           "an infection of the tonsils, usually viral and sometimes caused by "
           "streptococcus",
           "a peritonsillar abscess",
           "you cannot swallow your saliva, have trouble breathing or cannot "
           "open your mouth",
           {{"throat", "hurting"},
            {"tonsils", "swelling"},
            {"voice", "getting hoarse"}},
           {"pain when swallowing", "a fever", "swollen glands in my neck"},
           {"in the morning", "after talking a lot", "when I swallow"},
           {"drink warm fluids and rest your voice",
            "take paracetamol or ibuprofen for the pain"},
           {"a rapid strep test", "a throat examination"},
           {3},
           false,
           0,
           0,
           0}}},
    [D_PSYCH] =
        {"psychiatry",
         "psychiatry",
         "a psychiatrist",
         8,
         SYN_ADULT,
         {{"insomnia", "Insomnia"},
          {"anxiety", "Anxiety"},
          {"depression", "Depression"},
          {"panic-attacks", "Panic Attacks"}},
         {{"trouble sleeping",
           "chronic insomnia",
           "difficulty falling or staying asleep at least three nights a week "
           "for three months",
           "obstructive sleep apnoea",
           "you have thoughts of harming yourself",
           {{"sleep", "getting worse"},
            {"mind", "racing at night"},
            {"sleep", "breaking up"}},
           {"daytime sleepiness", "trouble concentrating", "irritability"},
           {"on work nights", "after using my phone in bed",
            "when I am worried about work"},
           {"keep the same wake-up time every day",
            "avoid screens for an hour before bed",
            "try cognitive behavioural therapy for insomnia (CBT-I)"},
           {"a sleep diary", "a sleep study"},
           {1},
           true,
           0,
           0,
           0},
          {"constant worry",
           "generalised anxiety disorder",
           "excessive, hard-to-control worry about many areas of life",
           "an overactive thyroid",
           "you feel hopeless or think about harming yourself",
           {{"heart", "racing"}, {"mind", "racing"}, {"stomach", "churning"}},
           {"tense muscles", "restlessness", "trouble falling asleep"},
           {"before meetings", "in crowded places", "when I am alone at night"},
           {"practise slow breathing for ten minutes a day",
            "limit caffeine and alcohol"},
           {"a structured psychiatric assessment", "thyroid function tests"},
           {2},
           true,
           0,
           0,
           0},
          {"panic attacks",
           "panic disorder",
           "recurrent, unexpected surges of intense fear with physical "
           "symptoms",
           "a heart rhythm problem",
           "you have chest pain that does not settle",
           {{"heart", "pounding suddenly"},
            {"chest", "tightening"},
            {"hands", "shaking"}},
           {"a fear of dying", "tingling in my fingers", "shortness of breath"},
           {"on crowded trains", "while driving", "for no clear reason"},
           {"learn paced breathing", "keep going to the places you fear, since "
                                     "avoidance keeps the fear alive"},
           {"an ECG", "a psychiatric assessment"},
           {4, 2},
           false,
           0,
           0,
           0},
          {"low mood",
           "major depressive disorder",
           "a persistent low mood or loss of pleasure lasting at least two "
           "weeks",
           "bipolar disorder",
           "you have thoughts of ending your life",
           {{"mood", "getting lower"},
            {"energy", "draining away"},
            {"appetite", "fading"}},
           {"loss of interest in hobbies", "trouble sleeping",
            "feelings of guilt"},
           {"in the mornings", "on Sunday evenings", "in winter"},
           {"keep a daily routine with some physical activity",
            "talk to someone you trust"},
           {"a psychiatric assessment",
            "a depression questionnaire such as the PHQ-9"},
           {3},
           true,
           0,
           0,
           0}}},
    [D_ORTHO] =
        {"orthopedics",
         "orthopaedic",
         "an orthopaedic specialist",
         8,
         SYN_ADULT,
         {{"low-back-pain", "Low Back Pain"},
          {"knee-pain", "Knee Pain"},
          {"frozen-shoulder", "Frozen Shoulder"},
          {"sprained-ankle", "Sprained Ankle"}},
         {{"lower back pain",
           "lumbar disc herniation",
           "a bulging disc in the lower spine that can press on a nerve root",
           "a lumbar muscle strain",
           "you have numbness around the groin or trouble passing urine",
           {{"lower back", "aching"},
            {"back", "stiffening"},
            {"left leg", "tingling"}},
           {"pain shooting down my leg", "stiffness in the morning",
            "numbness in my toes"},
           {"after sitting for long", "when I bend forward", "after lifting"},
           {"stay gently active rather than resting in bed",
            "see a physiotherapist for core exercises"},
           {"a physical examination of the spine",
            "an MRI of the lumbar spine"},
           {1},
           true,
           0,
           0,
           0},
          {"knee pain",
           "knee osteoarthritis",
           "wear of the cartilage that lines the knee joint",
           "a meniscus tear",
           "the knee locks, gives way or becomes hot and red",
           {{"right knee", "hurting"},
            {"left knee", "clicking"},
            {"knees", "swelling"}},
           {"stiffness after sitting", "a grinding sound",
            "pain on the stairs"},
           {"when I climb stairs", "after running", "when I squat"},
           {"strengthen the thigh muscles",
            "lose weight if you are overweight"},
           {"a weight-bearing knee X-ray", "an MRI of the knee"},
           {2},
           true,
           0,
           4,
           8},
          {"shoulder pain",
           "adhesive capsulitis (frozen shoulder)",
           "thickening and stiffening of the shoulder joint capsule",
           "a rotator cuff tear",
           "the shoulder is suddenly weak after a fall",
           {{"shoulder", "hurting"},
            {"right shoulder", "stiffening"},
            {"arm", "aching"}},
           {"pain at night", "trouble reaching behind my back",
            "weakness lifting my arm"},
           {"when I lift my arm", "when I lie on that side",
            "when I comb my hair"},
           {"do gentle range-of-motion exercises every day",
            "use heat before stretching"},
           {"a shoulder ultrasound", "an X-ray of the shoulder"},
           {3},
           true,
           0,
           4,
           7},
          {"ankle pain",
           "a lateral ankle ligament sprain",
           "a stretch or tear of the ligaments on the outside of the ankle",
           "an ankle fracture",
           "you cannot take four steps or the bone is tender",
           {{"ankle", "swelling"},
            {"right ankle", "hurting"},
            {"foot", "bruising"}},
           {"bruising on the outer side", "trouble putting weight on it"},
           {"when I walk", "on uneven ground", "after standing"},
           {"rest, ice, compress and elevate it for the first two days",
            "start balance exercises once walking is comfortable"},
           {"an ankle X-ray", "an ultrasound of the ligaments"},
           {4},
           false,
           0,
           0,
           0}}},
    [D_PEDS] =
        {"pediatrics",
         "paediatric",
         "a paediatrician",
         7,
         SYN_CHILD,
         {{"childhood-fever", "Childhood Fever"},
          {"toddler-constipation", "Toddler Constipation"},
          {"childhood-eczema", "Childhood Eczema"},
          {"ear-infections", "Ear Infections"}},
         {{"fever",
           "a viral febrile illness",
           "a fever caused by a common virus that usually settles within three "
           "days",
           "a urinary tract infection",
           "the child is floppy, hard to wake or has a rash that does not fade "
           "under a glass",
           {{"temperature", "going up and down"},
            {"forehead", "feeling hot"},
            {"body", "feeling hot"}},
           {"a runny nose", "a poor appetite", "a cough"},
           {"at night", "in the afternoon", "after daycare"},
           {"keep the child drinking",
            "give paracetamol or ibuprofen at the correct dose for weight"},
           {"a urine test", "a physical examination"},
           {1},
           false,
           0,
           0,
           0},
          {"constipation",
           "functional constipation",
           "a pattern of hard, infrequent stools, often kept going by holding "
           "on because it hurts",
           "Hirschsprung disease",
           "there is green vomiting or a very swollen belly",
           {{"tummy", "hurting"},
            {"bowel movements", "getting harder"},
            {"belly", "feeling swollen"}},
           {"a fear of using the toilet", "streaks of blood on the stool",
            "a poor appetite"},
           {"during potty training", "on daycare days",
            "after switching to cow's milk"},
           {"offer more water, fruit and vegetables",
            "sit the child on the toilet for five minutes after meals"},
           {"a physical examination of the abdomen", "an abdominal X-ray"},
           {2},
           true,
           0,
           0,
           1},
          {"itchy skin patches",
           "infantile eczema",
           "an itchy, dry rash from a weak skin barrier, common in young "
           "children",
           "a viral rash",
           "the rash oozes, forms yellow crusts or the child has a fever",
           {{"cheeks", "getting red"},
            {"skin", "breaking out in spots"},
            {"arms", "getting rough and red"}},
           {"itching at night", "dry patches", "a mild fever"},
           {"after bath time", "in winter", "after eating eggs"},
           {"moisturise after each bath", "keep the nails short"},
           {"a skin examination", "targeted allergy testing"},
           {3},
           true,
           0,
           0,
           0},
          {"ear pain",
           "acute otitis media",
           "an infection of the middle ear behind the eardrum",
           "an infection of the ear canal",
           "there is swelling behind the ear or the child seems very unwell",
           {{"ear", "hurting"},
            {"left ear", "draining"},
            {"right ear", "aching"}},
           {"a fever", "trouble sleeping", "pulling at the ear"},
           {"at night when lying down", "after a cold", "after swimming"},
           {"give pain relief at the correct dose",
            "wait two or three days before antibiotics if the child is over "
            "two"},
           {"an ear examination with an otoscope", "a hearing test"},
           {4},
           false,
           0,
           0,
           0}}},
    [D_URO] =
        {"urology",
         "urology",
         "a urologist",
         5,
         SYN_ADULT,
         {{"kidney-stones", "Kidney Stones"},
          {"enlarged-prostate", "Enlarged Prostate"},
          {"urinary-tract-infection", "Urinary Tract Infection"},
          {"frequent-urination", "Frequent Urination"}},
         {{"flank pain",
           "a kidney stone (nephrolithiasis)",
           "a crystal that forms in the kidney and can block the ureter as it "
           "passes",
           "a kidney infection",
           "you have a fever with the pain or cannot pass urine",
           {{"left side", "hurting"},
            {"lower back", "aching"},
            {"urine", "turning pink"}},
           {"nausea", "pain that comes in waves",
            "pain moving towards the groin"},
           {"after exercise", "in hot weather", "when I do not drink enough"},
           {"drink enough to pass about two litres of urine a day",
            "cut down on salt"},
           {"a CT scan of the urinary tract", "a urine test"},
           {1},
           false,
           0,
           0,
           0},
          {"weak urine flow",
           "benign prostatic hyperplasia",
           "a non-cancerous enlargement of the prostate that narrows the urine "
           "channel",
           "prostate cancer",
           "you cannot pass urine at all or see blood",
           {{"urine stream", "getting weaker"}, {"bladder", "feeling full"}},
           {"getting up at night to pass urine", "dribbling at the end",
            "trouble getting started"},
           {"at night", "after drinking coffee", "in cold weather"},
           {"drink less in the evening", "cut down on caffeine and alcohol"},
           {"a PSA blood test", "a urine flow test and bladder ultrasound"},
           {2, 4},
           true,
           'm',
           5,
           8},
          {"burning urination",
           "a lower urinary tract infection (cystitis)",
           "a bacterial infection of the bladder",
           "an overactive bladder",
           "you develop a fever, back pain or vomiting",
           {{"bladder", "burning"},
            {"lower belly", "aching"},
            {"urine", "smelling strong"}},
           {"burning when passing urine", "the need to go very often",
            "cloudy urine"},
           {"after holding my urine", "when I do not drink enough", "at night"},
           {"drink plenty of water", "do not hold your urine for long"},
           {"a urine dipstick and culture", "a kidney ultrasound"},
           {3, 4},
           false,
           0,
           0,
           0}}},
    [D_OBGYN] =
        {"obstetrics-gynecology",
         "gynaecology",
         "a gynaecologist",
         6,
         SYN_FEMALE,
         {{"irregular-periods", "Irregular Periods"},
          {"menstrual-pain", "Menstrual Pain"},
          {"pregnancy", "Pregnancy"},
          {"menopause", "Menopause"}},
         {{"irregular periods",
           "polycystic ovary syndrome (PCOS)",
           "a hormonal condition with irregular ovulation and often raised "
           "androgen levels",
           "a thyroid disorder",
           "you bleed very heavily or have severe pelvic pain",
           {{"periods", "coming late"},
            {"cycle", "getting irregular"},
            {"periods", "getting heavier"}},
           {"acne", "weight gain", "spotting between periods"},
           {"after losing weight", "during stressful months",
            "after stopping the pill"},
           {"keep a cycle diary", "aim for a healthy weight"},
           {"a pelvic ultrasound", "hormone blood tests"},
           {1},
           true,
           'f',
           1,
           4},
          {"painful periods",
           "endometriosis",
           "tissue similar to the lining of the womb growing outside the womb",
           "primary dysmenorrhoea",
           "you have a fever or sudden severe pain",
           {{"lower belly", "cramping"},
            {"lower back", "aching"},
            {"periods", "getting more painful"}},
           {"pain during intercourse", "nausea", "heavy bleeding"},
           {"on the first day of my period", "before my period",
            "around ovulation"},
           {"take anti-inflammatory painkillers as the pain starts",
            "use a heat pad"},
           {"a pelvic ultrasound", "a gynaecological examination"},
           {2},
           true,
           'f',
           1,
           4},
          {"morning sickness",
           "nausea and vomiting of pregnancy",
           "a common symptom of the first trimester caused by pregnancy "
           "hormones",
           "hyperemesis gravidarum",
           "you cannot keep fluids down, bleed heavily or have severe pain",
           {{"stomach", "feeling queasy"},
            {"lower belly", "cramping"},
            {"ankles", "swelling"}},
           {"light spotting", "heartburn", "tiredness"},
           {"in the mornings", "after meals", "in the evenings"},
           {"eat small, frequent meals", "try ginger and rest when you can"},
           {"an early pregnancy ultrasound", "a urine test for ketones"},
           {3},
           false,
           'f',
           2,
           4},
          {"hot flushes",
           "perimenopause",
           "the transition before the last period, when oestrogen levels "
           "fluctuate",
           "a thyroid disorder",
           "you bleed after your periods have stopped for a year",
           {{"face", "flushing"},
            {"sleep", "breaking up at night"},
            {"periods", "becoming irregular"}},
           {"night sweats", "mood swings", "vaginal dryness"},
           {"at night", "after hot drinks", "when I am stressed"},
           {"dress in layers and keep the bedroom cool",
            "discuss hormone therapy with your doctor"},
           {"a symptom review with a gynaecologist", "FSH blood tests"},
           {4},
           true,
           'f',
           4,
           5}}},
    [D_ENDO] =
        {"endocrinology",
         "endocrinology",
         "an endocrinologist",
         5,
         SYN_ADULT,
         {{"thyroid-nodules", "Thyroid Nodules"},
          {"prediabetes", "Prediabetes"},
          {"hyperthyroidism", "Hyperthyroidism"},
          {"type-2-diabetes", "Type 2 Diabetes"}},
         {{"neck swelling",
           "a thyroid nodule",
           "a lump within the thyroid gland, usually benign",
           "thyroid cancer",
           "the lump grows quickly or you have trouble breathing or swallowing",
           {{"neck", "swelling"}, {"throat", "feeling tight"}},
           {"a lump that moves when I swallow", "a hoarse voice"},
           {"when I swallow", "when I turn my head"},
           {"have the nodule measured again in 6 to 12 months",
            "have your thyroid hormone levels checked"},
           {"a thyroid ultrasound", "a fine-needle aspiration biopsy"},
           {1},
           true,
           0,
           2,
           7},
          {"high blood sugar",
           "prediabetes (impaired fasting glucose)",
           "blood sugar that is higher than normal but not yet in the diabetic "
           "range",
           "type 2 diabetes",
           "you become very thirsty, pass a lot of urine and lose weight",
           {{"blood sugar", "creeping up"},
            {"HbA1c", "rising"},
            {"thirst", "increasing"}},
           {"tiredness after meals", "frequent urination",
            "weight gain around the waist"},
           {"after meals", "after sweet drinks", "in the mornings"},
           {"lose about five to seven percent of your body weight",
            "walk briskly for 30 minutes most days"},
           {"an oral glucose tolerance test", "a repeat HbA1c"},
           {2, 4},
           true,
           0,
           3,
           7},
          {"tremor and weight loss",
           "hyperthyroidism",
           "an overactive thyroid gland, most often from Graves' disease",
           "an anxiety disorder",
           "you have a very fast heartbeat, a fever or confusion",
           {{"hands", "shaking"}, {"heart", "racing"}, {"weight", "dropping"}},
           {"sweating", "feeling hot all the time", "bulging eyes"},
           {"at rest", "at night", "in warm rooms"},
           {"avoid iodine supplements until you are assessed",
            "limit caffeine"},
           {"thyroid function tests (TSH and free T4)",
            "thyroid antibody tests"},
           {3},
           false,
           0,
           2,
           6}}},
};

/* The zh-TW set: fewer departments and plainer templates, enough for the
 * language filter and for search over text the English stemmer cannot
 * read. */
struct syn_zh_condition {
    int dept;
    const char *lay;
    const char *medical;
    const char *advice;
    const char *red_flag;
    const char *clinic;
    struct syn_part parts[3];
    const char *triggers[4];
    unsigned char topics[2]; /* 1-based, as in syn_condition */
};

static const struct syn_zh_condition syn_zh[] = {
    {D_NEURO,
     "眼皮跳",
     "眼瞼肌纖維顫搐",
     "減少咖啡和濃茶，並維持規律睡眠",
     "眼皮無法張開，或抽動擴散到半邊臉",
     "神經內科",
     {{"左眼皮", "跳動"}, {"右眼皮", "一直跳"}, {"下眼皮", "抽動"}},
     {"熬夜之後", "喝咖啡之後", "壓力大的時候"},
     {1, 2}},
    {D_NEURO,
     "頭痛",
     "偏頭痛",
     "記錄頭痛日誌，避免空腹和睡眠不足",
     "出現突然劇烈頭痛、手腳無力或說話不清",
     "神經內科",
     {{"頭", "痛"}, {"太陽穴", "抽痛"}, {"後腦", "悶痛"}},
     {"睡不好的時候", "看電腦太久之後", "天氣變化的時候"},
     {4}},
    {D_DERM,
     "皮膚癢",
     "異位性皮膚炎",
     "洗澡水不要太熱，洗完後立即擦保濕乳液",
     "皮膚出現滲液、結痂或發燒",
     "皮膚科",
     {{"手肘", "很癢"}, {"脖子", "起紅疹"}, {"手背", "脫皮"}},
     {"晚上", "洗完熱水澡之後", "天氣變冷的時候"},
     {2}},
    {D_GASTRO,
     "胃食道逆流",
     "胃食道逆流",
     "睡前三小時不要進食，並把床頭墊高",
     "吞嚥困難、吐血或體重明顯減輕",
     "腸胃科",
     {{"胸口", "灼熱"}, {"喉嚨", "有酸水"}, {"胃", "脹氣"}},
     {"吃飽之後", "躺下的時候", "喝咖啡之後"},
     {1, 3}},
    {D_OPHTH,
     "眼睛乾澀",
     "乾眼症",
     "使用不含防腐劑的人工淚液，並讓眼睛定時休息",
     "視力突然下降或眼睛疼痛",
     "眼科",
     {{"眼睛", "乾澀"}, {"眼睛", "有異物感"}, {"雙眼", "容易疲勞"}},
     {"看電腦太久之後", "待在冷氣房的時候", "晚上"},
     {1}},
    {D_OPHTH,
     "飛蚊症",
     "玻璃體混濁（飛蚊症）",
     "安排一次散瞳檢查視網膜",
     "黑影突然變多、出現閃光或視野像被黑幕遮住",
     "眼科",
     {{"右眼", "看到黑點"}, {"左眼", "有飄動的黑影"}},
     {"看白色牆壁的時候", "在大太陽下", "轉動眼睛的時候"},
     {2}},
    {D_PEDS,
     "發燒",
     "病毒感染引起的發燒",
     "多補充水分，並依體重給予退燒藥",
     "孩子活動力明顯變差、叫不太醒，或出現壓了不會退的紅疹",
     "小兒科",
     {{"體溫", "反覆升高"}, {"額頭", "很燙"}},
     {"晚上", "上幼兒園之後", "下午"},
     {1}},
};

#define SYN_NZH (sizeof(syn_zh) / sizeof(syn_zh[0]))

/* ---------------------------------------------------------------------
 * Phrase tables
 * ------------------------------------------------------------------- */

#define SYN_COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const syn_acute[] = {"two days",  "three days", "four days",
                                        "five days", "a week",     "ten days",
                                        "two weeks", "three weeks"};
static const char *const syn_chronic[] = {
    "three weeks",  "a month",     "two months", "three months", "six months",
    "about a year", "over a year", "two years",  "several years"};
static const char *const syn_zh_durations[] = {
    "三天",   "五天",   "一個星期", "兩個星期", "三個星期",
    "一個月", "兩個月", "半年",     "一年多"};

static const char *const syn_age_bands[] = {"0-9",   "10-19", "20-29",
                                            "30-39", "40-49", "50-59",
                                            "60-69", "70-79", "80+"};
static const char *const syn_age_words[] = {
    "my childhood", "my teens",   "my twenties",  "my thirties", "my forties",
    "my fifties",   "my sixties", "my seventies", "my eighties"};

/* Codes the expander understands (see syn_expand):
 *   %P possessive ("my", "my son's")  %Q its zh-TW title form
 *   %S subject  %H have/has  %B am/is/are
 *   %O the writer ("I", parents too)  %p part  %i its -ing verb
 *   %h %k %d has/keeps/does agreeing with the part
 *   %L lay name  %M medical name  %N explanation  %F differential
 *   %R red flag  %D duration  %T trigger  %X extra symptom  %A age
 *   %V %W two advice phrases  %E a test  %C clinic  %Z specialist
 * Each template starts a sentence, so its first letter is capitalised. */
static const char *const syn_titles[] = {
    "%P %p %h been %i for %D",
    "%L for %D: should I see a doctor?",
    "Should I worry about %L?",
    "%L %T",
    "What causes %L %T?",
    "%L in %A",
    "Could %P %L be %F?",
    "%L and %X",
    "Will %L go away on its own?",
    "%P %p %k %i",
    "Why %d %P %p keep %i?",
    "%L %T: is this normal?",
    "Worried about %L",
    "%L for %D and not improving",
    "%P %p started %i %D ago",
};
static const char *const syn_openings[] = {
    "Hello doctor.", "Hi doctor.", "Hello.",
    "Dear doctor, thank you for reading this.",
    "Doctor, I would like to ask about something."};
static const char *const syn_firsts[] = {
    "For %D now, %P %p %h been %i.",
    "%P %p started %i %D ago.",
    "%O have noticed that %P %p %h been %i for %D.",
    "%D ago, %P %p started %i, and it has not settled since.",
};
static const char *const syn_extras[] = {
    "%S also %H %X.", "%O have also noticed %X.", "Along with this, %S %H %X."};
static const char *const syn_trigger_lines[] = {
    "It seems to get worse %T.", "It is most noticeable %T.",
    "It tends to happen %T.", "Things are clearly worse %T."};
static const char *const syn_context_adult[] = {
    "I am otherwise healthy and take no regular medication.",
    "I work long hours at a desk.",
    "Work has been very stressful lately.",
    "I went to a local clinic once, but they said it was nothing serious.",
    "Someone in my family had something similar.",
    "I do not smoke and rarely drink alcohol.",
    "I searched online and now I am quite worried.",
    "I have been sleeping badly for a while.",
    "My blood tests last year were normal."};
static const char *const syn_context_child[] = {
    "%S %B otherwise healthy and growing well.",
    "%S started daycare a few months ago.",
    "Our family doctor told us to wait and see.",
    "%S %B up to date with vaccinations.",
    "%S %B eating and drinking less than usual.",
    "%S %B still playing normally in between."};
static const char *const syn_questions[] = {
    "Should I be worried?",
    "What could be causing this?",
    "Could this be %F?",
    "Which tests would you recommend?",
    "Is there anything %O can do at home?",
    "Which department should %O go to?",
    "Does this need treatment, or will it pass on its own?",
    "How long will this take to get better?",
    "What could it be? Thank you for your help."};

static const char *const syn_greets[] = {
    "Hello.", "Hello, and thank you for your question.",
    "Hi, thank you for the clear description.",
    "Hello, I understand why this worries you."};
static const char *const syn_cores[] = {
    "From what you describe, this sounds most like %M, %N.",
    "The symptoms you describe are typical of %M, %N.",
    "Your description fits %M, %N.", "The most likely explanation is %M, %N."};
static const char *const syn_diffs[] = {
    "It should be told apart from %F, which is why an examination in person "
    "matters.",
    "%F is less likely, but it is worth ruling out.",
    "A doctor will want to rule out %F."};
static const char *const syn_advices[] = {"In the meantime, please %V.",
                                          "It usually helps to %V and to %W.",
                                          "Try to %V."};
static const char *const syn_tests[] = {
    "Your local %C clinic can arrange %E if needed.",
    "I would suggest %E to confirm the diagnosis.",
    "%E would help to clarify things."};
static const char *const syn_reds[] = {"If %R, please see a doctor promptly.",
                                       "Please seek care urgently if %R.",
                                       "Go to an emergency department if %R."};
static const char *const syn_closes[] = {
    "Take care.", "Wishing you a quick recovery.", "I hope this helps."};

static const char *const syn_zh_titles[] = {
    "%Q%p%i已經%D了", "%L該怎麼辦？", "%T%Q%p%i，需要看醫生嗎？",
    "請問%L是什麼原因？", "%L%D了，會自己好嗎？"};

static const char *const syn_surnames[] = {
    "Chen",   "Lin",  "Huang", "Chang", "Li",    "Wang", "Wu",     "Liu",
    "Tsai",   "Yang", "Hsu",   "Cheng", "Hsieh", "Kuo",  "Hung",   "Tseng",
    "Chiu",   "Liao", "Lai",   "Chou",  "Yeh",   "Su",   "Chuang", "Lu",
    "Chiang", "Ho",   "Lo",    "Kao",   "Pan",   "Tang", "Fang",   "Shih",
    "Chien",  "Hou",  "Yu",    "Ko"};
static const char *const syn_syllables[] = {
    "Wei",  "Ling", "Chih", "Hao",    "Mei",   "Yu",   "Ting", "Chun",
    "Hsin", "Yi",   "Jen",  "Ming",   "Hua",   "Kai",  "Pei",  "Shan",
    "Tzu",  "Chia", "Wen",  "Hsiang", "An",    "Fang", "Jung", "Kuan",
    "Lan",  "Ning", "Po",   "Sheng",  "Tsung", "Ya",   "Hui",  "Chieh"};
static const char *const syn_nick_adult[] = {
    "Night owl",        "Tired teacher",     "Office worker",
    "Weekend runner",   "Night-shift nurse", "Student",
    "Retired engineer", "Curious reader",    "Software developer",
    "Taxi driver",      "Shop owner",        "Worried reader"};
static const char *const syn_nick_parent[] = {
    "Worried mom",    "Worried dad", "Anxious parent",
    "First-time mom", "Dad of two",  "Grandma"};
static const char *const syn_zh_surnames[] = {
    "陳", "林", "黃", "張", "李", "王", "吳", "劉", "蔡", "楊", "許", "鄭"};

/* ---------------------------------------------------------------------
 * PRNG: splitmix64, one short stream per (seed, index, purpose)
 * ------------------------------------------------------------------- */

enum syn_purpose {
    SYN_P_PLAN = 1, /* ids, choices, times: needed by every pass */
    SYN_P_QTEXT,    /* question title and body */
    SYN_P_RTEXT,    /* reply bodies */
    SYN_P_DOCTOR,
};

struct syn_rng {
    uint64_t s;
};

static uint64_t syn_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t syn_next(struct syn_rng *r)
{
    r->s += 0x9e3779b97f4a7c15ULL;
    return syn_mix(r->s);
}

static struct syn_rng syn_stream(uint64_t seed, uint64_t index,
                                 enum syn_purpose purpose)
{
    struct syn_rng r = {syn_mix(syn_mix(seed ^ ((uint64_t)purpose << 56)) +
                                index * 0xd1b54a32d192ed03ULL)};
    return r;
}

/* Uniform in [0, n); the multiply-shift avoids modulo bias. */
static unsigned syn_below(struct syn_rng *r, unsigned n)
{
    return (unsigned)(((syn_next(r) >> 32) * (uint64_t)n) >> 32);
}

static const char *syn_pick(struct syn_rng *r, const char *const *v, size_t n)
{
    return v[syn_below(r, (unsigned)n)];
}

/* Picks from a NULL-terminated vocabulary list. */
static const char *syn_pickv(struct syn_rng *r, const char *const *v)
{
    unsigned n = 0;

    while (n < SYN_MAXV && v[n] != NULL)
        n++;
    return v[syn_below(r, n)];
}

static unsigned syn_nparts(const struct syn_part *p, unsigned max)
{
    unsigned n = 0;

    while (n < max && p[n].part != NULL)
        n++;
    return n;
}

static void syn_uuid(struct syn_rng *r, char out[37])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    uint64_t hi = syn_next(r), lo = syn_next(r);

    for (int i = 0; i < 8; i++) {
        b[i] = (unsigned char)(hi >> (56 - 8 * i));
        b[8 + i] = (unsigned char)(lo >> (56 - 8 * i));
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    char *o = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-';
        *o++ = hex[b[i] >> 4];
        *o++ = hex[b[i] & 15];
    }
    *o = '\0';
}

/* ---------------------------------------------------------------------
 * Text composition
 * ------------------------------------------------------------------- */

/* Bodies stay far below this size: the longest template set composes
 * about 1 KiB, so a cut at the end can only happen after a vocabulary
 * edit, and then it shows in review instead of writing past the end. */
struct syn_str {
    char s[8192];
    size_t len;
};

static void syn_addn(struct syn_str *b, const char *s, size_t n)
{
    if (n > sizeof(b->s) - 1 - b->len)
        n = sizeof(b->s) - 1 - b->len;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void syn_add(struct syn_str *b, const char *s)
{
    syn_addn(b, s, strlen(s));
}

/* Everything a template may name, chosen once per question (or reply). */
struct syn_ctx {
    const char *poss, *subj, *have, *be, *observer, *title_poss;
    const char *part, *ing;
    bool plural;
    const char *lay, *medical, *explain, *diff, *red, *dur, *trig, *extra;
    const char *age, *advice, *advice2, *test, *clinic, *specialist;
};

static void syn_expand(struct syn_str *b, const char *tmpl,
                       const struct syn_ctx *c)
{
    size_t start = b->len;

    for (const char *t = tmpl; *t != '\0'; t++) {
        const char *pct = strchr(t, '%');
        if (pct == NULL || pct[1] == '\0') {
            syn_add(b, t);
            break;
        }
        syn_addn(b, t, (size_t)(pct - t));
        t = pct + 1;
        const char *v = "";
        switch (*t) {
        case 'P': v = c->poss; break;
        case 'Q': v = c->title_poss; break;
        case 'S': v = c->subj; break;
        case 'H': v = c->have; break;
        case 'B': v = c->be; break;
        case 'O': v = c->observer; break;
        case 'p': v = c->part; break;
        case 'i': v = c->ing; break;
        case 'h': v = c->plural ? "have" : "has"; break;
        case 'k': v = c->plural ? "keep" : "keeps"; break;
        case 'd': v = c->plural ? "do" : "does"; break;
        case 'L': v = c->lay; break;
        case 'M': v = c->medical; break;
        case 'N': v = c->explain; break;
        case 'F': v = c->diff; break;
        case 'R': v = c->red; break;
        case 'D': v = c->dur; break;
        case 'T': v = c->trig; break;
        case 'X': v = c->extra; break;
        case 'A': v = c->age; break;
        case 'V': v = c->advice; break;
        case 'W': v = c->advice2; break;
        case 'E': v = c->test; break;
        case 'C': v = c->clinic; break;
        case 'Z': v = c->specialist; break;
        case '%': v = "%"; break;
        default: break;
        }
        syn_add(b, v ? v : "");
    }
    if (b->len > start && b->s[start] >= 'a' && b->s[start] <= 'z')
        b->s[start] = (char)(b->s[start] - 'a' + 'A');
}

/* Appends one English sentence, separated from the previous one by a
 * space. (Chinese needs no separator: its full-width punctuation is one.) */
static void syn_sentence(struct syn_str *b, const char *tmpl,
                         const struct syn_ctx *c)
{
    if (b->len > 0)
        syn_add(b, " ");
    syn_expand(b, tmpl, c);
}

/* ---------------------------------------------------------------------
 * The plan of one question: everything except its text
 * ------------------------------------------------------------------- */

#define SYN_T0 1451606400LL /* 2016-01-01T00:00:00Z */
#define SYN_T1 1767225600LL /* 2026-01-01T00:00:00Z */

enum syn_kind { SYN_DOCTOR_REPLY, SYN_SECOND_OPINION, SYN_EDITORIAL };

struct syn_reply {
    char id[37];
    enum syn_kind kind;
    int doctor; /* index into the generator's doctors; -1 for editorial */
    long long at;
};

struct syn_plan {
    char id[37];
    int dept;
    int cond; /* into syn_depts[dept].conds, or into syn_zh when zh */
    bool zh;
    int gender; /* 0 female, 1 male, 2 other, 3 undisclosed */
    int band;
    int child_age;
    long long asked;
    long long updated;
    int ntopics;
    int topics[3]; /* 0-based indexes into the department's topics */
    int nreplies;
    struct syn_reply replies[3];
    char asker[64];
};

struct syn_gen {
    uint64_t seed;
    char doctor_ids[SYN_NDEPT * SYN_DOCTORS][37];
    /* Topic ids as the database knows them; "" when the slug is taken by
     * another department's or a deleted topic, which questions then skip. */
    char topic_ids[SYN_NDEPT][SYN_MAXTOPICS][37];
    unsigned dept_weight_total;
};

static const char *const syn_genders[] = {"female", "male", "other",
                                          "undisclosed"};

static int syn_pick_gender(struct syn_rng *r, char sex)
{
    unsigned x = syn_below(r, 100);

    if (sex == 'f')
        return x < 96 ? 0 : 3;
    if (sex == 'm')
        return x < 96 ? 1 : 3;
    return x < 50 ? 0 : x < 92 ? 1 : x < 94 ? 2 : 3;
}

static int syn_pick_band(struct syn_rng *r, const struct syn_department *d,
                         unsigned lo, unsigned hi)
{
    /* Weights per band for adult askers: most are 20 to 59. */
    static const unsigned adult[9] = {0, 4, 20, 24, 20, 14, 10, 6, 2};

    if (hi > 0)
        return (int)(lo + syn_below(r, hi - lo + 1));
    if (d->who == SYN_CHILD)
        return syn_below(r, 100) < 75 ? 0 : 1;
    unsigned x = syn_below(r, 100), acc = 0;
    for (int i = 0; i < 9; i++) {
        acc += adult[i];
        if (x < acc)
            return i;
    }
    return 8;
}

static int syn_pick_dept(struct syn_rng *r, const struct syn_gen *g)
{
    unsigned x = syn_below(r, g->dept_weight_total), acc = 0;

    for (int i = 0; i < SYN_NDEPT; i++) {
        acc += syn_depts[i].weight;
        if (x < acc)
            return i;
    }
    return SYN_NDEPT - 1;
}

static unsigned syn_ndept_topics(const struct syn_department *d)
{
    unsigned n = 0;

    while (n < SYN_MAXTOPICS && d->topics[n].slug != NULL)
        n++;
    return n;
}

static unsigned syn_nconds(const struct syn_department *d)
{
    unsigned n = 0;

    while (n < SYN_MAXCONDS && d->conds[n].lay != NULL)
        n++;
    return n;
}

static void syn_asker(struct syn_rng *r, struct syn_plan *p)
{
    bool parent = syn_depts[p->dept].who == SYN_CHILD;
    unsigned x = syn_below(r, 100);
    const char *sur = syn_pick(r, syn_surnames, SYN_COUNT(syn_surnames));
    char i1 = (char)('A' + syn_below(r, 26));
    char i2 = (char)('A' + syn_below(r, 26));

    if (p->zh) {
        static const char *const adult_f[] = {"小姐", "太太", "女士"};
        static const char *const parent_s[] = {"媽媽", "爸爸"};
        const char *zs =
            syn_pick(r, syn_zh_surnames, SYN_COUNT(syn_zh_surnames));
        const char *suffix = parent           ? syn_pick(r, parent_s, 2)
                             : p->gender == 0 ? syn_pick(r, adult_f, 3)
                             : p->gender == 1 ? "先生"
                                              : "同學";
        if (x < 10)
            snprintf(p->asker, sizeof(p->asker), "匿名");
        else
            snprintf(p->asker, sizeof(p->asker), "%s%s", zs, suffix);
        return;
    }
    if (x < 30) {
        snprintf(p->asker, sizeof(p->asker), "%c. %s", i1, sur);
    } else if (x < 45) {
        snprintf(p->asker, sizeof(p->asker), "%c %s", i1, sur);
    } else if (x < 55) {
        snprintf(p->asker, sizeof(p->asker), "%c.%c.", i1, i2);
    } else if (x < 67 && !parent && p->gender < 2) {
        snprintf(p->asker, sizeof(p->asker), "%s %s",
                 p->gender == 0 ? "Ms." : "Mr.", sur);
    } else if (x < 80) {
        snprintf(p->asker, sizeof(p->asker), "%s",
                 parent
                     ? syn_pick(r, syn_nick_parent, SYN_COUNT(syn_nick_parent))
                     : syn_pick(r, syn_nick_adult, SYN_COUNT(syn_nick_adult)));
    } else if (x < 90) {
        snprintf(p->asker, sizeof(p->asker), "Anonymous");
    } else {
        snprintf(p->asker, sizeof(p->asker), "reader%04u", syn_below(r, 10000));
    }
}

/* A delay in seconds that looks like a busy volunteer clinic: most answers
 * within a day or three, a tail up to two weeks. */
static long long syn_delay(struct syn_rng *r)
{
    unsigned x = syn_below(r, 100);

    if (x < 40)
        return 1800 + syn_below(r, 12 * 3600);
    if (x < 75)
        return 12 * 3600 + syn_below(r, 3 * 86400);
    return 3 * 86400 + syn_below(r, 11 * 86400);
}

static void syn_plan(const struct syn_gen *g, long i, struct syn_plan *p)
{
    struct syn_rng r = syn_stream(g->seed, (uint64_t)i, SYN_P_PLAN);
    const struct syn_department *d;
    const unsigned char *ctopics;
    unsigned nct;
    char sex;
    unsigned lo = 0, hi = 0;

    memset(p, 0, sizeof(*p));
    /* The id comes first so that question 0's id, used to recognise a seed
     * already loaded, never depends on the rest of the plan. */
    syn_uuid(&r, p->id);
    p->zh = syn_below(&r, 1000) < 30;
    if (p->zh) {
        p->cond = (int)syn_below(&r, SYN_NZH);
        p->dept = syn_zh[p->cond].dept;
        d = &syn_depts[p->dept];
        ctopics = syn_zh[p->cond].topics;
        nct = 2;
        sex = 0;
    } else {
        p->dept = syn_pick_dept(&r, g);
        d = &syn_depts[p->dept];
        p->cond = (int)syn_below(&r, syn_nconds(d));
        const struct syn_condition *c = &d->conds[p->cond];
        ctopics = c->topics;
        nct = 3;
        sex = c->sex;
        lo = c->age_lo;
        hi = c->age_hi;
    }
    if (d->who == SYN_FEMALE)
        sex = 'f';
    p->gender = syn_pick_gender(&r, sex);
    p->band = syn_pick_band(&r, d, lo, hi);
    p->child_age =
        p->band == 0 ? 1 + (int)syn_below(&r, 9) : 10 + (int)syn_below(&r, 8);
    syn_asker(&r, p);
    p->asked = SYN_T0 + (long long)(syn_next(&r) % (uint64_t)(SYN_T1 - SYN_T0));

    /* Topics: the condition's own first, then the department's others,
     * skipping any the database would not let us use. */
    unsigned want = syn_below(&r, 100);
    want = want < 55 ? 1 : want < 87 ? 2 : 3;
    unsigned ndt = syn_ndept_topics(d);
    unsigned start = syn_below(&r, ndt > 0 ? ndt : 1);
    for (unsigned k = 0; k < nct + ndt && (unsigned)p->ntopics < want; k++) {
        int t = k < nct ? (int)ctopics[k] - 1 : (int)((start + k) % ndt);
        if (t < 0 || g->topic_ids[p->dept][t][0] == '\0')
            continue;
        bool dup = false;
        for (int j = 0; j < p->ntopics; j++)
            dup = dup || p->topics[j] == t;
        if (!dup)
            p->topics[p->ntopics++] = t;
    }

    /* Replies: 15% none, 55% one doctor, 30% two; about 6% of answered
     * questions also get an editorial note, ~1.2 replies on average. */
    unsigned x = syn_below(&r, 100);
    int ndoc = x < 15 ? 0 : x < 70 ? 1 : 2;
    int first = (int)syn_below(&r, SYN_DOCTORS);
    long long at = p->asked;
    for (int k = 0; k < ndoc; k++) {
        struct syn_reply *rep = &p->replies[p->nreplies++];
        syn_uuid(&r, rep->id);
        rep->kind = k == 0 ? SYN_DOCTOR_REPLY : SYN_SECOND_OPINION;
        int j = k == 0 ? first
                       : (first + 1 + (int)syn_below(&r, SYN_DOCTORS - 1)) %
                             SYN_DOCTORS;
        rep->doctor = p->dept * SYN_DOCTORS + j;
        at += syn_delay(&r);
        rep->at = at;
    }
    if (ndoc > 0 && syn_below(&r, 1000) < 59) {
        struct syn_reply *rep = &p->replies[p->nreplies++];
        syn_uuid(&r, rep->id);
        rep->kind = SYN_EDITORIAL;
        rep->doctor = -1;
        at += 86400 + syn_below(&r, 29 * 86400);
        rep->at = at;
    }
    p->updated = at;
}

/* Fills what the question's and replies' templates share. */
static void syn_ctx_init(struct syn_ctx *c, struct syn_rng *r,
                         const struct syn_plan *p, char *age, size_t agelen)
{
    const struct syn_department *d = &syn_depts[p->dept];
    bool child = d->who == SYN_CHILD;

    memset(c, 0, sizeof(*c));
    c->clinic = d->clinic;
    c->specialist = d->specialist;
    if (p->zh) {
        const struct syn_zh_condition *z = &syn_zh[p->cond];
        static const char *const kid[] = {"我女兒", "我兒子", "孩子", "孩子"};
        static const char *const kid_of[] = {"我女兒的", "我兒子的", "孩子的",
                                             "孩子的"};
        const struct syn_part *pt =
            &z->parts[syn_below(r, syn_nparts(z->parts, 3))];
        c->title_poss = child ? kid[p->gender] : "";
        c->poss = child ? kid_of[p->gender] : "我的";
        c->part = pt->part;
        c->ing = pt->ing;
        c->lay = z->lay;
        c->medical = z->medical;
        c->advice = z->advice;
        c->red = z->red_flag;
        c->clinic = z->clinic;
        c->dur = syn_pick(r, syn_zh_durations, SYN_COUNT(syn_zh_durations));
        c->trig = syn_pickv(r, z->triggers);
        return;
    }

    const struct syn_condition *k = &d->conds[p->cond];
    const struct syn_part *pt =
        &k->parts[syn_below(r, syn_nparts(k->parts, SYN_MAXV))];
    c->part = pt->part;
    c->ing = pt->ing;
    c->plural = pt->part[strlen(pt->part) - 1] == 's';
    if (child) {
        static const char *const poss[] = {"my daughter's", "my son's",
                                           "my child's", "my child's"};
        static const char *const subj[] = {"she", "he", "they", "they"};
        bool they = p->gender >= 2;
        c->poss = poss[p->gender];
        c->subj = subj[p->gender];
        c->have = they ? "have" : "has";
        c->be = they ? "are" : "is";
        c->observer = "I"; /* the parent writes */
        snprintf(age, agelen, "my %d-year-old", p->child_age);
        c->age = age;
    } else {
        c->poss = "my";
        c->subj = "I";
        c->have = "have";
        c->be = "am";
        c->observer = "I";
        c->age = syn_age_words[p->band];
    }
    c->lay = k->lay;
    c->medical = k->medical;
    c->explain = k->explain;
    c->diff = k->differential;
    c->red = k->red_flag;
    c->dur = k->chronic ? syn_pick(r, syn_chronic, SYN_COUNT(syn_chronic))
                        : syn_pick(r, syn_acute, SYN_COUNT(syn_acute));
    c->trig = syn_pickv(r, k->triggers);
    c->extra = syn_pickv(r, k->extras);
    c->advice = syn_pickv(r, k->advice);
    c->advice2 = syn_pickv(r, k->advice);
    for (int tries = 0; tries < 4 && c->advice2 == c->advice; tries++)
        c->advice2 = syn_pickv(r, k->advice);
    c->test = syn_pickv(r, k->tests);
}

static void syn_question_text(const struct syn_gen *g, long i,
                              const struct syn_plan *p, struct syn_str *title,
                              struct syn_str *body)
{
    struct syn_rng r = syn_stream(g->seed, (uint64_t)i, SYN_P_QTEXT);
    struct syn_ctx c;
    char age[32];

    title->len = body->len = 0;
    title->s[0] = body->s[0] = '\0';
    syn_ctx_init(&c, &r, p, age, sizeof(age));
    if (p->zh) {
        bool child = syn_depts[p->dept].who == SYN_CHILD;
        syn_expand(title, syn_pick(&r, syn_zh_titles, SYN_COUNT(syn_zh_titles)),
                   &c);
        syn_add(body, "醫生您好，");
        syn_expand(body, "這%D以來，%P%p常常%i。", &c);
        if (syn_below(&r, 100) < 70)
            syn_expand(body, "%T特別明顯。", &c);
        if (syn_below(&r, 100) < 50)
            syn_add(body, child ? "孩子平常活動力還不錯。"
                                : "我平常身體還算健康，沒有長期吃藥。");
        syn_add(body, syn_below(&r, 2)
                          ? "請問這是什麼原因？需要做什麼檢查嗎？謝謝！"
                          : "請問需要看哪一科？會自己好嗎？謝謝醫生！");
        return;
    }

    bool child = syn_depts[p->dept].who == SYN_CHILD;
    syn_expand(title, syn_pick(&r, syn_titles, SYN_COUNT(syn_titles)), &c);
    if (title->len > 200) { /* never with today's vocabulary; stay valid */
        title->len = 0;
        title->s[0] = '\0';
        syn_expand(title, "%L", &c);
    }

    if (syn_below(&r, 100) < 60)
        syn_add(body, syn_pick(&r, syn_openings, SYN_COUNT(syn_openings)));
    syn_sentence(body, syn_pick(&r, syn_firsts, SYN_COUNT(syn_firsts)), &c);
    /* 0 to 3 middle sentences, so bodies run 2 to 5 sentences long. */
    if (syn_below(&r, 100) < 55)
        syn_sentence(body, syn_pick(&r, syn_extras, SYN_COUNT(syn_extras)), &c);
    if (syn_below(&r, 100) < 55)
        syn_sentence(
            body, syn_pick(&r, syn_trigger_lines, SYN_COUNT(syn_trigger_lines)),
            &c);
    if (syn_below(&r, 100) < 40)
        syn_sentence(
            body,
            child
                ? syn_pick(&r, syn_context_child, SYN_COUNT(syn_context_child))
                : syn_pick(&r, syn_context_adult, SYN_COUNT(syn_context_adult)),
            &c);
    syn_sentence(body, syn_pick(&r, syn_questions, SYN_COUNT(syn_questions)),
                 &c);
}

static void syn_reply_text(const struct syn_gen *g, long i,
                           const struct syn_plan *p, int k,
                           struct syn_str *body)
{
    /* One stream per reply, so adding a reply never shifts the others. */
    struct syn_rng r =
        syn_stream(g->seed, (uint64_t)i * 4 + (uint64_t)k, SYN_P_RTEXT);
    const struct syn_reply *rep = &p->replies[k];
    struct syn_ctx c;
    char age[32];

    body->len = 0;
    body->s[0] = '\0';
    syn_ctx_init(&c, &r, p, age, sizeof(age));
    if (p->zh) {
        if (rep->kind == SYN_EDITORIAL) {
            syn_expand(body,
                       "編輯補充：%M多半可以透過生活調整改善，但症狀持續或加"
                       "重時，請到%C接受檢查。本回答僅供參考，不能取代當面診"
                       "察。",
                       &c);
            return;
        }
        syn_add(body, rep->kind == SYN_SECOND_OPINION ? "同意前一位醫師的看法。"
                                                      : "您好，");
        syn_expand(body,
                   rep->kind == SYN_SECOND_OPINION ? "%M的可能性最高。"
                                                   : "依您的描述，比較像是%M。",
                   &c);
        syn_expand(body, "建議%V。", &c);
        if (syn_below(&r, 100) < 80)
            syn_expand(body, "若%R，請盡快到%C就診。", &c);
        if (syn_below(&r, 2))
            syn_add(body, "祝早日康復。");
        return;
    }

    if (rep->kind == SYN_EDITORIAL) {
        syn_sentence(body, "Editor's note: %M is %N.", &c);
        syn_sentence(body, "Simple measures help many people: %V.", &c);
        syn_sentence(body, "If the symptoms persist or get worse, see %Z.", &c);
        if (syn_below(&r, 100) < 50)
            syn_sentence(body, "Seek care promptly if %R.", &c);
        syn_sentence(body,
                     "This answer is general information and does not "
                     "replace an in-person consultation.",
                     &c);
        return;
    }
    if (rep->kind == SYN_SECOND_OPINION) {
        syn_sentence(body,
                     syn_below(&r, 2) ? "I agree with my colleague's answer."
                                      : "Let me add a second opinion.",
                     &c);
        syn_sentence(body,
                     "%M remains the most likely explanation, but %F should "
                     "be considered if things do not improve.",
                     &c);
        if (syn_below(&r, 100) < 60)
            syn_sentence(body, "%E would settle the question.", &c);
        syn_sentence(body, "Please also %V.", &c);
        return;
    }
    syn_sentence(body, syn_pick(&r, syn_greets, SYN_COUNT(syn_greets)), &c);
    syn_sentence(body, syn_pick(&r, syn_cores, SYN_COUNT(syn_cores)), &c);
    if (syn_below(&r, 100) < 50)
        syn_sentence(body, syn_pick(&r, syn_diffs, SYN_COUNT(syn_diffs)), &c);
    if (syn_below(&r, 100) < 80)
        syn_sentence(body, syn_pick(&r, syn_advices, SYN_COUNT(syn_advices)),
                     &c);
    if (syn_below(&r, 100) < 60)
        syn_sentence(body, syn_pick(&r, syn_tests, SYN_COUNT(syn_tests)), &c);
    if (syn_below(&r, 100) < 75)
        syn_sentence(body, syn_pick(&r, syn_reds, SYN_COUNT(syn_reds)), &c);
    if (syn_below(&r, 100) < 50)
        syn_sentence(body, syn_pick(&r, syn_closes, SYN_COUNT(syn_closes)), &c);
}

/* ---------------------------------------------------------------------
 * COPY
 * ------------------------------------------------------------------- */

#define SYN_COPY_BUF (1u << 20)

struct syn_copy {
    PGconn *pg;
    char *buf;
    size_t len;
    bool active; /* between COPY ... FROM STDIN and its end */
    bool failed; /* a send failed; the reason is in the connection */
};

static void syn_errmsg(char *errbuf, size_t errlen, const char *what,
                       const char *msg)
{
    snprintf(errbuf, errlen, "%s: %s", what, msg ? msg : "unknown error");
    size_t n = strlen(errbuf);
    while (n > 0 && (errbuf[n - 1] == '\n' || errbuf[n - 1] == ' '))
        errbuf[--n] = '\0';
}

static int syn_exec(PGconn *pg, const char *sql, char *errbuf, size_t errlen)
{
    PGresult *res = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(res);
    int rc = 0;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        syn_errmsg(errbuf, errlen, sql,
                   res ? PQresultErrorMessage(res) : PQerrorMessage(pg));
        rc = -1;
    }
    PQclear(res);
    return rc;
}

static void syn_flush(struct syn_copy *cp)
{
    if (cp->failed || cp->len == 0)
        return;
    if (PQputCopyData(cp->pg, cp->buf, (int)cp->len) != 1)
        cp->failed = true;
    cp->len = 0;
}

static void syn_put(struct syn_copy *cp, const char *s, size_t n)
{
    while (n > 0) {
        if (cp->len == SYN_COPY_BUF)
            syn_flush(cp);
        size_t room = SYN_COPY_BUF - cp->len;
        size_t k = n < room ? n : room;
        memcpy(cp->buf + cp->len, s, k);
        cp->len += k;
        s += k;
        n -= k;
    }
}

static void syn_puts(struct syn_copy *cp, const char *s)
{
    syn_put(cp, s, strlen(s));
}

/* A field in COPY's text format: backslash, tab, newline and carriage
 * return are the characters that would end or corrupt it. */
static void syn_put_field(struct syn_copy *cp, const char *s)
{
    const char *run = s;

    for (; *s != '\0'; s++) {
        const char *esc = NULL;
        switch (*s) {
        case '\\': esc = "\\\\"; break;
        case '\t': esc = "\\t"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        default: continue;
        }
        syn_put(cp, run, (size_t)(s - run));
        syn_puts(cp, esc);
        run = s + 1;
    }
    syn_put(cp, run, (size_t)(s - run));
}

/* days since 1970-01-01 to a civil date (H. Hinnant's algorithm), which
 * is far cheaper than gmtime_r() a few million times. */
static void syn_put_ts(struct syn_copy *cp, long long t)
{
    long long days = t / 86400, sec = t % 86400;
    long long z = days + 719468;
    long long era = z / 146097;
    long long doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long y = yoe + era * 400;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153;
    long long d = doy - (153 * mp + 2) / 5 + 1;
    long long m = mp < 10 ? mp + 3 : mp - 9;
    /* Our times lie between 2014 and 2026, so every field has a fixed
     * width and the digits can be written directly. */
    char out[] = "YYYY-MM-DD hh:mm:ss+00";
    const long long f[6] = {y + (m <= 2),  m,       d, sec / 3600,
                            sec / 60 % 60, sec % 60};
    const int pos[6] = {0, 5, 8, 11, 14, 17};

    for (int k = 0; k < 6; k++) {
        long long v = f[k];
        int w = k == 0 ? 4 : 2;
        for (int j = w - 1; j >= 0; j--) {
            out[pos[k] + j] = (char)('0' + v % 10);
            v /= 10;
        }
    }
    syn_put(cp, out, sizeof(out) - 1);
}

static int syn_copy_begin(struct syn_copy *cp, const char *sql, char *errbuf,
                          size_t errlen)
{
    PGresult *res = PQexec(cp->pg, sql);
    int rc = 0;

    if (PQresultStatus(res) != PGRES_COPY_IN) {
        syn_errmsg(errbuf, errlen, sql,
                   res ? PQresultErrorMessage(res) : PQerrorMessage(cp->pg));
        rc = -1;
    } else {
        cp->active = true;
        cp->failed = false;
        cp->len = 0;
    }
    PQclear(res);
    return rc;
}

/* Collects the COPY's outcome; libpq may return more than one result. */
static int syn_copy_results(struct syn_copy *cp, const char *what, char *errbuf,
                            size_t errlen)
{
    PGresult *res;
    int rc = 0;

    while ((res = PQgetResult(cp->pg)) != NULL) {
        if (rc == 0 && PQresultStatus(res) != PGRES_COMMAND_OK) {
            syn_errmsg(errbuf, errlen, what, PQresultErrorMessage(res));
            rc = -1;
        }
        PQclear(res);
    }
    return rc;
}

static int syn_copy_end(struct syn_copy *cp, const char *what, char *errbuf,
                        size_t errlen)
{
    syn_flush(cp);
    cp->active = false;
    if (cp->failed) {
        syn_errmsg(errbuf, errlen, what, PQerrorMessage(cp->pg));
        /* End the COPY so the connection can roll back. Should the server
         * have failed the COPY itself, its error replaces libpq's. */
        PQputCopyEnd(cp->pg, "client send failed");
        syn_copy_results(cp, what, errbuf, errlen);
        return -1;
    }
    if (PQputCopyEnd(cp->pg, NULL) != 1) {
        syn_errmsg(errbuf, errlen, what, PQerrorMessage(cp->pg));
        syn_copy_results(cp, what, errbuf, 0);
        return -1;
    }
    return syn_copy_results(cp, what, errbuf, errlen);
}

/* ---------------------------------------------------------------------
 * Passes
 * ------------------------------------------------------------------- */

static double syn_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void syn_progress(const char *what, long done, long n, double t0)
{
    fprintf(stderr, "synthetic: %s %ld/%ld (%.1f s)\n", what, done, n,
            syn_now() - t0);
}

enum syn_pass { SYN_QUESTIONS, SYN_QTOPICS, SYN_REPLIES };

/* Load orders. Questions and replies go in asked_at order: most of their
 * indexes lead with a time (asked_at, updated_at, replied_at) behind at
 * most a few distinct prefixes, so rows in time order append to a handful
 * of leaf pages instead of dirtying pages all over indexes larger than
 * shared_buffers. question_topics goes in question-id order, which makes
 * both of its indexes append-only too. Measured on 1,000,000 questions,
 * the random order cost a third more server time.
 *
 * One 64-bit key per question and order: the sort key in the high bits,
 * the question's index in the low SYN_INDEX_BITS. */
#define SYN_INDEX_BITS 34
#define SYN_INDEX_MASK ((UINT64_C(1) << SYN_INDEX_BITS) - 1)
#define SYN_MAX_N ((long)SYN_INDEX_MASK)

static int syn_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

static uint32_t syn_hex32(const char *s)
{
    uint32_t v = 0;

    for (int k = 0; k < 8; k++)
        v = v << 4 | (uint32_t)(s[k] <= '9' ? s[k] - '0' : s[k] - 'a' + 10);
    return v;
}

/* Fills by_time and by_id (n keys each) and sorts them. The id key keeps
 * the uuid's first 30 bits: ties among a million ids are rare and cost
 * nothing but a slightly unsorted neighbour. */
static void syn_orders(const struct syn_gen *g, long n, uint64_t *by_time,
                       uint64_t *by_id)
{
    struct syn_plan p;

    for (long i = 0; i < n; i++) {
        syn_plan(g, i, &p);
        by_time[i] =
            ((uint64_t)(p.asked - SYN_T0) << SYN_INDEX_BITS) | (uint64_t)i;
        by_id[i] =
            (uint64_t)(syn_hex32(p.id) >> 2) << SYN_INDEX_BITS | (uint64_t)i;
    }
    qsort(by_time, (size_t)n, sizeof(*by_time), syn_cmp_u64);
    qsort(by_id, (size_t)n, sizeof(*by_id), syn_cmp_u64);
}

static void syn_row(struct syn_copy *cp, const struct syn_gen *g, long i,
                    enum syn_pass pass, struct syn_str *a, struct syn_str *b,
                    const char *reply_terms)
{
    struct syn_plan p;
    char num[16];

    syn_plan(g, i, &p);
    switch (pass) {
    case SYN_QUESTIONS: {
        int ndoc = 0;
        for (int k = 0; k < p.nreplies; k++)
            ndoc += p.replies[k].kind != SYN_EDITORIAL;
        syn_question_text(g, i, &p, a, b);
        syn_puts(cp, p.id);
        syn_puts(cp, "\t");
        syn_put_field(cp, a->s);
        syn_puts(cp, "\t");
        syn_put_field(cp, b->s);
        syn_puts(cp, p.zh ? "\tzh-TW\t" : "\ten\t");
        syn_put_field(cp, p.asker);
        syn_puts(cp, "\t");
        syn_puts(cp, syn_age_bands[p.band]);
        syn_puts(cp, "\t");
        syn_puts(cp, syn_genders[p.gender]);
        syn_puts(cp, "\t");
        syn_puts(cp, syn_depts[p.dept].slug);
        /* state and reply_count are what mq_recount() will compute; they
         * are written right anyway so the rows are sane on their own. */
        syn_puts(cp, ndoc > 0 ? "\tanswered\t" : "\topen\t");
        snprintf(num, sizeof(num), "%d", p.nreplies);
        syn_puts(cp, num);
        syn_puts(cp, "\t");
        syn_put_ts(cp, p.asked);
        syn_puts(cp, "\t");
        syn_put_ts(cp, p.updated);
        syn_puts(cp, "\t");
        syn_put_field(cp, reply_terms);
        syn_puts(cp, "\n");
        break;
    }
    case SYN_QTOPICS:
        for (int k = 0; k < p.ntopics; k++) {
            syn_puts(cp, p.id);
            syn_puts(cp, "\t");
            syn_puts(cp, g->topic_ids[p.dept][p.topics[k]]);
            syn_puts(cp, "\n");
        }
        break;
    case SYN_REPLIES:
        for (int k = 0; k < p.nreplies; k++) {
            const struct syn_reply *rep = &p.replies[k];
            syn_reply_text(g, i, &p, k, a);
            syn_puts(cp, rep->id);
            syn_puts(cp, "\t");
            syn_puts(cp, p.id);
            if (rep->kind == SYN_EDITORIAL) {
                syn_puts(cp, "\teditorial\t\\N\t");
            } else {
                syn_puts(cp, "\tdoctor\t");
                syn_puts(cp, g->doctor_ids[rep->doctor]);
                syn_puts(cp, "\t");
            }
            syn_put_field(cp, a->s);
            syn_puts(cp, "\t");
            syn_put_ts(cp, rep->at);
            syn_puts(cp, "\t");
            syn_put_ts(cp, rep->at);
            syn_puts(cp, "\n");
        }
        break;
    }
}

/* ---------------------------------------------------------------------
 * Reply terms, computed on a second connection
 *
 * questions.reply_terms is what mq_reply_terms() makes of the question's
 * doctor replies; the per-row trigger that keeps it current is off during
 * the load. Updating a million loaded rows afterwards rewrites the whole
 * table (measured: minutes). Instead the text of each question's doctor
 * replies goes, a batch at a time, to mq_reply_terms_of() on a second
 * connection, and the result is copied in with the question: the second
 * backend computes batch j + 1 while the first one stores batch j, so the
 * work runs on two cores. The second connection only evaluates an
 * immutable function; it writes nothing.
 * ------------------------------------------------------------------- */

#define SYN_TERMS_BATCH 4096

struct syn_terms {
    PGconn *pg;       /* the second connection (the caller's) */
    PGresult *ready;  /* the terms of the batch being copied, in order */
    bool in_flight;   /* a batch was sent and its result not yet read */
    struct syn_str t; /* one question's joined reply text */
};

static const char syn_terms_sql[] =
    "SELECT mq_reply_terms_of(u.t)::text "
    "FROM json_array_elements_text($1::json) WITH ORDINALITY AS u(t, n) "
    "ORDER BY u.n";

/* Sends the reply text of questions order[from..to) to be turned into
 * terms: one JSON array, a string (the doctor replies joined by a space,
 * in reply order, as mq_reply_terms() joins them) or null per question. */
static int syn_terms_send(struct syn_terms *t, const struct syn_gen *g,
                          const uint64_t *order, long from, long to,
                          char *errbuf, size_t errlen)
{
    json_t *arr = json_array();
    char *doc = NULL;
    int rc = -1;

    if (arr == NULL)
        goto nomem;
    for (long k = from; k < to; k++) {
        long i = (long)(order[k] & SYN_INDEX_MASK);
        struct syn_plan p;
        json_t *v;

        syn_plan(g, i, &p);
        t->t.len = 0;
        t->t.s[0] = '\0';
        for (int r = 0; r < p.nreplies; r++) {
            struct syn_str body;
            if (p.replies[r].kind == SYN_EDITORIAL)
                continue;
            syn_reply_text(g, i, &p, r, &body);
            if (t->t.len > 0)
                syn_add(&t->t, " ");
            syn_addn(&t->t, body.s, body.len);
        }
        v = t->t.len > 0 ? json_stringn(t->t.s, t->t.len) : json_null();
        if (v == NULL || json_array_append_new(arr, v) != 0)
            goto nomem;
    }
    doc = json_dumps(arr, JSON_COMPACT);
    if (doc == NULL)
        goto nomem;
    const char *params[] = {doc};
    if (PQsendQueryParams(t->pg, syn_terms_sql, 1, NULL, params, NULL, NULL,
                          0) != 1) {
        syn_errmsg(errbuf, errlen, "reply terms", PQerrorMessage(t->pg));
        goto out;
    }
    t->in_flight = true;
    rc = 0;
    goto out;
nomem:
    snprintf(errbuf, errlen, "out of memory");
out:
    free(doc);
    json_decref(arr);
    return rc;
}

/* Reads the batch in flight into t->ready; it must hold `expect` rows. */
static int syn_terms_wait(struct syn_terms *t, long expect, char *errbuf,
                          size_t errlen)
{
    PGresult *res = PQgetResult(t->pg);
    PGresult *extra;
    int rc = -1;

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        syn_errmsg(errbuf, errlen, "reply terms",
                   res ? PQresultErrorMessage(res) : PQerrorMessage(t->pg));
        PQclear(res);
        res = NULL;
    } else if (PQntuples(res) != expect) {
        snprintf(errbuf, errlen, "reply terms: %d rows for %ld questions",
                 PQntuples(res), expect);
        PQclear(res);
        res = NULL;
    } else {
        rc = 0;
    }
    while ((extra = PQgetResult(t->pg)) != NULL)
        PQclear(extra);
    t->in_flight = false;
    PQclear(t->ready);
    t->ready = res;
    return rc;
}

/* At question k of the load (a batch boundary): makes the batch starting
 * at k ready and sends the one after it. */
static int syn_terms_next(struct syn_terms *t, const struct syn_gen *g,
                          const uint64_t *order, long n, long k, char *errbuf,
                          size_t errlen)
{
    long end = k + SYN_TERMS_BATCH < n ? k + SYN_TERMS_BATCH : n;

    if (k == 0 && syn_terms_send(t, g, order, 0, end, errbuf, errlen) != 0)
        return -1;
    if (syn_terms_wait(t, end - k, errbuf, errlen) != 0)
        return -1;
    if (end < n) {
        long next = end + SYN_TERMS_BATCH < n ? end + SYN_TERMS_BATCH : n;
        if (syn_terms_send(t, g, order, end, next, errbuf, errlen) != 0)
            return -1;
    }
    return 0;
}

/* Leaves the second connection idle, whatever happened. */
static void syn_terms_close(struct syn_terms *t)
{
    PGresult *res;

    if (t->in_flight) {
        PGcancel *c = PQgetCancel(t->pg);
        char buf[256];
        if (c != NULL) {
            PQcancel(c, buf, sizeof(buf));
            PQfreeCancel(c);
        }
        while ((res = PQgetResult(t->pg)) != NULL)
            PQclear(res);
        t->in_flight = false;
    }
    PQclear(t->ready);
    t->ready = NULL;
}

/* One COPY: every question, in `order`, contributes its rows. */
static int syn_pass(struct syn_copy *cp, const struct syn_gen *g, long n,
                    const uint64_t *order, enum syn_pass pass,
                    struct syn_terms *terms, char *errbuf, size_t errlen)
{
    static const char *const sql[] = {
        [SYN_QUESTIONS] =
            "COPY questions (id, title, body, language, asker_name, "
            "asker_age_band, asker_gender, department_slug, state, "
            "reply_count, asked_at, updated_at, reply_terms) FROM STDIN",
        [SYN_QTOPICS] = "COPY question_topics (question_id, topic_id) FROM "
                        "STDIN",
        [SYN_REPLIES] = "COPY replies (id, question_id, kind, doctor_id, "
                        "body, replied_at, updated_at) FROM STDIN",
    };
    static const char *const what[] = {"questions", "question_topics",
                                       "replies"};
    /* The text buffers are large; keep them off the stack. */
    struct syn_str *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
    long step = n >= 1000000 ? 200000 : n >= 100000 ? 50000 : n;
    double t0 = syn_now();
    int rc = -1;

    if (a == NULL || b == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        goto out;
    }
    if (syn_copy_begin(cp, sql[pass], errbuf, errlen) != 0)
        goto out;
    for (long k = 0; k < n && !cp->failed; k++) {
        const char *rt = NULL;
        if (pass == SYN_QUESTIONS) {
            if (k % SYN_TERMS_BATCH == 0 &&
                syn_terms_next(terms, g, order, n, k, errbuf, errlen) != 0)
                goto out;
            rt = PQgetvalue(terms->ready, (int)(k % SYN_TERMS_BATCH), 0);
        }
        syn_row(cp, g, (long)(order[k] & SYN_INDEX_MASK), pass, a, b, rt);
        if ((k + 1) % step == 0 && k + 1 < n)
            syn_progress(what[pass], k + 1, n, t0);
    }
    if (syn_copy_end(cp, what[pass], errbuf, errlen) != 0)
        goto out;
    syn_progress(what[pass], n, n, t0);
    rc = 0;
out:
    free(b);
    free(a);
    return rc;
}

/* ---------------------------------------------------------------------
 * Doctors and topics
 * ------------------------------------------------------------------- */

static int syn_doctors(struct syn_copy *cp, struct syn_gen *g, char *errbuf,
                       size_t errlen)
{
    char names[SYN_NDEPT * SYN_DOCTORS][48];

    if (syn_copy_begin(cp,
                       "COPY doctors (id, name, department_slug, created_at) "
                       "FROM STDIN",
                       errbuf, errlen) != 0)
        return -1;
    for (int k = 0; k < SYN_NDEPT * SYN_DOCTORS; k++) {
        struct syn_rng r = syn_stream(g->seed, (uint64_t)k, SYN_P_DOCTOR);
        syn_uuid(&r, g->doctor_ids[k]);
        /* Redraw a name already given in this run, so that two doctors
         * of one load are always told apart by name. */
        for (bool dup = true; dup;) {
            const char *a =
                syn_pick(&r, syn_syllables, SYN_COUNT(syn_syllables));
            const char *b =
                syn_pick(&r, syn_syllables, SYN_COUNT(syn_syllables));
            snprintf(names[k], sizeof(names[k]), "%s %s-%s",
                     syn_pick(&r, syn_surnames, SYN_COUNT(syn_surnames)), a, b);
            dup = false;
            for (int j = 0; j < k && !dup; j++)
                dup = strcmp(names[j], names[k]) == 0;
        }
        syn_puts(cp, g->doctor_ids[k]);
        syn_puts(cp, "\t");
        syn_put_field(cp, names[k]);
        syn_puts(cp, "\t");
        syn_puts(cp, syn_depts[k / SYN_DOCTORS].slug);
        syn_puts(cp, "\t");
        /* They joined before the first synthetic question. */
        syn_put_ts(cp,
                   SYN_T0 - 86400 - (long long)syn_below(&r, 3 * 365) * 86400);
        syn_puts(cp, "\n");
    }
    return syn_copy_end(cp, "doctors", errbuf, errlen);
}

/* A topic's id depends on its slug only, so every synthetic load on a
 * fresh database gives a topic the same id whatever the seed. */
static void syn_topic_uuid(const char *slug, char out[37])
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (const char *s = slug; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    struct syn_rng r = {h};
    syn_uuid(&r, out);
}

static int syn_topics(PGconn *pg, struct syn_gen *g, char *errbuf,
                      size_t errlen)
{
    for (int d = 0; d < SYN_NDEPT; d++) {
        const struct syn_department *dept = &syn_depts[d];
        for (unsigned t = 0; t < syn_ndept_topics(dept); t++) {
            char id[37];
            syn_topic_uuid(dept->topics[t].slug, id);
            const char *ins[] = {id, dept->topics[t].slug, dept->topics[t].name,
                                 dept->slug};
            PGresult *res = PQexecParams(
                pg,
                "INSERT INTO topics (id, slug, name, department_slug) "
                "VALUES ($1::uuid, $2, $3, $4) ON CONFLICT (slug) DO NOTHING",
                4, NULL, ins, NULL, NULL, 0);
            if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                syn_errmsg(errbuf, errlen, "insert topic",
                           PQresultErrorMessage(res));
                PQclear(res);
                return -1;
            }
            PQclear(res);

            /* The topic may predate us (demo data, an editor): use it only
             * when it is live and filed under the same department. */
            const char *sel[] = {dept->topics[t].slug, dept->slug};
            res = PQexecParams(pg,
                               "SELECT id FROM topics WHERE slug = $1 AND "
                               "department_slug = $2 AND deleted_at IS NULL",
                               2, NULL, sel, NULL, NULL, 0);
            if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                syn_errmsg(errbuf, errlen, "look up topic",
                           PQresultErrorMessage(res));
                PQclear(res);
                return -1;
            }
            snprintf(g->topic_ids[d][t], sizeof(g->topic_ids[d][t]), "%s",
                     PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "");
            if (PQntuples(res) != 1)
                fprintf(stderr,
                        "synthetic: topic %s belongs elsewhere or is "
                        "deleted; questions will not use it\n",
                        dept->topics[t].slug);
            PQclear(res);
        }
    }
    return 0;
}

/* ---------------------------------------------------------------------
 * GIN indexes: set aside during the load, rebuilt after it
 *
 * Each question adds dozens of keys to each of the full-text and term
 * indexes. Inserted row by row they go through the pending list and its
 * merges into a tree far larger than shared_buffers; built once after the
 * load, each is one sort and one bottom-up pass, which measured about a
 * third less server time on 100,000 questions. The B-tree indexes stay:
 * rows arrive in their key order (see the load orders above), so their
 * upkeep is already an append.
 *
 * The definitions are read from the catalog rather than repeated here, so
 * a migration that changes or adds an index needs nothing in this file.
 * Everything happens inside the load's transaction: a failed load rolls
 * the drops back with the rows. The temporary table is the only
 * hand-over between the two statements, and the SQL is constant.
 * ------------------------------------------------------------------- */

static const char syn_gin_save[] =
    "CREATE TEMPORARY TABLE syn_gin ON COMMIT DROP AS "
    "SELECT i.indexrelid::regclass::text AS name, "
    "       pg_get_indexdef(i.indexrelid) AS def "
    "FROM pg_index i "
    "JOIN pg_class c ON c.oid = i.indexrelid "
    "JOIN pg_am a ON a.oid = c.relam "
    "WHERE i.indrelid IN ('questions'::regclass, 'replies'::regclass, "
    "                     'question_topics'::regclass) "
    "  AND a.amname = 'gin' AND NOT i.indisunique";

static const char syn_gin_drop[] = "DO $$DECLARE r record; BEGIN "
                                   "FOR r IN SELECT name FROM syn_gin LOOP "
                                   "EXECUTE 'DROP INDEX ' || r.name; "
                                   "END LOOP; END$$";

static const char syn_gin_build[] =
    "DO $$DECLARE r record; BEGIN "
    "FOR r IN SELECT def FROM syn_gin LOOP EXECUTE r.def; END LOOP; "
    "END$$";

/* A first load into empty tables truncates them inside its transaction:
 * with wal_level = minimal (the local clusters of `make run`, `make test`
 * and `make bench`), PostgreSQL then writes the loaded rows straight to
 * new files instead of through the WAL ("Populating a Database" in its
 * manual), which halves what a million questions write. The tables are
 * empty, so nothing is lost; every table referencing questions does so
 * through a NOT NULL foreign key, so it is empty too and CASCADE only
 * names it. Later loads (another --seed) keep the WAL path. */
static int syn_truncate_if_empty(PGconn *pg, char *errbuf, size_t errlen)
{
    PGresult *res = PQexec(pg, "SELECT NOT EXISTS (SELECT 1 FROM questions) "
                               "AND NOT EXISTS (SELECT 1 FROM replies)");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        syn_errmsg(errbuf, errlen, "check for empty tables",
                   PQresultErrorMessage(res));
        PQclear(res);
        return -1;
    }
    bool empty = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (!empty)
        return 0;
    return syn_exec(pg,
                    "TRUNCATE questions, question_topics, replies, "
                    "question_contacts CASCADE",
                    errbuf, errlen);
}

/* ---------------------------------------------------------------------
 * Entry point
 * ------------------------------------------------------------------- */

int synthetic_generate(PGconn *pg, PGconn *terms_pg, long n, unsigned long seed,
                       char *errbuf, size_t errlen)
{
    struct syn_gen *g = NULL;
    struct syn_terms *terms = NULL;
    uint64_t *by_time = NULL, *by_id = NULL;
    struct syn_copy cp = {.pg = pg};
    struct syn_plan first;
    bool in_tx = false;
    double t0 = syn_now();
    int rc = -1;

    if (n <= 0 || n > SYN_MAX_N) {
        snprintf(errbuf, errlen, "the number of questions must be 1 to %ld",
                 SYN_MAX_N);
        return -1;
    }
    g = calloc(1, sizeof(*g));
    terms = calloc(1, sizeof(*terms));
    cp.buf = malloc(SYN_COPY_BUF);
    if (g == NULL || terms == NULL || cp.buf == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        goto out;
    }
    g->seed = seed;
    terms->pg = terms_pg;
    for (int d = 0; d < SYN_NDEPT; d++)
        g->dept_weight_total += syn_depts[d].weight;

    if (syn_exec(pg, "BEGIN", errbuf, errlen) != 0)
        goto out;
    in_tx = true;
    /* Replica mode silences every trigger for this transaction only: the
     * counter triggers (mq_recount() redoes their work once, below), the
     * foreign-key checks (our rows are consistent by construction) and the
     * change-event triggers. Synthetic rows deliberately get no change
     * events: /changes exists so partners can follow real edits, and a
     * million "question.created" events would bury them. */
    if (syn_exec(pg, "SET LOCAL session_replication_role = replica", errbuf,
                 errlen) != 0)
        goto out;
    /* mq_recount() joins and aggregates every question and reply; with
     * the default 4 MB its hash tables spill to disk. (A larger
     * gin_pending_list_limit was measured too: it saved about 1 s of a
     * million rows and left searches scanning a long pending list until
     * autovacuum, so the default stays.) */
    if (syn_exec(pg, "SET LOCAL work_mem = '256MB'", errbuf, errlen) != 0)
        goto out;

    /* Question 0's id depends on the seed alone: if it is there, this seed
     * was loaded before and loading it again would collide on every id. */
    syn_plan(g, 0, &first);
    {
        const char *params[] = {first.id};
        PGresult *res =
            PQexecParams(pg, "SELECT 1 FROM questions WHERE id = $1::uuid", 1,
                         NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            syn_errmsg(errbuf, errlen, "check for an earlier load",
                       PQresultErrorMessage(res));
            PQclear(res);
            goto out;
        }
        bool loaded = PQntuples(res) > 0;
        PQclear(res);
        if (loaded) {
            fprintf(stderr,
                    "synthetic: seed %lu was already loaded (question %s "
                    "exists); nothing was done\n",
                    seed, first.id);
            rc = 0;
            goto out;
        }
    }

    if (syn_truncate_if_empty(pg, errbuf, errlen) != 0)
        goto out;
    if (syn_exec(pg, syn_gin_save, errbuf, errlen) != 0 ||
        syn_exec(pg, syn_gin_drop, errbuf, errlen) != 0)
        goto out;
    if (syn_doctors(&cp, g, errbuf, errlen) != 0)
        goto out;
    fprintf(stderr, "synthetic: doctors %d\n", SYN_NDEPT * SYN_DOCTORS);
    if (syn_topics(pg, g, errbuf, errlen) != 0)
        goto out;
    /* Contact e-mails are deliberately not generated: question_contacts
     * holds personal data, and none is needed to exercise the API. */
    by_time = malloc((size_t)n * sizeof(*by_time));
    by_id = malloc((size_t)n * sizeof(*by_id));
    if (by_time == NULL || by_id == NULL) {
        snprintf(errbuf, errlen, "out of memory (%ld questions)", n);
        goto out;
    }
    syn_orders(g, n, by_time, by_id);
    if (syn_pass(&cp, g, n, by_time, SYN_QUESTIONS, terms, errbuf, errlen) !=
            0 ||
        syn_pass(&cp, g, n, by_id, SYN_QTOPICS, NULL, errbuf, errlen) != 0 ||
        syn_pass(&cp, g, n, by_time, SYN_REPLIES, NULL, errbuf, errlen) != 0)
        goto out;

    double t1 = syn_now();
    if (syn_exec(pg, "SELECT mq_recount()", errbuf, errlen) != 0)
        goto out;
    fprintf(stderr, "synthetic: mq_recount (%.1f s)\n", syn_now() - t1);
    t1 = syn_now();
    /* After the recount, whose updates would otherwise go through these
     * indexes too. One sort per index; the default 64 MB would spill. */
    if (syn_exec(pg, "SET LOCAL maintenance_work_mem = '1GB'", errbuf,
                 errlen) != 0 ||
        syn_exec(pg, syn_gin_build, errbuf, errlen) != 0)
        goto out;
    fprintf(stderr, "synthetic: full-text indexes (%.1f s)\n", syn_now() - t1);
    t1 = syn_now();
    if (syn_exec(pg,
                 "ANALYZE departments, doctors, topics, questions, "
                 "question_topics, replies",
                 errbuf, errlen) != 0)
        goto out;
    fprintf(stderr, "synthetic: analyze (%.1f s)\n", syn_now() - t1);
    if (syn_exec(pg, "COMMIT", errbuf, errlen) != 0)
        goto out;
    in_tx = false;
    fprintf(stderr, "synthetic: %ld questions loaded with seed %lu in %.1f s\n",
            n, seed, syn_now() - t0);
    rc = 0;
out:
    if (cp.active) {
        PQputCopyEnd(pg, "synthetic load aborted");
        syn_copy_results(&cp, "abort", errbuf, 0);
    }
    if (in_tx) {
        PGresult *res = PQexec(pg, "ROLLBACK");
        PQclear(res);
    }
    if (terms != NULL)
        syn_terms_close(terms);
    free(terms);
    free(by_id);
    free(by_time);
    free(cp.buf);
    free(g);
    return rc;
}
