/* handlers/questions — /questions and /questions/{id}.
 *
 * Reads are one prepared round trip each (two for a list page or
 * include=replies); PostgreSQL returns plain columns and represent.c
 * writes the JSON. Writes
 * call one PL/pgSQL function each, so every write, its topics and its
 * change event commit together or not at all. */
#include "common.h"
#include "handlers_internal.h"
#include "page.h"
#include "represent.h"

#include "medqa/auth.h"
#include "medqa/base.h"
#include "medqa/config.h"
#include "medqa/contacts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Search: mq_search_query() (in sql/) matches every English word of q
 * as itself or its canonical synonym, and Chinese by bigrams; relevance
 * is cover density over title (A), body (B), synonyms (C) and the doctor's
 * reply (D), normalised by document length (flag 1). With sort=relevance
 * a question also matches through its doctors' replies alone: they name
 * the condition ("gout", 失眠) in words the patient did not use.
 *
 * With sort=relevance at most Q_SEARCH_CAP matches are ranked: a common
 * word matches tens of thousands of questions at 1,000,000, and ranking
 * them all (a heap fetch, two tsvectors and ts_rank_cd each) took
 * seconds. They are taken in two tiers, in index order within each:
 * first the questions whose title matches the whole query (the GIN
 * index questions_title_terms, migrations/0020), then any match. Taking
 * only the first matches in index order ranked the oldest questions
 * and never saw the rest: with 100,000 synthetic questions before the
 * eval set, "bladder infection" ranked 500 pediatric fever questions
 * and missed the two titled with it (tests/eval/README.md). Title
 * matches are what ts_rank_cd puts first (weight A), so ranking them
 * all, up to the cap, is where the cap costs least.
 * The tsquery and the Chinese highlight pattern are computed once per
 * search in `s`, not once per row: the statement is prepared, so its
 * generic plan cannot fold them, and OFFSET 0 keeps the planner from
 * pulling `s` up into every row (which cost ~0.1 ms a row).
 * Results carry "highlight" (mq_search_json(), in sql/). */
#define Q_SEARCH_CAP "500"
#define Q_SEARCH_HEAD                                                          \
    "SELECT mq_search_json(r.q, $1, r.pat, r.tq), r.rank::text, "              \
    "(r.q).id::text FROM (SELECT m.q, s.pat, s.tq, "                           \
    "ts_rank_cd('{0.1, 0.3, 0.5, 1.0}', "                                      \
    "(m.q).related_terms || (m.q).reply_terms, s.tq, 1)::real AS rank "        \
    "FROM (SELECT mq_search_query($%d) AS tq, mq_cjk_pattern($%d) AS pat "     \
    "OFFSET 0) AS s CROSS JOIN LATERAL (SELECT q FROM (SELECT DISTINCT "       \
    "u.id FROM (SELECT t.id FROM ((SELECT q.id FROM questions q "              \
    "WHERE q.deleted_at IS NULL AND mq_terms(q.title, NULL) @@ s.tq"
/* Between the two tiers of candidates (Q_SEARCH_HEAD), after the filters
 * of the first; the filters follow again. */
#define Q_SEARCH_TIER                                                          \
    " LIMIT " Q_SEARCH_CAP ") UNION ALL (SELECT q.id FROM questions q "        \
    "WHERE q.deleted_at IS NULL "                                              \
    "AND (q.related_terms @@ s.tq OR q.reply_terms @@ s.tq)"
#define Q_SEARCH_TAIL                                                          \
    " LIMIT " Q_SEARCH_CAP ")) AS t LIMIT " Q_SEARCH_CAP ") AS u) AS c "       \
    "JOIN questions q ON q.id = c.id) AS m) AS r WHERE true"

#define QG_RELATED                                                             \
    "CASE WHEN q.deleted_at IS NULL THEN "                                     \
    "mq_related_stored(q.id, 4, $1)::text END"
/* Without related, $1 still needs a type. */
#define QG_NO_RELATED "nullif($1::text, $1::text)"
#define QG_VISIBLE " AND q.deleted_at IS NULL"
/* Editors see hidden questions, never an erased one's tombstone. */
#define QG_KEPT " AND q.erased_at IS NULL"
#define QG_TOPICS                                                              \
    " LEFT JOIN LATERAL (SELECT t.slug, t.name FROM question_topics qt "       \
    "JOIN topics t ON t.id = qt.topic_id WHERE qt.question_id = q.id "         \
    "AND t.deleted_at IS NULL) t ON true"
