/* handlers/topics — /topics and /topics/{slug}: the "Related FAQ"
 * entries. Listed by name; the cursor holds the last slug, whose name the
 * query looks up, so names with any characters page safely. */
#include "common.h"
#include "handlers_internal.h"
#include "querybuf.h"

#include "medqa/handlers.h"
#include "medqa/problem.h"

#include <stdio.h>
#include <string.h>

const struct db_statement topics_statements[] = {
    {"topic_get",
     "SELECT mq_topic_json(t)::text FROM topics t "
     "WHERE t.slug = $1 AND t.deleted_at IS NULL",
     1},
    {"topic_create",
     "SELECT j::text, j->>'slug' FROM mq_create_topic($1::jsonb) AS j", 1},
    {"topic_patch",
     "SELECT j::text FROM mq_patch_topic($1, $2::jsonb, $3::text[]) AS j", 3},
    {"topic_delete", "SELECT mq_delete_topic($1)", 1},
};
const size_t topics_nstatements =
    sizeof(topics_statements) / sizeof(topics_statements[0]);

int handle_list_topics(struct request *r)
{
    const char *v;
    int limit = hx_limit(r);
    char limit_text[16];
    struct cursor cur;
    struct querybuf b;
    PGresult *res = NULL;

    if (hx_cursor(r, "name", 1, &cur) != 0)
        return 0;
    snprintf(limit_text, sizeof(limit_text), "%d", limit + 1);
    qb_init(&b, "tl");
    qb_param(&b, limit_text);
    qb_add(&b, "SELECT mq_topic_json(t)::text, t.slug FROM topics t "
               "WHERE t.deleted_at IS NULL");
    if ((v = request_param_str(r, "department")) != NULL) {
        qb_filter(&b, " AND t.department_slug = $%d", v);
        qb_shape(&b, 'd');
    }
    if ((v = request_param_str(r, "prefix")) != NULL) {
        /* LIKE's own wildcards in the prefix are escaped, so "50%" means
         * the text "50%". */
        qb_filter(&b,
                  " AND lower(t.name) LIKE replace(replace(replace("
                  "lower($%d), '\\', '\\\\'), '%%', '\\%%'), '_', '\\_') "
                  "|| '%%'",
                  v);
        qb_shape(&b, 'p');
    }
    if (cur.nkeys == 1) {
        char frag[200];
        int s = qb_param(&b, cur.keys[0]);
        snprintf(frag, sizeof(frag),
                 " AND (t.name, t.slug) > ((SELECT name FROM topics WHERE "
                 "slug = $%d), $%d)",
                 s, s);
        qb_add(&b, frag);
        qb_shape(&b, 'c');
    }
    qb_add(&b, " ORDER BY t.name, t.slug LIMIT $1");
    struct db_conn *c = hx_conn(r);
    if (c == NULL)
        return 0;
    int rc = db_query_named(c, b.name, b.sql, b.nparams, b.params, true, &res);
    if (rc != DB_OK)
        return hx_sql_error(r, c, rc);
    return hx_reply_page(r, res, limit, "name", 1);
}

int handle_get_topic(struct request *r)
{
    struct db_conn *c = hx_conn(r);
    PGresult *res = NULL;

    if (c == NULL)
        return 0;
    const char *params[1] = {request_param_str(r, "slug")};
    int rc = db_query(c, &topics_statements[0], params, true, &res);
    if (rc != DB_OK)
        return hx_sql_error(r, c, rc);
    if (PQntuples(res) == 0) {
        PQclear(res);
        return problem_reply(r, 404, "not-found", NULL,
                             "No topic with that slug.", NULL);
    }
    return request_reply_pg(r, 200, res);
}

int handle_create_topic(struct request *r)
{
    const char *params[1] = {r->raw_body};

    return hx_create(r, &topics_statements[1], params, "/topics/", 1);
}

int handle_patch_topic(struct request *r)
{
    char tags[1200];
    struct db_conn *c = hx_conn(r);
    PGresult *res = NULL;

    if (c == NULL)
        return 0;
    const char *params[3] = {request_param_str(r, "slug"), r->raw_body,
                             hx_if_match(r, tags, sizeof(tags))};
    int rc = db_query(c, &topics_statements[2], params, false, &res);
    if (rc != DB_OK)
        return hx_sql_error(r, c, rc);
    return request_reply_pg(r, 200, res);
}

int handle_delete_topic(struct request *r)
{
    struct db_conn *c = hx_conn(r);
    PGresult *res = NULL;

    if (c == NULL)
        return 0;
    const char *params[1] = {request_param_str(r, "slug")};
    int rc = db_query(c, &topics_statements[3], params, false, &res);
    PQclear(res);
    if (rc != DB_OK)
        return hx_sql_error(r, c, rc);
    return request_reply_empty(r, 204);
}
