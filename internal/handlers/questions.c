/* handlers/questions — /questions and /questions/{id}.
 *
 * Reads are one prepared round trip each; PostgreSQL builds the JSON
 * (mq_question_json) and the text goes to the client untouched. Writes
 * call one PL/pgSQL function each, so every write, its topics and its
 * change event commit together or not at all. */
#include "common.h"
#include "handlers_internal.h"
#include "querybuf.h"

#include "medqa/auth.h"
#include "medqa/config.h"
#include "medqa/handlers.h"
#include "medqa/problem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define Q_TS(col)                                                              \
    "to_char(" col " AT TIME ZONE 'UTC', "                                     \
    "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/* Search: mq_search_query (migrations/0004) matches every English word of
 * q as itself or its canonical synonym, and Chinese by bigrams; relevance
 * is cover density over title (A), body (B), synonyms (C) and the doctor's
 * reply (D), normalised by document length (flag 1). With sort=relevance
 * a question also matches through its doctors' replies alone: they name
 * the condition ("gout", 失眠) in words the patient did not use.
 *
 * With sort=relevance only the first Q_SEARCH_CAP matches in index order
 * are ranked: a common word matches tens of thousands of questions at
 * 1,000,000, and ranking them all (a heap fetch, two tsvectors and
 * ts_rank_cd each) took seconds. The tsquery and the Chinese highlight
 * pattern are computed once per search in `s`, not once per row: the
 * statement is prepared, so its generic plan cannot fold them, and
 * OFFSET 0 keeps the planner from pulling `s` up into every row (which
 * cost ~0.1 ms a row).
 * Results carry "highlight" (mq_search_json, migrations/0007). */
#define Q_SEARCH_CAP "500"
#define Q_SEARCH_HEAD                                                          \
    "SELECT mq_search_json(r.q, $1, r.pat, r.tq), r.rank::text, "              \
    "(r.q).id::text FROM (SELECT m.q, s.pat, s.tq, "                           \
    "ts_rank_cd('{0.1, 0.3, 0.5, 1.0}', "                                      \
    "(m.q).related_terms || (m.q).reply_terms, s.tq, 1)::real AS rank "        \
    "FROM (SELECT mq_search_query($%d) AS tq, mq_cjk_pattern($%d) AS pat "     \
    "OFFSET 0) AS s CROSS JOIN LATERAL (SELECT q FROM questions q "            \
    "WHERE q.deleted_at IS NULL "                                              \
    "AND (q.related_terms @@ s.tq OR q.reply_terms @@ s.tq)"
#define Q_SEARCH_TAIL " LIMIT " Q_SEARCH_CAP ") AS m) AS r WHERE true"

/* A question's representation, as mq_question_json(q, $1) gives it, with
 * the department and topics as scalar subqueries of the statement itself
 * (migrations/0006): planned once per connection, where a function call
 * per row costs its own executor start. With a LIMIT, PostgreSQL builds it
 * only for the rows returned, after any sort. */
#define Q_DOC                                                                  \
    "mq__question_doc(q, $1, "                                                 \
    "(SELECT d.j FROM mq__department_of(q.department_slug) AS d), "            \
    "(SELECT t.j FROM mq__topics_of(q.id) AS t))::text"

/* GET /questions/{id}: columns (question, replies, deleted_at, related),
 * one statement per combination of include=replies, include=related and
 * the editor role. Constant flags, not boolean parameters: with those the
 * plan cache kept choosing a custom plan, i.e. planned every request. */
#define QG_REPLIES                                                             \
    "(SELECT coalesce(json_agg(mq_reply_json(r) ORDER BY r.replied_at, "       \
    "r.id), '[]'::json) FROM replies r WHERE r.question_id = q.id AND "        \
    "r.deleted_at IS NULL)::text"
#define QG_RELATED                                                             \
    "CASE WHEN q.deleted_at IS NULL THEN "                                     \
    "mq_related(q.id, NULL, NULL, 4, $1)::text END"
#define QG_VISIBLE " AND q.deleted_at IS NULL"
#define QG(name, replies, related, visible)                                    \
    {                                                                          \
        name,                                                                  \
            "SELECT " Q_DOC ", " replies ", mq_ts(q.deleted_at), " related     \
            " FROM questions q WHERE q.id = $2::uuid" visible,                 \
            2                                                                  \
    }

enum { QG_WITH_REPLIES = 1, QG_WITH_RELATED = 2, QG_EDITOR = 4 };

/* Indexed by the QG_* flags; questions_statements[QG_COUNT] on are the
 * writes. */