#define QG(name, related, visible)                                             \
    {                                                                          \
        name,                                                                  \
            "SELECT " REP_Q_COLS ", t.slug, t.name, " REP_TS(                  \
                "q.deleted_at") ", q.rel FROM (SELECT q.*, " related           \
                                " AS rel FROM questions q "                    \
                                "WHERE q.id = $2::uuid" visible                \
                                " OFFSET 0) q" REP_Q_JOINS QG_TOPICS           \
                                " ORDER BY t.name, t.slug",                    \
            2                                                                  \
    }
/* The columns after REP_Q_COLS. */
enum { QG_TOPIC = REP_Q_NCOLS, QG_DELETED = REP_Q_NCOLS + 2, QG_REL };

enum { QG_WITH_RELATED = 1, QG_EDITOR = 2 };

/* Indexed by the QG_* flags; questions_statements[QG_COUNT] on are the
 * writes. */
#define QG_COUNT 4

const struct db_statement questions_statements[] = {
    QG("question_get", QG_NO_RELATED, QG_VISIBLE),
    QG("question_get_l", QG_RELATED, QG_VISIBLE),
    QG("question_get_e", QG_NO_RELATED, QG_KEPT),
    QG("question_get_le", QG_RELATED, QG_KEPT),
    /* Each write's audit record is the statement's last column (see
     * sql/privacy.sql): request id and key id are its last parameters. */
    /* The contact e-mail never reaches SQL in the clear: the body goes
     * in without it, and mq_contact_put stores what contacts_seal()
     * sealed ($5/$6, $7/$8). */
    {"question_create",
     "SELECT j::text, j->>'id', mq_audit($3, $4, 'question.create', "
     "j->>'id', mq__audit_fields($1::jsonb), NULL), "
     "mq_contact_put((j->>'id')::uuid, true, $5, $6) "
     "FROM mq_create_question($1::jsonb - 'contact_email', $2) AS j",
     6},
    {"question_patch",
     "SELECT j::text, mq_audit($5, $6, 'question.patch', $1::text, "
     "mq__audit_fields($2::jsonb), NULL), "
     "mq_contact_put($1::uuid, $2::jsonb ? 'contact_email', $7, $8) "
     "FROM mq_patch_question($1::uuid, $2::jsonb - 'contact_email', "
     "$3::text[], $4) AS j",
     8},
    {"question_delete",
     "SELECT mq_audit($2, $3, 'question.hide', $1::text, '{}', $4) "
     "FROM mq_delete_question($1::uuid) AS d",
     4},
    /* The representation a PATCH's If-Match is checked against, locked
     * as mq_patch_question locks it (hx_reply_patch). */
    {"question_current",
     "SELECT mq_question_json(q, $1)::text FROM questions q "
     "WHERE q.id = $2::uuid AND q.deleted_at IS NULL FOR UPDATE",
     2},
    /* include=replies: the question's visible replies, as the page shows
     * them. */
    {"question_replies",
     "SELECT " REP_R_COLS " FROM replies r" REP_R_JOINS
     " WHERE r.question_id = $1::uuid AND r.deleted_at IS NULL "
     "ORDER BY r.replied_at, r.id",
     1},
    /* The visible topics of a list page's questions ($1, a uuid[]), by
     * question, then as each question shows them. */
    {"question_topics_of",
     "SELECT qt.question_id, t.slug, t.name FROM question_topics qt "
     "JOIN topics t ON t.id = qt.topic_id WHERE qt.question_id = "
     "ANY ($1::uuid[]) AND t.deleted_at IS NULL "
     "ORDER BY qt.question_id, t.name, t.slug",
     1},
};
const size_t questions_nstatements = ARRAY_SIZE(questions_statements);

/* Writes ,"replies":[…] for include=replies of question `id`, each
 * completed. Returns REPLY_NONE, REPLY_QUEUED after answering a failure,
 * or -1. */
static int questions__replies_or_reply(struct request *r, struct rep_buf *b,
                                       const char *id)
{
    const char *params[1] = {id};
    PGresult *res = NULL;
    int rc = -1;

    if (hx_query_or_reply(r, &questions_statements[QG_COUNT + 4], params, true,
                          &res) == REPLY_QUEUED)
        return REPLY_QUEUED;
    rep_buf_lit(b, ",\"replies\":[");
    for (int i = 0; i < PQntuples(res); i++) {
        if (i > 0)
            rep_buf_lit(b, ",");
        if (rep_reply(b, r->cfg, res, i, 0) != 0)
            goto out;
    }
    rep_buf_lit(b, "]");
    rc = REPLY_NONE;
out:
    PQclear(res);
    return rc;
}

