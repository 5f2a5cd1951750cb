/* seed/synthetic_internal — what the synthetic generator's files share.
 *
 *   prng.h       random streams and picks
 *   vocab.c      the vocabulary (vocabulary.json, embedded) as structs
 *   plan.c       the plan of one question: ids, choices, times
 *   templates.c  the text of a question and of its replies
 *   copy.c       COPY ... FROM STDIN in large buffers
 *   terms.c      reply terms computed on a second connection
 *   synthetic.c  the load itself: orders, passes, doctors, topics, indexes
 */
#ifndef MEDQA_SEED_SYNTHETIC_INTERNAL_H
#define MEDQA_SEED_SYNTHETIC_INTERNAL_H

#include "prng.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------------
 * Vocabulary (vocab.c)
 * ------------------------------------------------------------------- */

#define SYN_MAXPARTS 6   /* body parts per condition */
#define SYN_MAXTOPICS 6  /* topics per department */
#define SYN_NTOPICS 3    /* topics an English condition may name */
#define SYN_ZH_NTOPICS 2 /* topics a zh-TW condition may name */
#define SYN_NBANDS 9     /* age bands: 0-9, 10-19, …, 80-89 (not 80+) */
#define SYN_DOCTORS 20   /* doctors per department */

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
    struct syn_part parts[SYN_MAXPARTS];
    unsigned nparts;
    struct syn_list extras;   /* other symptoms, noun phrases */
    struct syn_list triggers; /* "after drinking coffee" */
    struct syn_list advice;   /* verb phrases after "please" */
    struct syn_list tests;    /* noun phrases with their article */
    /* 1-based indexes into the department's topics (0 pads), the first
     * being the condition's main topic. */
    unsigned char topics[SYN_NTOPICS];
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
    struct syn_topic topics[SYN_MAXTOPICS];
    unsigned ntopics;
    struct syn_condition *conds;
    unsigned nconds;
};

/* The zh-TW set: fewer departments and plainer templates, enough for the
 * language filter and for search over text the English stemmer cannot
 * read. */
struct syn_zh_condition {
    unsigned dept; /* index into syn_vocab.depts */
    const char *lay;
    const char *medical;
    const char *advice;
    const char *red_flag;
    const char *clinic;
    struct syn_part parts[SYN_MAXPARTS];
    unsigned nparts;
    struct syn_list triggers;
    unsigned char topics[SYN_NTOPICS]; /* as in syn_condition */
};

/* The phrase lists of vocabulary.json's "phrases", in its key order. */
struct syn_phrases {
    struct syn_list acute_durations, chronic_durations, zh_durations;
    struct syn_list age_bands, age_words; /* SYN_NBANDS each */
    struct syn_list titles, openings, firsts, extras, trigger_lines;
    struct syn_list context_adult, context_child, questions;
    struct syn_list greets, cores, diffs, advices, tests, reds, closes;
    struct syn_list zh_titles;
    struct syn_list surnames, syllables, nick_adult, nick_parent;
    struct syn_list zh_surnames;
};

/* Every string points into `doc`, which the vocabulary keeps alive. */
struct syn_vocab {
    json_t *doc;
    const char **strings; /* one allocation behind every syn_list */
    struct syn_department *depts;
    unsigned ndepts;
    struct syn_zh_condition *zh;
    unsigned nzh;
    struct syn_phrases ph;
};

/* Parses a vocabulary document (len bytes of JSON) into v, checking every
 * bound the generator relies on (lists not empty, topic and age indexes in
 * range, at most SYN_MAXPARTS parts, …). Returns 0, or -1 with the reason
 * in errbuf; either way the caller frees v with syn__vocab_free(). */
int syn__vocab_parse(const char *json, size_t len, struct syn_vocab *v,
                     char *errbuf, size_t errlen);

void syn__vocab_free(struct syn_vocab *v);

/* ---------------------------------------------------------------------
 * The plan of one question (plan.c): everything except its text
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
    int cond; /* into depts[dept].conds, or into the vocabulary's zh */
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

/* One load's state: what every pass reads. */
struct syn_gen {
    uint64_t seed;
    const struct syn_vocab *v;
    char (*doctor_ids)[37]; /* ndepts * SYN_DOCTORS */
    /* Topic ids as the database knows them, ndepts rows; "" when the slug
     * is taken by another department's or a deleted topic, which
     * questions then skip. */
    char (*topic_ids)[SYN_MAXTOPICS][37];
    unsigned dept_weight_total;
};