#define QG_COUNT 8

const struct db_statement questions_statements[] = {
    QG("question_get", "NULL::text", "NULL::text", QG_VISIBLE),
    QG("question_get_p", QG_REPLIES, "NULL::text", QG_VISIBLE),
    QG("question_get_l", "NULL::text", QG_RELATED, QG_VISIBLE),
    QG("question_get_pl", QG_REPLIES, QG_RELATED, QG_VISIBLE),
    QG("question_get_e", "NULL::text", "NULL::text", ""),
    QG("question_get_pe", QG_REPLIES, "NULL::text", ""),
    QG("question_get_le", "NULL::text", QG_RELATED, ""),
    QG("question_get_ple", QG_REPLIES, QG_RELATED, ""),
    {"question_create",
     "SELECT j::text, j->>'id' FROM mq_create_question($1::jsonb, $2) AS j", 2},
    {"question_patch",
     "SELECT j::text FROM mq_patch_question($1::uuid, $2::jsonb, "
     "$3::text[], $4) AS j",
     4},
    {"question_delete", "SELECT mq_delete_question($1::uuid)", 1},
};
const size_t questions_nstatements =
    sizeof(questions_statements) / sizeof(questions_statements[0]);

/* Inserts `,"key":value` before the final '}' of a JSON object text. */
static char *questions__splice(const char *obj, size_t len, const char *key,
                               const char *value, int quote)
{
    size_t vlen = strlen(value);
    size_t klen = strlen(key);
    char *out = malloc(len + klen + vlen + 8);

    if (out == NULL || len < 2 || obj[len - 1] != '}') {
        free(out);
        return NULL;
    }
    size_t n = len - 1;
    memcpy(out, obj, n);
    n += (size_t)sprintf(out + n, ",\"%s\":%s", key, quote ? "\"" : "");
    memcpy(out + n, value, vlen);
    n += vlen;
    n += (size_t)sprintf(out + n, "%s}", quote ? "\"" : "");
    return out;
}

int handle_get_question(struct request *r)
{
    const json_t *include = request_param(r, "include");
    bool with_replies = false;
    bool with_related = false;
    bool editor = (r->role & AUTH_ROLE_EDITOR) != 0;
    struct db_conn *c = hx_conn(r);
    PGresult *res = NULL;
    size_t i;
    const json_t *v;

    if (c == NULL)
        return 0;
    json_array_foreach(include, i, v)
    {
        if (strcmp(json_string_value(v), "replies") == 0)
            with_replies = true;
        else if (strcmp(json_string_value(v), "related") == 0)
            with_related = true;
    }
    const char *params[2] = {r->cfg->public_base_url,
                             request_param_str(r, "id")};
    int which = (with_replies ? QG_WITH_REPLIES : 0) |
                (with_related ? QG_WITH_RELATED : 0) | (editor ? QG_EDITOR : 0);
    int rc = db_query(c, &questions_statements[which], params, true, &res);
    if (rc != DB_OK)
        return hx_sql_error(r, c, rc);
    if (PQntuples(res) == 0) {
        PQclear(res);
        return request_problem(r, PROBLEM_NOT_FOUND, 0,
                               "No question with that id.", NULL);
    }
    if (!with_replies && !with_related && PQgetisnull(res, 0, 2))
        return request_reply_pg(r, 200, res);

    /* The page view: the question with its replies (and, for editors,
     * when it was hidden) in one body. */
    char *body = NULL, *next = NULL;
    const char *cur = PQgetvalue(res, 0, 0);
    size_t len = (size_t)PQgetlength(res, 0, 0);
    if (with_replies) {
        body = questions__splice(cur, len, "replies", PQgetvalue(res, 0, 1), 0);
        if (body == NULL)
            goto fail;
        cur = body;
        len = strlen(body);
    }
    if (with_related && !PQgetisnull(res, 0, 3)) {
        next = questions__splice(cur, len, "related", PQgetvalue(res, 0, 3), 0);
        free(body);
        body = next;
        if (body == NULL)
            goto fail;
        cur = body;
        len = strlen(body);
    }
    if (!PQgetisnull(res, 0, 2)) {
        next =
            questions__splice(cur, len, "deleted_at", PQgetvalue(res, 0, 2), 1);
        free(body);
        body = next;
        if (body == NULL)
            goto fail;
        r->private_data = true;
    }
    if (body == NULL) /* nothing to splice after all */
        return request_reply_pg(r, 200, res);
    PQclear(res);
    return request_reply_owned(r, 200, "application/json", body, strlen(body));
fail:
    PQclear(res);
    return -1;
}