/* Appends ,"related": with the JSON text PostgreSQL gave
 * (mq_related_stored, a stored result as it was computed), as it is:
 * parsing ~4 KB into jansson only to print it again was most of medqa's
 * CPU on a question page (perf: jansson and malloc ~55% of its samples). */
static void questions__related(struct rep_buf *b, const PGresult *res)
{
    if (PQgetisnull(res, 0, QG_REL))
        return;
    rep_buf_lit(b, ",\"related\":");
    rep_buf_raw(b, PQgetvalue(res, 0, QG_REL),
                (size_t)PQgetlength(res, 0, QG_REL));
}

/* Answers 200 with a question_get result: the question (represent.h)
 * with its topics, and when they were asked for its replies and its
 * related content and, for an editor, when it was hidden. Frees res. */
static int questions__reply_page(struct request *r, PGresult *res,
                                 bool with_replies)
{
    struct rep_buf b;
    char *body = NULL;
    size_t len = 0;
    int rc = -1;
    int ntopics = 0;

    rep_buf_init(&b, with_replies ? 4096 : 1536);
    if (rep_question_head(&b, res, 0, 0) != 0)
        goto out;
    for (int i = 0; i < PQntuples(res); i++)
        if (!PQgetisnull(res, i, QG_TOPIC))
            rep_topic(&b, ntopics++ == 0, PQgetvalue(res, i, QG_TOPIC),
                      PQgetvalue(res, i, QG_TOPIC + 1));
    if (rep_question_tail(&b, r->cfg, res, 0, 0, r->cfg->public_base_url) != 0)
        goto out;
    if (with_replies) {
        rc = questions__replies_or_reply(r, &b, PQgetvalue(res, 0, 0));
        if (rc != REPLY_NONE)
            goto out;
        rc = -1;
    }
    questions__related(&b, res);
    if (!PQgetisnull(res, 0, QG_DELETED)) {
        char ts[REP_TS_MAX];
        int n = rep_ts(PQgetvalue(res, 0, QG_DELETED), false, ts);
        if (n < 0)
            goto out;
        rep_buf_lit(&b, ",\"deleted_at\":");
        rep_buf_str(&b, ts, (size_t)n);
        r->private_data = true;
    }
    rep_buf_lit(&b, "}");
    body = rep_buf_take(&b, &len);
    if (body != NULL)
        rc = request_reply_owned(r, 200, "application/json", body, len);
out:
    rep_buf_free(&b);
    PQclear(res);
    return rc;
}

int handle_get_question(struct request *r)
{
    const json_t *include = request_param(r, "include");
    bool with_replies = false;
    bool with_related = false;
    bool editor = (r->role & AUTH_ROLE_EDITOR) != 0;
    PGresult *res = NULL;
    size_t i;
    const json_t *v;

    /* content (issue 14): one address, two representations; caches keep
     * them apart by Accept. */
    if (request_add_header(r, "Vary", "Accept") != 0)
        return -1;
    if (jsonld_wanted(r))
        return jsonld_reply_question(r);
    json_array_foreach(include, i, v) {
        if (strcmp(json_string_value(v), "replies") == 0)
            with_replies = true;
        else if (strcmp(json_string_value(v), "related") == 0)
            with_related = true;
    }
    const char *params[2] = {r->cfg->public_base_url,
                             request_param_str(r, "id")};
    int which = (with_related ? QG_WITH_RELATED : 0) | (editor ? QG_EDITOR : 0);
    if (hx_query_or_reply(r, &questions_statements[which], params, true,
                          &res) == REPLY_QUEUED)
        return REPLY_QUEUED;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return hx_reply_missing(r, false, params[1],
                                "No question with that id.");
    }
    return questions__reply_page(r, res, with_replies);
}

/* The four orders of /questions, by the `sort` parameter; a cursor
 * carries its sort's name. Relevance pages by rank within the bounded
 * candidate set (Q_SEARCH_HEAD). */
enum { QL_NEWEST, QL_OLDEST, QL_UPDATED, QL_RELEVANCE };

/* typed lists: the topics of a page's questions, by one statement for
 * the whole page (question_topics_of); see page_list.fetch. */
