/* handlers/health — liveness and readiness for operators and balancers. */
#include "handlers_internal.h"

#include "medqa/base.h"
#include "medqa/db.h"
#include "medqa/request.h"

#include <string.h>

const struct db_statement health_statements[] = {
    {"health_ping", "SELECT 1", 0},
};
const size_t health_nstatements = ARRAY_SIZE(health_statements);

/* Liveness: the process answers. It never touches the database, so a
 * database outage does not make an orchestrator restart every instance. */
int handle_get_healthz(struct request *r)
{
    static const char body[] = "{\"status\":\"ok\"}";

    r->no_etag = true;
    request_add_header(r, "Cache-Control", "no-store");
    return request_reply_json(r, 200, body, strlen(body));
}

/* Pings `c`; DB_OK when it answered. */
static int health__ping(struct db_conn *c)
{
    PGresult *res = NULL;
    int rc = db_query(c, &health_statements[0], NULL, true, &res);

    PQclear(res);
    return rc;
}

/* Readiness: this worker can reach the primary right now. With a read
 * database, its state is reported too but does not decide: while it is
 * out of reach reads go to the primary, so the instance can still serve
 * everything. */
int handle_get_readyz(struct request *r)
{
    static const char ready[] = "{\"status\":\"ready\",\"database\":\"ok\"}";
    static const char read_ok[] = "{\"status\":\"ready\",\"database\":\"ok\","
                                  "\"read_database\":\"ok\"}";
    static const char read_down[] = "{\"status\":\"ready\",\"database\":\"ok\","
                                    "\"read_database\":\"unavailable\"}";
    const char *body = ready;
    struct db_conn *c;
    int rc;

    r->no_etag = true;
    request_add_header(r, "Cache-Control", "no-store");
    rc = db_acquire(&c);
    if (rc == DB_OK)
        rc = health__ping(c);
    if (rc != DB_OK)
        return request_problem_db(r, DB_EUNAVAILABLE);
    if (db_has_read()) {
        /* db_acquire_read() falls back to the primary when the read
         * database is out of reach; a fallback counts as unavailable. */
        body = db_acquire_read(&c) == DB_OK && db_is_read(c) &&
                       health__ping(c) == DB_OK
                   ? read_ok
                   : read_down;
    }
    return request_reply_json(r, 200, body, strlen(body));
}