static const char *questions__sort(const struct request *r)
{
    const char *s = request_param_str(r, "sort");
    return s ? s : "newest";
}

int handle_list_questions(struct request *r)
{
    const char *sort = questions__sort(r);
    const char *q = request_param_str(r, "q");
    const char *v;
    int limit = hx_limit(r);
    struct cursor cur;
    struct querybuf b;
    int tsq = 0;

    if (strcmp(sort, "relevance") == 0 && q == NULL)
        return request_problem_validation(
            r, json_pack("[{s:s, s:s, s:s}]", "parameter", "sort", "in",
                         "query", "detail", "relevance needs q"));
    if (hx_cursor(r, sort, 2, &cur) != 0)
        return 0;

    qb_init(&b, "ql");
    qb_param(&b, r->cfg->public_base_url);
    if (q != NULL) {
        /* $2 is the search query; websearch syntax never raises on odd
         * input, so a stray quote is just a word. */
        tsq = qb_param(&b, q);
        qb_shape(&b, 'q');
    }
    bool relevance = strcmp(sort, "relevance") == 0;
    if (relevance) {
        /* The filters below land inside the bounded candidate query. */
        char frag[768];
        snprintf(frag, sizeof(frag), Q_SEARCH_HEAD, tsq, tsq);
        qb_add(&b, frag);
    } else {
        qb_add(&b, "SELECT " Q_DOC ", ");
        if (strcmp(sort, "updated") == 0)
            qb_add(&b, Q_TS("q.updated_at") ", ");
        else
            qb_add(&b, Q_TS("q.asked_at") ", ");
        qb_add(&b, "q.id::text FROM questions q WHERE q.deleted_at IS NULL");
    }
    if (tsq && !relevance) {
        char frag[256];
        snprintf(frag, sizeof(frag),
                 " AND q.related_terms @@ mq_search_query($%d)", tsq);
        qb_add(&b, frag);
    }
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
    if (relevance)
        qb_add(&b, Q_SEARCH_TAIL);
    qb_shape(&b, '_');
    qb_shape(&b, sort[0]);
    if (cur.nkeys == 2) {
        int a = qb_param(&b, cur.keys[0]);
        int id = qb_param(&b, cur.keys[1]);
        char frag[256];
        if (relevance)
            snprintf(frag, sizeof(frag),
                     " AND (r.rank, (r.q).id) < ($%d::real, $%d::uuid)", a, id);
        else if (strcmp(sort, "updated") == 0)
            snprintf(frag, sizeof(frag),
                     " AND (q.updated_at, q.id) < ($%d::timestamptz, "
                     "$%d::uuid)",
                     a, id);
        else if (strcmp(sort, "oldest") == 0)
            snprintf(frag, sizeof(frag),
                     " AND (q.asked_at, q.id) > ($%d::timestamptz, "
                     "$%d::uuid)",
                     a, id);
        else
            snprintf(frag, sizeof(frag),
                     " AND (q.asked_at, q.id) < ($%d::timestamptz, "
                     "$%d::uuid)",
                     a, id);
        qb_add(&b, frag);
        qb_shape(&b, 'c');
    }
    if (relevance) {
        qb_add(&b, " ORDER BY r.rank DESC, (r.q).id DESC");
    } else if (strcmp(sort, "updated") == 0) {
        qb_add(&b, " ORDER BY q.updated_at DESC, q.id DESC");
    } else if (strcmp(sort, "oldest") == 0) {
        qb_add(&b, " ORDER BY q.asked_at ASC, q.id ASC");
    } else {
        qb_add(&b, " ORDER BY q.asked_at DESC, q.id DESC");
    }
    qb_limit(&b, limit);
    return hx_list(r, &b, limit, sort, 2);
}

int handle_create_question(struct request *r)
{
    const char *params[2] = {r->raw_body, r->cfg->public_base_url};

    return hx_create(r, &questions_statements[QG_COUNT], params, "/questions/",
                     1);
}

int handle_patch_question(struct request *r)
{
    char tags[1200];
    const char *params[4] = {request_param_str(r, "id"), r->raw_body,
                             hx_if_match(r, tags, sizeof(tags)),
                             r->cfg->public_base_url};

    return hx_write_one(r, &questions_statements[QG_COUNT + 1], params);
}

int handle_delete_question(struct request *r)
{
    const char *params[1] = {request_param_str(r, "id")};

    return hx_write_none(r, &questions_statements[QG_COUNT + 2], params);
}
