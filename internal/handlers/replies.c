/* handlers/replies — /questions/{id}/replies, /replies and /replies/{id}.
 * A doctor key writes and edits only its own doctor's replies; an editor
 * writes the editorial "More Info" and may edit or hide any reply. */
#include "common.h"
#include "handlers_internal.h"
#include "querybuf.h"

#include "medqa/auth.h"
#include "medqa/config.h"
#include "medqa/handlers.h"
#include "medqa/problem.h"

#include <stdio.h>
#include <string.h>

#define R_TS(col)                                                              \
    "to_char(" col " AT TIME ZONE 'UTC', "                                     \
    "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

const struct db_statement replies_statements[] = {
    {"reply_get",
     "SELECT mq_reply_json(r)::text FROM replies r JOIN questions q ON "
     "q.id = r.question_id WHERE r.id = $1::uuid AND r.deleted_at IS NULL "
     "AND q.deleted_at IS NULL",
     1},
    {"reply_create",
     "SELECT j::text, j->>'id' FROM mq_create_reply($1::uuid, $2, $3, "
     "$4::uuid) AS j",
     4},
    {"reply_patch",
     "SELECT j::text FROM mq_patch_reply($1::uuid, $2::jsonb, $3::text[], "
     "$4::uuid) AS j",
     4},
    {"reply_delete", "SELECT mq_delete_reply($1::uuid, $2::uuid)", 2},
};
const size_t replies_nstatements =
    sizeof(replies_statements) / sizeof(replies_statements[0]);

/* The doctor a doctor key acts as; NULL for editors (who may act on any
 * reply). */
static const char *replies__actor(const struct request *r)
{
    return (r->role & AUTH_ROLE_DOCTOR) ? r->doctor_id : NULL;
}

int handle_list_question_replies(struct request *r)
{
    int limit = hx_limit(r);
    struct cursor cur;
    struct querybuf b;
    PGresult *res = NULL;

    if (hx_cursor(r, "replied", 2, &cur) != 0)
        return 0;
    qb_init(&b, "qr");
    qb_param(&b, request_param_str(r, "id"));
    /* The LEFT JOIN keeps one row when the question exists but has no
     * (more) replies, so "no question" (404) and "no replies" differ. */
    qb_add(&b, "SELECT CASE WHEN x.id IS NOT NULL THEN "
               "mq_reply_json(x.rep)::text END, x.ts, x.id "
               "FROM questions q LEFT JOIN LATERAL (SELECT r AS rep, " R_TS(
                   "r.replied_at") " AS ts, r.id::text AS id "
                                   "FROM replies r WHERE r.question_id = q.id "
                                   "AND r.deleted_at IS NULL");
    if (cur.nkeys == 2) {
        char frag[160];
        int a = qb_param(&b, cur.keys[0]);
        int id = qb_param(&b, cur.keys[1]);
        snprintf(frag, sizeof(frag),
                 " AND (r.replied_at, r.id) > ($%d::timestamptz, $%d::uuid)", a,
                 id);
        qb_add(&b, frag);
        qb_shape(&b, 'c');
    }
    qb_add(&b, " ORDER BY r.replied_at, r.id");
    qb_limit(&b, limit);
    qb_add(&b, ") x ON true WHERE q.id = $1::uuid AND q.deleted_at IS NULL");
    if (b.overflow)
        return request_problem_db(r, DB_EQUERY);
    struct db_conn *c = hx_conn(r);
    if (c == NULL)
        return 0;
    int rc = db_query_named(c, b.name, b.sql, b.nparams, b.params, true, &res);
    if (rc != DB_OK)
        return hx_sql_error(r, c, rc);
    if (PQntuples(res) == 0) {
        PQclear(res);
        return request_problem(r, PROBLEM_NOT_FOUND, 0,
                               "No question with that id.", NULL);
    }
    return hx_reply_page(r, res, limit, "replied", 2);
}

