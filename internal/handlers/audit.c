/* handlers/audit — GET /audit, the audit log, for editors.
 *
 * Newest first by id (a bigserial: ids are handed out in insertion
 * order, and each filter's index ends in id). The records are written by
 * mq_audit() in the write statements themselves (sql/privacy.sql). */
#include "handlers_internal.h"
#include "page.h"

static const struct page_list audit__list = {
    .sort = "id",
    .keyset = {.desc = true, .ncolumns = 1, .columns = {{"a.id", "bigint"}}},
};

/* One record, in the contract's key order. */
#define AUDIT_JSON                                                             \
    "json_build_object('id', a.id, 'at', mq_ts(a.at), 'request_id', "          \
    "a.request_id, 'actor', json_build_object('key_id', a.actor_key_id, "      \
    "'role', a.actor_role, 'key_name', a.actor_key_name, 'doctor_id', "        \
    "a.actor_doctor_id), 'action', a.action, 'target', "                       \
    "json_build_object('type', a.target_type, 'id', a.target_id), "            \
    "'fields', a.fields, 'reason', a.reason)::text"

int handle_list_audit(struct request *r)
{
    const char *v;
    struct page pg;
    struct querybuf b;

    if (page_open_or_reply(r, &audit__list, &pg) == REPLY_QUEUED)
        return REPLY_QUEUED;
    qb_init(&b, "al");
    qb_add(&b, "SELECT " AUDIT_JSON ", a.id::text FROM audit a WHERE true");
    if ((v = request_param_str(r, "actor")) != NULL) {
        qb_filter(&b, " AND a.actor_key_id = $%d::uuid", v);
        qb_shape(&b, 'k');
    }
    if ((v = request_param_str(r, "action")) != NULL) {
        qb_filter(&b, " AND a.action = $%d", v);
        qb_shape(&b, 'a');
    }
    if ((v = request_param_str(r, "target")) != NULL) {
        qb_filter(&b, " AND a.target_id = $%d", v);
        qb_shape(&b, 't');
    }
    if ((v = request_param_str(r, "since")) != NULL) {
        qb_filter(&b, " AND a.at >= $%d::timestamptz", v);
        qb_shape(&b, 's');
    }
    if ((v = request_param_str(r, "until")) != NULL) {
        qb_filter(&b, " AND a.at < $%d::timestamptz", v);
        qb_shape(&b, 'u');
    }
    page_keyset(&pg, &b);
    /* Who did what is for the editor who asked, never for a shared cache. */
    r->private_data = true;
    return page_reply(r, &pg, &b);
}