extern const char *const syn__genders[4];

/* Fills p with question i's plan; it draws from stream (seed, i, PLAN). */
void syn__plan(const struct syn_gen *g, long i, struct syn_plan *p);

/* Question i's label for an evaluation (synthetic.c): "<id>\t<key>\t
 * <medical name>", the key being "<department slug>/<lay name>" of its
 * English condition or "zh/<lay name>" of its zh-TW one. */
void syn__label(const struct syn_gen *g, long i, char *out, size_t outlen);

/* ---------------------------------------------------------------------
 * Text (templates.c)
 * ------------------------------------------------------------------- */

/* Bodies stay far below this size: the longest template set composes
 * about 1 KiB, so a cut at the end can only happen after a vocabulary
 * edit, and then it shows in review instead of writing past the end. */
struct syn_str {
    char s[8192];
    size_t len;
};

void syn__addn(struct syn_str *b, const char *s, size_t n);
void syn__add(struct syn_str *b, const char *s);

/* Question i's title and body, from stream (seed, i, QTEXT). */
void syn__question_text(const struct syn_gen *g, long i,
                        const struct syn_plan *p, struct syn_str *title,
                        struct syn_str *body);

/* The body of question i's reply k, from stream (seed, 4i + k, RTEXT). */
void syn__reply_text(const struct syn_gen *g, long i, const struct syn_plan *p,
                     int k, struct syn_str *body);

/* ---------------------------------------------------------------------
 * COPY (copy.c)
 * ------------------------------------------------------------------- */

#define SYN_COPY_BUF (1u << 20)

struct syn_copy {
    PGconn *pg;
    char *buf; /* SYN_COPY_BUF bytes, the caller's */
    size_t len;
    bool active; /* between COPY ... FROM STDIN and its end */
    bool failed; /* a send failed; the reason is in the connection */
};

/* "<what>: <msg>" into errbuf, without libpq's trailing newline. */
void syn__errmsg(char *errbuf, size_t errlen, const char *what,
                 const char *msg);

/* Runs one constant statement; -1 with the server's reason on failure. */
int syn__exec(PGconn *pg, const char *sql, char *errbuf, size_t errlen);

/* Starts `COPY ... FROM STDIN` (sql) on cp->pg. */
int syn__copy_begin(struct syn_copy *cp, const char *sql, char *errbuf,
                    size_t errlen);

/* Appends raw bytes / a string; the buffer goes to the server when full.
 * A failed send sets cp->failed and later puts do nothing. */
void syn__put(struct syn_copy *cp, const char *s, size_t n);
void syn__puts(struct syn_copy *cp, const char *s);

/* Appends s as one field of COPY's text format (escaped). */
void syn__put_field(struct syn_copy *cp, const char *s);

/* Appends a Unix time as "YYYY-MM-DD hh:mm:ss+00" (years 1000–9999). */
void syn__put_ts(struct syn_copy *cp, long long t);

/* Ends the COPY and collects its outcome, naming `what` in an error. */
int syn__copy_end(struct syn_copy *cp, const char *what, char *errbuf,
                  size_t errlen);

/* Abandons a COPY in progress (after an error elsewhere), so that the
 * connection can roll back. */
void syn__copy_abort(struct syn_copy *cp);

/* ---------------------------------------------------------------------
 * Reply terms on a second connection (terms.c)
 * ------------------------------------------------------------------- */

/* Questions per round trip to the second connection. */
#define SYN_TERMS_BATCH 4096

/* One 64-bit key per question and load order: the sort key in the high
 * bits, the question's index in the low SYN_INDEX_BITS. */
#define SYN_INDEX_BITS 34
#define SYN_INDEX_MASK ((UINT64_C(1) << SYN_INDEX_BITS) - 1)

struct syn_terms {
    PGconn *pg;       /* the second connection (the caller's) */
    PGresult *ready;  /* the terms of the batch being copied, in order */
    bool in_flight;   /* a batch was sent and its result not yet read */
    struct syn_str t; /* one question's joined reply text */
};

/* At question k of the load in `order` (a multiple of SYN_TERMS_BATCH):
 * makes the batch starting at k ready in t->ready (row k % batch is
 * question order[k]'s terms) and sends the one after it. */
int syn__terms_next(struct syn_terms *t, const struct syn_gen *g,
                    const uint64_t *order, long n, long k, char *errbuf,
                    size_t errlen);

/* Leaves the second connection idle, whatever happened. */
void syn__terms_close(struct syn_terms *t);

#endif