static int questions__topics(struct request *r, const PGresult *res, int col,
                             int shown, PGresult **topics)
{
    /* "{" + 37 characters per uuid and comma + "}": at most 101 items. */
    char ids[101 * 37 + 3];
    size_t used = 0;

    ids[used++] = '{';
    for (int k = 0; k < shown; k++) {
        if (PQgetisnull(res, k, 0))
            continue;
        if (PQgetlength(res, k, col) != 36 || used + 38 >= sizeof(ids))
            return -1;
        if (used > 1)
            ids[used++] = ',';
        memcpy(ids + used, PQgetvalue(res, k, col), 36);
        used += 36;
    }
    ids[used++] = '}';
    ids[used] = '\0';
    const char *params[1] = {ids};
    return hx_query_or_reply(r, &questions_statements[QG_COUNT + 5], params,
                             true, topics);
}

static const struct page_list questions__lists[] = {
    [QL_NEWEST] = {.sort = "newest",
                   .keyset = {.shape = 'n',
                              .desc = true,
                              QB_BY_TIME("q.asked_at", "q.id")},
                   .item = REP_QUESTION,
                   .typed = true,
                   .fetch = questions__topics},
    [QL_OLDEST] = {.sort = "oldest",
                   .keyset = {.shape = 'o', QB_BY_TIME("q.asked_at", "q.id")},
                   .item = REP_QUESTION,
                   .typed = true,
                   .fetch = questions__topics},
    [QL_UPDATED] = {.sort = "updated",
                    .keyset = {.shape = 'u',
                               .desc = true,
                               QB_BY_TIME("q.updated_at", "q.id")},
                    .item = REP_QUESTION,
                    .typed = true,
                    .fetch = questions__topics},
    /* Search keeps PostgreSQL's representation: its highlight is made
     * there. */
    [QL_RELEVANCE] = {.sort = "relevance",
                      .keyset = {.shape = 'r',
                                 .desc = true,
                                 .ncolumns = 2,
                                 .columns = {{"r.rank", "real"},
                                             {"(r.q).id", "uuid"}}},
                      .item = REP_QUESTION},
};

/* The list for the request's `sort` (the spec's enum; newest when
 * absent). */
static const struct page_list *questions__list(const struct request *r)
{
    const char *s = request_param_str(r, "sort");

    for (size_t i = 0; s != NULL && i < ARRAY_SIZE(questions__lists); i++)
        if (strcmp(questions__lists[i].sort, s) == 0)
            return &questions__lists[i];
    return &questions__lists[QL_NEWEST];
}

int handle_list_questions(struct request *r)
{
    const struct page_list *list = questions__list(r);
    bool relevance = list == &questions__lists[QL_RELEVANCE];
    const char *q = request_param_str(r, "q");
    const char *v;
    struct page pg;
    struct querybuf b;
    int tsq = 0;

    if (relevance && q == NULL)
        return hx_reply_bad_query(r, "sort", "relevance needs q");
    if (page_open_or_reply(r, list, &pg) == REPLY_QUEUED)
        return REPLY_QUEUED;

    qb_init(&b, "ql");
    /* $1: the base of url, where PostgreSQL still builds it (search). */
    if (relevance)
        qb_param(&b, r->cfg->public_base_url);
    if (q != NULL) {
        /* $2 is the search query; websearch syntax never raises on odd
         * input, so a stray quote is just a word. */
        tsq = qb_param(&b, q);
        qb_shape(&b, 'q');
    }
    if (relevance) {
        /* The filters below land inside the bounded candidate query,
         * in its first tier, and again in its second (below). */
        qb_addf(&b, Q_SEARCH_HEAD, tsq);
    } else {
        qb_add(&b, "SELECT q.id, ");
        qb_add(&b, list == &questions__lists[QL_UPDATED]
                       ? REP_TS("q.updated_at") ", "
                       : REP_TS("q.asked_at") ", ");
        qb_add(&b, "q.id::text, " REP_Q_COLS " FROM questions q" REP_Q_JOINS
                   " WHERE q.deleted_at IS NULL");
        if (tsq)
            qb_addf(&b, " AND q.related_terms @@ mq_search_query($%d)", tsq);
    }
    size_t filters_at = b.len;
    if ((v = request_param_str(r, "department")) != NULL) {
        qb_filter(&b, " AND q.department_slug = $%d", v);
        qb_shape(&b, 'd');
    }
    if ((v = request_param_str(r, "topic")) != NULL) {
        qb_filter(&b,
                  " AND EXISTS (SELECT 1 FROM question_topics qt JOIN "
                  "topics t ON t.id = qt.topic_id WHERE qt.question_id = "
                  "q.id AND t.slug = $%d AND t.deleted_at IS NULL)",
                  v);
        qb_shape(&b, 't');
    }
    if ((v = request_param_str(r, "doctor")) != NULL) {
        qb_filter(&b,
                  " AND EXISTS (SELECT 1 FROM replies rp WHERE "
                  "rp.question_id = q.id AND rp.doctor_id = $%d::uuid AND "
                  "rp.deleted_at IS NULL)",
                  v);
        qb_shape(&b, 'o');
    }
    if ((v = request_param_str(r, "state")) != NULL) {
        qb_filter(&b, " AND q.state = $%d", v);
        qb_shape(&b, 's');
    }
    if ((v = request_param_str(r, "language")) != NULL) {
        qb_filter(&b, " AND q.language = $%d", v);
        qb_shape(&b, 'l');
    }
    if ((v = request_param_str(r, "asked_after")) != NULL) {
        qb_filter(&b, " AND q.asked_at > $%d::timestamptz", v);
        qb_shape(&b, 'a');
    }
    if ((v = request_param_str(r, "asked_before")) != NULL) {
        qb_filter(&b, " AND q.asked_at < $%d::timestamptz", v);
        qb_shape(&b, 'b');
    }
    if ((v = request_param_str(r, "updated_since")) != NULL) {
        qb_filter(&b, " AND q.updated_at >= $%d::timestamptz", v);
        qb_shape(&b, 'u');
    }
    if (relevance) {
        /* The same text, so the same $n: no parameter is added. */
        char filters[sizeof(b.sql)];
        size_t n = b.len - filters_at;

        memcpy(filters, b.sql + filters_at, n);
        filters[n] = '\0';
        qb_add(&b, Q_SEARCH_TIER);
        qb_add(&b, filters);
        qb_add(&b, Q_SEARCH_TAIL);
    }
    page_keyset(&pg, &b);
    if (feeds_add_discovery_link(r) != 0) /* content (issue 14) */
        return -1;
    return page_reply(r, &pg, &b);
}

