/* handlers/topics — /topics and /topics/{slug}: the "Related FAQ"
 * entries. Listed by name; the cursor holds the last slug, whose name the
 * query looks up, so names with any characters page safely. */
#include "common.h"
#include "handlers_internal.h"
#include "page.h"

#include "medqa/base.h"

const struct db_statement topics_statements[] = {
    {"topic_get",
     "SELECT mq_topic_json(t)::text FROM topics t "
     "WHERE t.slug = $1 AND t.deleted_at IS NULL",
     1},
    {"topic_create",
     "SELECT j::text, j->>'slug', mq_audit($2, $3, 'topic.create', "
     "j->>'slug', mq__audit_fields($1::jsonb), NULL) "
     "FROM mq_create_topic($1::jsonb) AS j",
     3},
    {"topic_patch",
     "SELECT j::text, mq_audit($4, $5, 'topic.patch', $1, "
     "mq__audit_fields($2::jsonb), NULL) "
     "FROM mq_patch_topic($1, $2::jsonb, $3::text[]) AS j",
     5},
    {"topic_delete",
     "SELECT mq_audit($2, $3, 'topic.hide', $1, '{}', NULL) "
     "FROM mq_delete_topic($1) AS d",
     3},
};
const size_t topics_nstatements = ARRAY_SIZE(topics_statements);

static const struct page_list topics__list = {
    .sort = "name",
    .keyset = {.ncolumns = 2,
               .columns = {{"t.name", NULL}, {"t.slug", NULL}},
               .lookup = "(SELECT name FROM topics WHERE slug = $%d)"},
};

int handle_list_topics(struct request *r)
{
    const char *v;
    struct page pg;
    struct querybuf b;

    if (page_open_or_reply(r, &topics__list, &pg) == REPLY_QUEUED)
        return REPLY_QUEUED;
    qb_init(&b, "tl");
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
    page_keyset(&pg, &b);
    return page_reply(r, &pg, &b);
}

int handle_get_topic(struct request *r)
{
    const char *params[1] = {request_param_str(r, "slug")};

    return hx_reply_get_one(r, &topics_statements[0], params,
                            "No topic with that slug.");
}

int handle_create_topic(struct request *r)
{
    const char *params[3] = {r->raw_body, r->request_id, r->key_id};

    return hx_reply_create(r, &topics_statements[1], params, "/topics/", 1);
}

int handle_patch_topic(struct request *r)
{
    char tags[1200];
    const char *params[5] = {request_param_str(r, "slug"), r->raw_body,
                             hx_if_match(r, tags, sizeof(tags)), r->request_id,
                             r->key_id};

    return hx_reply_write_one(r, &topics_statements[2], params);
}

int handle_delete_topic(struct request *r)
{
    const char *params[3] = {request_param_str(r, "slug"), r->request_id,
                             r->key_id};

    return hx_reply_write_none(r, &topics_statements[3], params);
}
