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
 * every counter and state once at the end instead.
 *
 * The words are data (vocabulary.json, embedded at build time); this file
 * is the load itself, and synthetic_internal.h lists the files that do
 * the rest. */
#include "synthetic_internal.h"

#include "medqa/assets.h"
#include "medqa/base.h"
#include "medqa/synthetic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------
 * Passes
 * ------------------------------------------------------------------- */

/* Seconds on the monotonic clock, for progress lines. */
static double syn_now(void)
{
    return (double)base_now_us() / 1e6;
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
 * the random order cost a third more server time. (Keys: SYN_INDEX_BITS
 * in synthetic_internal.h.) */
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
        syn__plan(g, i, &p);
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

    syn__plan(g, i, &p);
    switch (pass) {
    case SYN_QUESTIONS: {
        int ndoc = 0;
        for (int k = 0; k < p.nreplies; k++)
            ndoc += p.replies[k].kind != SYN_EDITORIAL;
        syn__question_text(g, i, &p, a, b);
        syn__puts(cp, p.id);
        syn__puts(cp, "\t");
        syn__put_field(cp, a->s);
        syn__puts(cp, "\t");
        syn__put_field(cp, b->s);
        syn__puts(cp, p.zh ? "\tzh-TW\t" : "\ten\t");
        syn__put_field(cp, p.asker);
        syn__puts(cp, "\t");
        syn__puts(cp, g->v->ph.age_bands.v[p.band]);
        syn__puts(cp, "\t");
        syn__puts(cp, syn__genders[p.gender]);
        syn__puts(cp, "\t");
        syn__puts(cp, g->v->depts[p.dept].slug);
        /* state and reply_count are what mq_recount() will compute; they
         * are written right anyway so the rows are sane on their own. */
        syn__puts(cp, ndoc > 0 ? "\tanswered\t" : "\topen\t");
        snprintf(num, sizeof(num), "%d", p.nreplies);
        syn__puts(cp, num);
        syn__puts(cp, "\t");
        syn__put_ts(cp, p.asked);
        syn__puts(cp, "\t");
        syn__put_ts(cp, p.updated);
        syn__puts(cp, "\t");
        syn__put_field(cp, reply_terms);
        syn__puts(cp, "\n");
        break;
    }
    case SYN_QTOPICS:
        for (int k = 0; k < p.ntopics; k++) {
            syn__puts(cp, p.id);
            syn__puts(cp, "\t");
            syn__puts(cp, g->topic_ids[p.dept][p.topics[k]]);
            syn__puts(cp, "\n");
        }
        break;
    case SYN_REPLIES:
        for (int k = 0; k < p.nreplies; k++) {
            const struct syn_reply *rep = &p.replies[k];
            syn__reply_text(g, i, &p, k, a);
            syn__puts(cp, rep->id);
            syn__puts(cp, "\t");
            syn__puts(cp, p.id);
            if (rep->kind == SYN_EDITORIAL) {
                syn__puts(cp, "\teditorial\t\\N\t");
            } else {
                syn__puts(cp, "\tdoctor\t");
                syn__puts(cp, g->doctor_ids[rep->doctor]);
                syn__puts(cp, "\t");
            }
            syn__put_field(cp, a->s);
            syn__puts(cp, "\t");
            syn__put_ts(cp, rep->at);
            syn__puts(cp, "\t");
            syn__put_ts(cp, rep->at);
            syn__puts(cp, "\n");
        }
        break;
    }
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
    if (syn__copy_begin(cp, sql[pass], errbuf, errlen) != 0)
        goto out;
    for (long k = 0; k < n && !cp->failed; k++) {
        const char *rt = NULL;
        if (pass == SYN_QUESTIONS) {
            if (k % SYN_TERMS_BATCH == 0 &&
                syn__terms_next(terms, g, order, n, k, errbuf, errlen) != 0)
                goto out;
            rt = PQgetvalue(terms->ready, (int)(k % SYN_TERMS_BATCH), 0);
        }
        syn_row(cp, g, (long)(order[k] & SYN_INDEX_MASK), pass, a, b, rt);
        if ((k + 1) % step == 0 && k + 1 < n)
            syn_progress(what[pass], k + 1, n, t0);
    }
    if (syn__copy_end(cp, what[pass], errbuf, errlen) != 0)
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
    const struct syn_phrases *ph = &g->v->ph;
    int ndoctors = (int)g->v->ndepts * SYN_DOCTORS;
    char(*names)[48] = calloc((size_t)ndoctors, sizeof(*names));
    int rc = -1;

    if (names == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return -1;
    }
    if (syn__copy_begin(cp,
                        "COPY doctors (id, name, department_slug, created_at) "
                        "FROM STDIN",
                        errbuf, errlen) != 0)
        goto out;
    for (int k = 0; k < ndoctors; k++) {
        struct syn_rng r = syn_stream(g->seed, (uint64_t)k, SYN_P_DOCTOR);
        syn_uuid(&r, g->doctor_ids[k]);
        /* Redraw a name already given in this run, so that two doctors
         * of one load are always told apart by name. */
        for (bool dup = true; dup;) {
            const char *a = syn_pick(&r, &ph->syllables);
            const char *b = syn_pick(&r, &ph->syllables);
            snprintf(names[k], sizeof(names[k]), "%s %s-%s",
                     syn_pick(&r, &ph->surnames), a, b);
            dup = false;
            for (int j = 0; j < k && !dup; j++)
                dup = strcmp(names[j], names[k]) == 0;
        }
        syn__puts(cp, g->doctor_ids[k]);
        syn__puts(cp, "\t");
        syn__put_field(cp, names[k]);
        syn__puts(cp, "\t");
        syn__puts(cp, g->v->depts[k / SYN_DOCTORS].slug);
        syn__puts(cp, "\t");
        /* They joined before the first synthetic question. */
        syn__put_ts(cp,
                    SYN_T0 - 86400 - (long long)syn_below(&r, 3 * 365) * 86400);
        syn__puts(cp, "\n");
    }
    rc = syn__copy_end(cp, "doctors", errbuf, errlen);
out:
    free(names);
    return rc;
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
    for (unsigned d = 0; d < g->v->ndepts; d++) {
        const struct syn_department *dept = &g->v->depts[d];
        for (unsigned t = 0; t < dept->ntopics; t++) {
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
                syn__errmsg(errbuf, errlen, "insert topic",
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
                syn__errmsg(errbuf, errlen, "look up topic",
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
        syn__errmsg(errbuf, errlen, "check for empty tables",
                    PQresultErrorMessage(res));
        PQclear(res);
        return -1;
    }
    bool empty = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (!empty)
        return 0;
    return syn__exec(pg,
                     "TRUNCATE questions, question_topics, replies, "
                     "question_contacts CASCADE",
                     errbuf, errlen);
}

/* ---------------------------------------------------------------------
 * Labels
 * ------------------------------------------------------------------- */

void syn__label(const struct syn_gen *g, long i, char *out, size_t outlen)
{
    const struct syn_vocab *v = g->v;
    struct syn_plan p;

    syn__plan(g, i, &p);
    if (p.zh)
        snprintf(out, outlen, "%s\tzh/%s\t%s", p.id, v->zh[p.cond].lay,
                 v->zh[p.cond].medical);
    else
        snprintf(out, outlen, "%s\t%s/%s\t%s", p.id, v->depts[p.dept].slug,
                 v->depts[p.dept].conds[p.cond].lay,
                 v->depts[p.dept].conds[p.cond].medical);
}

/* Checks the number of questions and parses the embedded vocabulary: the
 * first step of both entry points. On failure `vocab` is still safe to
 * hand to syn__vocab_free(). */
static int syn__prepare(long n, struct syn_vocab *vocab, char *errbuf,
                        size_t errlen)
{
    memset(vocab, 0, sizeof(*vocab));
    if (n <= 0 || n > SYN_MAX_N) {
        snprintf(errbuf, errlen, "the number of questions must be 1 to %ld",
                 SYN_MAX_N);
        return -1;
    }
    return syn__vocab_parse((const char *)assets_vocabulary_json.data,
                            assets_vocabulary_json.len, vocab, errbuf, errlen);
}

int synthetic_labels(FILE *out, long n, unsigned long seed, char *errbuf,
                     size_t errlen)
{
    struct syn_vocab vocab;
    struct syn_gen g = {.seed = seed, .v = &vocab};
    char line[512];
    int rc = -1;

    if (syn__prepare(n, &vocab, errbuf, errlen) != 0)
        goto out;
    /* The condition is drawn before the topics, and a topic the database
     * lacks only skips a slot without a draw, so the plan's id and
     * condition need no topic ids: none are known here. */
    g.topic_ids = calloc(vocab.ndepts, sizeof(*g.topic_ids));
    if (g.topic_ids == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        goto out;
    }
    for (unsigned d = 0; d < vocab.ndepts; d++)
        g.dept_weight_total += vocab.depts[d].weight;
    for (long i = 0; i < n; i++) {
        syn__label(&g, i, line, sizeof(line));
        if (fprintf(out, "%s\n", line) < 0) {
            snprintf(errbuf, errlen, "cannot write the labels");
            goto out;
        }
    }
    if (fflush(out) != 0) {
        snprintf(errbuf, errlen, "cannot write the labels");
        goto out;
    }
    rc = 0;
out:
    free(g.topic_ids);
    syn__vocab_free(&vocab);
    return rc;
}

/* ---------------------------------------------------------------------
 * Entry point
 * ------------------------------------------------------------------- */

int synthetic_generate(PGconn *pg, PGconn *terms_pg, long n, unsigned long seed,
                       char *errbuf, size_t errlen)
{
    struct syn_vocab vocab;
    struct syn_gen *g = NULL;
    struct syn_terms *terms = NULL;
    uint64_t *by_time = NULL, *by_id = NULL;
    struct syn_copy cp = {.pg = pg};
    struct syn_plan first;
    bool in_tx = false;
    double t0 = syn_now();
    int rc = -1;

    if (syn__prepare(n, &vocab, errbuf, errlen) != 0)
        goto out;
    g = calloc(1, sizeof(*g));
    terms = calloc(1, sizeof(*terms));
    cp.buf = malloc(SYN_COPY_BUF);
    if (g != NULL) {
        g->doctor_ids =
            calloc(vocab.ndepts * SYN_DOCTORS, sizeof(*g->doctor_ids));
        g->topic_ids = calloc(vocab.ndepts, sizeof(*g->topic_ids));
    }
    if (g == NULL || terms == NULL || cp.buf == NULL || g->doctor_ids == NULL ||
        g->topic_ids == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        goto out;
    }
    g->seed = seed;
    g->v = &vocab;
    terms->pg = terms_pg;
    for (unsigned d = 0; d < vocab.ndepts; d++)
        g->dept_weight_total += vocab.depts[d].weight;

    if (syn__exec(pg, "BEGIN", errbuf, errlen) != 0)
        goto out;
    in_tx = true;
    /* Replica mode silences every trigger for this transaction only: the
     * counter triggers (mq_recount() redoes their work once, below), the
     * foreign-key checks (our rows are consistent by construction) and the
     * change-event triggers. Synthetic rows deliberately get no change
     * events: /changes exists so partners can follow real edits, and a
     * million "question.created" events would bury them. */
    if (syn__exec(pg, "SET LOCAL session_replication_role = replica", errbuf,
                  errlen) != 0)
        goto out;
    /* mq_recount() joins and aggregates every question and reply; with
     * the default 4 MB its hash tables spill to disk. (A larger
     * gin_pending_list_limit was measured too: it saved about 1 s of a
     * million rows and left searches scanning a long pending list until
     * autovacuum, so the default stays.) */
    if (syn__exec(pg, "SET LOCAL work_mem = '256MB'", errbuf, errlen) != 0)
        goto out;

    /* Question 0's id depends on the seed alone: if it is there, this seed
     * was loaded before and loading it again would collide on every id. */
    syn__plan(g, 0, &first);
    {
        const char *params[] = {first.id};
        PGresult *res =
            PQexecParams(pg, "SELECT 1 FROM questions WHERE id = $1::uuid", 1,
                         NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            syn__errmsg(errbuf, errlen, "check for an earlier load",
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
    if (syn__exec(pg, syn_gin_save, errbuf, errlen) != 0 ||
        syn__exec(pg, syn_gin_drop, errbuf, errlen) != 0)
        goto out;
    if (syn_doctors(&cp, g, errbuf, errlen) != 0)
        goto out;
    fprintf(stderr, "synthetic: doctors %u\n", vocab.ndepts * SYN_DOCTORS);
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
    if (syn__exec(pg, "SELECT mq_recount()", errbuf, errlen) != 0)
        goto out;
    fprintf(stderr, "synthetic: mq_recount (%.1f s)\n", syn_now() - t1);
    t1 = syn_now();
    /* After the recount, whose updates would otherwise go through these
     * indexes too. One sort per index; the default 64 MB would spill. */
    if (syn__exec(pg, "SET LOCAL maintenance_work_mem = '1GB'", errbuf,
                  errlen) != 0 ||
        syn__exec(pg, syn_gin_build, errbuf, errlen) != 0)
        goto out;
    fprintf(stderr, "synthetic: full-text indexes (%.1f s)\n", syn_now() - t1);
    t1 = syn_now();
    if (syn__exec(pg,
                  "ANALYZE departments, doctors, topics, questions, "
                  "question_topics, replies",
                  errbuf, errlen) != 0)
        goto out;
    fprintf(stderr, "synthetic: analyze (%.1f s)\n", syn_now() - t1);
    if (syn__exec(pg, "COMMIT", errbuf, errlen) != 0)
        goto out;
    in_tx = false;
    fprintf(stderr, "synthetic: %ld questions loaded with seed %lu in %.1f s\n",
            n, seed, syn_now() - t0);
    rc = 0;
out:
    syn__copy_abort(&cp);
    if (in_tx) {
        PGresult *res = PQexec(pg, "ROLLBACK");
        PQclear(res);
    }
    if (terms != NULL)
        syn__terms_close(terms);
    free(terms);
    free(by_id);
    free(by_time);
    free(cp.buf);
    if (g != NULL) {
        free(g->topic_ids);
        free(g->doctor_ids);
    }
    free(g);
    syn__vocab_free(&vocab);
    return rc;
}