/* Seals the body's contact_email, when it has one, into `hex` and
 * *key_id (both NULL-able parameters: NULL when absent or null).
 * REPLY_QUEUED after a 422 when contact collection is not configured. */
static int questions__contact_or_reply(struct request *r, char *hex,
                                       const char **sealed, const char **key_id)
{
    const char *email =
        json_string_value(json_object_get(r->body, "contact_email"));

    *sealed = *key_id = NULL;
    if (email == NULL)
        return REPLY_NONE;
    if (!contacts_configured())
        return request_problem(
            r, PROBLEM_CONTACT_DISABLED, 0,
            "Contact collection is not configured on this server "
            "(CONTACT_KEY is unset): send the question without "
            "contact_email.",
            json_pack("[{s:s, s:s}]", "pointer", "/contact_email", "detail",
                      "contact collection is not configured"));
    if (contacts_seal(email, hex, key_id) != 0)
        return hx_reply_internal(r, "contact e-mail could not be sealed");
    *sealed = hex;
    return REPLY_NONE;
}

int handle_create_question(struct request *r)
{
    char hex[CONTACTS_SEALED_HEX];
    const char *sealed, *kid;

    if (questions__contact_or_reply(r, hex, &sealed, &kid) == REPLY_QUEUED)
        return REPLY_QUEUED;
    const char *params[6] = {r->raw_body,   r->cfg->public_base_url,
                             r->request_id, r->key_id,
                             sealed,        kid};

    return hx_reply_create_as(r, &questions_statements[QG_COUNT], params,
                              "/questions/", 1, REP_QUESTION);
}

int handle_patch_question(struct request *r)
{
    char hex[CONTACTS_SEALED_HEX];
    const char *sealed, *kid;

    if (questions__contact_or_reply(r, hex, &sealed, &kid) == REPLY_QUEUED)
        return REPLY_QUEUED;
    /* If-Match ($3) is checked by hx_reply_patch against what clients
     * are sent, so the function gets NULL. */
    const char *params[8] = {request_param_str(r, "id"),
                             r->raw_body,
                             NULL,
                             r->cfg->public_base_url,
                             r->request_id,
                             r->key_id,
                             sealed,
                             kid};
    const char *current[2] = {r->cfg->public_base_url,
                              request_param_str(r, "id")};

    return hx_reply_patch(r, &questions_statements[QG_COUNT + 3], current,
                          &questions_statements[QG_COUNT + 1], params,
                          REP_QUESTION);
}

int handle_delete_question(struct request *r)
{
    /* The optional body's reason code, for the audit log. */
    const char *params[4] = {
        request_param_str(r, "id"), r->request_id, r->key_id,
        json_string_value(json_object_get(r->body, "reason"))};

    return hx_reply_write_none(r, &questions_statements[QG_COUNT + 2], params);
}