int handle_list_replies(struct request *r)
{
    const char *sort = request_param_str(r, "sort");
    const char *v;
    int limit = hx_limit(r);
    struct cursor cur;
    struct querybuf b;
    int updated;

    if (sort == NULL)
        sort = "newest";
    updated = strcmp(sort, "updated") == 0;
    if (hx_cursor(r, sort, 2, &cur) != 0)
        return 0;
    qb_init(&b, "rl");
    qb_add(&b, "SELECT mq_reply_json(r)::text, ");
    qb_add(&b, updated ? R_TS("r.updated_at") : R_TS("r.replied_at"));
    qb_add(&b, ", r.id::text FROM replies r JOIN questions q ON q.id = "
               "r.question_id AND q.deleted_at IS NULL "
               "WHERE r.deleted_at IS NULL");
    if ((v = request_param_str(r, "doctor")) != NULL) {
        qb_filter(&b, " AND r.doctor_id = $%d::uuid", v);
        qb_shape(&b, 'o');
    }
    if ((v = request_param_str(r, "department")) != NULL) {
        qb_filter(&b, " AND q.department_slug = $%d", v);
        qb_shape(&b, 'd');
    }
    if ((v = request_param_str(r, "updated_since")) != NULL) {
        qb_filter(&b, " AND r.updated_at >= $%d::timestamptz", v);
        qb_shape(&b, 'u');
    }
    qb_shape(&b, '_');
    qb_shape(&b, sort[0]);
    if (cur.nkeys == 2) {
        char frag[160];
        int a = qb_param(&b, cur.keys[0]);
        int id = qb_param(&b, cur.keys[1]);
        snprintf(frag, sizeof(frag),
                 updated ? " AND (r.updated_at, r.id) > ($%d::timestamptz, "
                           "$%d::uuid)"
                         : " AND (r.replied_at, r.id) < ($%d::timestamptz, "
                           "$%d::uuid)",
                 a, id);
        qb_add(&b, frag);
        qb_shape(&b, 'c');
    }
    qb_add(&b, updated ? " ORDER BY r.updated_at, r.id"
                       : " ORDER BY r.replied_at DESC, r.id DESC");
    qb_limit(&b, limit);
    return hx_list(r, &b, limit, sort, 2);
}

int handle_get_reply(struct request *r)
{
    const char *params[1] = {request_param_str(r, "id")};

    return hx_get_one(r, &replies_statements[0], params,
                      "No reply with that id.");
}

int handle_create_reply(struct request *r)
{
    const char *kind = json_string_value(json_object_get(r->body, "kind"));
    const char *body = json_string_value(json_object_get(r->body, "body"));
    const char *doctor = NULL;

    if (r->role & AUTH_ROLE_DOCTOR) {
        if (kind != NULL && strcmp(kind, "doctor") != 0)
            return request_problem(r, PROBLEM_FORBIDDEN, 0,
                                   "A doctor key writes doctor replies; "
                                   "editorial replies come from editors.",
                                   NULL);
        kind = "doctor";
        doctor = r->doctor_id;
    } else {
        if (kind != NULL && strcmp(kind, "editorial") != 0)
            return request_problem(r, PROBLEM_FORBIDDEN, 0,
                                   "An editor key writes editorial replies; "
                                   "doctor replies come from a doctor's key.",
                                   NULL);
        kind = "editorial";
    }
    const char *params[4] = {request_param_str(r, "id"), kind, body, doctor};
    return hx_create(r, &replies_statements[1], params, "/replies/", 1);
}

int handle_patch_reply(struct request *r)
{
    char tags[1200];
    const char *params[4] = {request_param_str(r, "id"), r->raw_body,
                             hx_if_match(r, tags, sizeof(tags)),
                             replies__actor(r)};

    return hx_write_one(r, &replies_statements[2], params);
}

int handle_delete_reply(struct request *r)
{
    const char *params[2] = {request_param_str(r, "id"), replies__actor(r)};

    return hx_write_none(r, &replies_statements[3], params);
}
