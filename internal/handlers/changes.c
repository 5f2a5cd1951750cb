/* handlers/changes — GET /changes, the syndication feed.
 *
 * Unlike other lists, the feed always returns a next_cursor: a partner
 * keeps the last one and polls with it, and an empty page means it is up
 * to date. Partners never see the created/updated events of an item that
 * was deleted since (the migration marks them hidden), only its deleted
 * event; editors see everything. */
#include "common.h"
#include "handlers_internal.h"

#include "medqa/auth.h"
#include "medqa/config.h"
#include "medqa/handlers.h"
#include "medqa/problem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct db_statement changes_statements[] = {
    {"changes_list",
     "SELECT json_build_object('seq', c.seq, 'type', c.type, 'id', "
     "c.entity_id, 'at', mq_ts(c.at))::text, c.seq::text FROM changes c "
     "WHERE c.seq > $1::bigint AND (NOT c.hidden OR $3::boolean) "
     "ORDER BY c.seq LIMIT $2",
     3},
};
const size_t changes_nstatements =
    sizeof(changes_statements) / sizeof(changes_statements[0]);

int handle_list_changes(struct request *r)
{
    int limit = hx_limit(r);
    char limit_text[16];
    char cursor[CURSOR_MAX_TEXT];
    char bind[33];
    char link[CURSOR_MAX_TEXT + 256];
    struct cursor cur;
    PGresult *res = NULL;

    if (hx_cursor(r, "seq", 1, &cur) != 0)
        return 0;
    snprintf(limit_text, sizeof(limit_text), "%d", limit);
    const char *after = cur.nkeys == 1 ? cur.keys[0] : "0";
    const char *params[3] = {after, limit_text,
                             (r->role & AUTH_ROLE_EDITOR) ? "true" : "false"};
    struct db_conn *c = hx_conn(r);
    if (c == NULL)
        return 0;
    int rc = db_query(c, &changes_statements[0], params, true, &res);
    if (rc != DB_OK)
        return hx_sql_error(r, c, rc);
    int rows = PQntuples(res);
    const char *last = rows > 0 ? PQgetvalue(res, rows - 1, 1) : after;
    hx_bind(r, bind);
    if (cursor_encode(r->cfg->cursor_secret, "seq", bind, &last, 1, cursor) !=
        0) {
        PQclear(res);
        return request_problem_db(r, DB_EQUERY);
    }
    size_t total = 64 + strlen(cursor);
    for (int i = 0; i < rows; i++)
        total += (size_t)PQgetlength(res, i, 0) + 1;
    char *body = malloc(total);
    if (body == NULL) {
        PQclear(res);
        return -1;
    }
    size_t used = 0;
    memcpy(body, "{\"data\":[", 9);
    used = 9;
    for (int i = 0; i < rows; i++) {
        if (i > 0)
            body[used++] = ',';
        size_t len = (size_t)PQgetlength(res, i, 0);
        memcpy(body + used, PQgetvalue(res, i, 0), len);
        used += len;
    }
    PQclear(res);
    used += (size_t)snprintf(body + used, total - used,
                             "],\"next_cursor\":\"%s\"}", cursor);
    snprintf(link, sizeof(link),
             "<%s/changes?limit=%d&cursor=%s>; "
             "rel=\"next\"",
             r->cfg->public_base_url, limit, cursor);
    request_add_header(r, "Link", link);
    /* A feed page changes as events arrive; partners poll it. */
    r->private_data = true;
    return request_reply_owned(r, 200, "application/json", body, used);
}
