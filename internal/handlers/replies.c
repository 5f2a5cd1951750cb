/* handlers/replies — /questions/{id}/replies, /replies and /replies/{id}.
 * A doctor key writes and edits only its own doctor's replies; an editor
 * writes the editorial "More Info" and may edit or hide any reply. */
#include "common.h"
#include "handlers_internal.h"
#include "page.h"

#include "medqa/auth.h"
#include "medqa/base.h"

#include <string.h>

const struct db_statement replies_statements[] = {
    {"reply_get",
     "SELECT " REP_R_COLS " FROM replies r JOIN questions q ON "
     "q.id = r.question_id" REP_R_JOINS " WHERE r.id = $1::uuid AND "
     "r.deleted_at IS NULL AND q.deleted_at IS NULL",
     1},
    {"reply_create",
     "SELECT j::text, j->>'id', mq_audit($6, $7, 'reply.create', j->>'id', "
     "mq__audit_fields($5::jsonb), NULL) FROM mq_create_reply($1::uuid, $2, "
     "$3, $4::uuid) AS j",
     7},
    {"reply_patch",
     "SELECT j::text, mq_audit($5, $6, 'reply.patch', $1::text, "
     "mq__audit_fields($2::jsonb), NULL) FROM mq_patch_reply($1::uuid, "
     "$2::jsonb, $3::text[], $4::uuid) AS j",
     6},
    {"reply_delete",
     "SELECT mq_audit($3, $4, 'reply.hide', $1::text, '{}', $5) "
     "FROM mq_delete_reply($1::uuid, $2::uuid) AS d",
     5},
    /* The representation a PATCH's If-Match is checked against, locked
     * as mq__lock_reply locks it (hx_reply_patch); no row when the
     * caller's doctor did not write it, so the write answers 403. */
    {"reply_current",
     "SELECT mq_reply_json(r)::text FROM replies r JOIN questions q ON "
     "q.id = r.question_id WHERE r.id = $1::uuid AND r.deleted_at IS NULL "
     "AND q.deleted_at IS NULL AND ($2::uuid IS NULL OR "
     "r.doctor_id = $2::uuid) FOR UPDATE OF r",
     2},
};
const size_t replies_nstatements = ARRAY_SIZE(replies_statements);

/* The doctor a doctor key acts as; NULL for editors (who may act on any
 * reply). */
static const char *replies__actor(const struct request *r)
{
    return (r->role & AUTH_ROLE_DOCTOR) ? r->doctor_id : NULL;
}

/* A question's replies, oldest first as the page shows them. */
static const struct page_list replies__of_question = {
    .sort = "replied",
    .keyset = {QB_BY_TIME("r.replied_at", "r.id")},
    .flags = PAGE_PARENT,
    .missing = "No question with that id.",
    .item = REP_REPLY,
    .typed = true,
};

int handle_list_question_replies(struct request *r)
{
    struct page pg;
    struct querybuf b;

    if (page_open_or_reply(r, &replies__of_question, &pg) == REPLY_QUEUED)
        return REPLY_QUEUED;
    qb_init(&b, "qr");
    qb_param(&b, request_param_str(r, "id"));
    /* The LEFT JOIN keeps one row when the question exists but has no
     * (more) replies, so "no question" (404) and "no replies" differ. */
    qb_add(&b, "SELECT x.* FROM questions q LEFT JOIN LATERAL (SELECT "
               "r.id AS marker, ");
    qb_add(&b, QB_TS("r.replied_at") ", r.id::text, " REP_R_COLS
                                     " FROM replies r" REP_R_JOINS
                                     " WHERE r.question_id = q.id AND "
                                     "r.deleted_at IS NULL");
    page_keyset(&pg, &b);
    qb_add(&b, ") x ON true WHERE q.id = $1::uuid AND q.deleted_at IS NULL");
    return page_reply(r, &pg, &b);
}

/* /replies: newest first, or by last update (oldest first, so a client
 * syncing with updated_since reads forward). */
static const struct page_list replies__newest = {
    .sort = "newest",
    .keyset = {.shape = 'n', .desc = true, QB_BY_TIME("r.replied_at", "r.id")},
    .item = REP_REPLY,
    .typed = true,
};
static const struct page_list replies__updated = {
    .sort = "updated",
    .keyset = {.shape = 'u', QB_BY_TIME("r.updated_at", "r.id")},
    .item = REP_REPLY,
    .typed = true,
};

int handle_list_replies(struct request *r)
{
    const char *sort = request_param_str(r, "sort");
    bool updated = sort != NULL && strcmp(sort, "updated") == 0;
    const char *v;
    struct page pg;
    struct querybuf b;

    if (page_open_or_reply(r, updated ? &replies__updated : &replies__newest,
                           &pg) == REPLY_QUEUED)
        return REPLY_QUEUED;
    qb_init(&b, "rl");
    qb_add(&b, "SELECT r.id, ");
    qb_add(&b, updated ? QB_TS("r.updated_at") : QB_TS("r.replied_at"));
    qb_add(&b, ", r.id::text, " REP_R_COLS " FROM replies r JOIN questions q "
               "ON q.id = r.question_id AND q.deleted_at IS NULL" REP_R_JOINS
               " WHERE r.deleted_at IS NULL");
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
    page_keyset(&pg, &b);
    return page_reply(r, &pg, &b);
}

int handle_get_reply(struct request *r)
{
    const char *params[1] = {request_param_str(r, "id")};
    PGresult *res = NULL;

    if (hx_query_or_reply(r, &replies_statements[0], params, true, &res) ==
        REPLY_QUEUED)
        return REPLY_QUEUED;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return hx_reply_missing(r, true, params[0], "No reply with that id.");
    }
    json_t *x = rep_reply_row(res, 0, 0);
    char *owned = NULL;
    size_t len = 0;
    PQclear(res);
    if (x != NULL && rep_add_fields(r->cfg, REP_REPLY, x) == 0)
        owned = rep_dump(x, &len);
    json_decref(x);
    if (owned == NULL)
        return hx_reply_internal(r, "cannot complete a representation");
    return request_reply_owned(r, 200, "application/json", owned, len);
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
    const char *params[7] = {request_param_str(r, "id"),
                             kind,
                             body,
                             doctor,
                             r->raw_body,
                             r->request_id,
                             r->key_id};
    return hx_reply_create_as(r, &replies_statements[1], params, "/replies/", 1,
                              REP_REPLY);
}

int handle_patch_reply(struct request *r)
{
    /* If-Match ($3) is checked by hx_reply_patch against what clients
     * are sent, so the function gets NULL. */
    const char *params[6] = {
        request_param_str(r, "id"), r->raw_body,   NULL,
        replies__actor(r),          r->request_id, r->key_id};
    const char *current[2] = {request_param_str(r, "id"), replies__actor(r)};

    return hx_reply_patch(r, &replies_statements[4], current,
                          &replies_statements[2], params, REP_REPLY);
}

int handle_delete_reply(struct request *r)
{
    /* The optional body's reason code, for the audit log. */
    const char *params[5] = {
        request_param_str(r, "id"), replies__actor(r), r->request_id, r->key_id,
        json_string_value(json_object_get(r->body, "reason"))};

    return hx_reply_write_none(r, &replies_statements[3], params);
}
