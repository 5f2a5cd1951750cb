/* handlers/health — liveness and readiness for operators and balancers. */
#include "handlers_internal.h"
#include "medqa/db.h"
#include "medqa/handlers.h"
#include "medqa/problem.h"
#include "medqa/request.h"

#include <string.h>

const struct db_statement health_statements[] = {
    {"health_ping", "SELECT 1", 0},
};
const size_t health_nstatements =
    sizeof(health_statements) / sizeof(health_statements[0]);

/* Liveness: the process answers. It never touches the database, so a
 * database outage does not make an orchestrator restart every instance. */
int handle_get_healthz(struct request *r)
{
    static const char body[] = "{\"status\":\"ok\"}";

    r->no_etag = true;
    request_add_header(r, "Cache-Control", "no-store");
    return request_reply_json(r, 200, body, strlen(body));
}

/* Readiness: this worker can reach the database right now. */
int handle_get_readyz(struct request *r)
{
    static const char body[] = "{\"status\":\"ready\",\"database\":\"ok\"}";
    struct db_conn *c;
    PGresult *res = NULL;
    int rc;

    r->no_etag = true;
    request_add_header(r, "Cache-Control", "no-store");
    rc = db_acquire(&c);
    if (rc == DB_OK)
        rc = db_query(c, &health_statements[0], NULL, true, &res);
    PQclear(res);
    if (rc != DB_OK)
        return problem_db(r, DB_EUNAVAILABLE);
    return request_reply_json(r, 200, body, strlen(body));
}
