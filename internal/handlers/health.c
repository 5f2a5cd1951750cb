/* handlers/health — liveness and readiness for operators and balancers. */
#include "handlers_internal.h"

#include "medqa/base.h"
#include "medqa/db.h"
#include "medqa/request.h"

#include <jansson.h>
#include <string.h>

/* Each pings its server and says what it can see of replication: the
 * primary its standbys (pg_stat_replication), a read database how long
 * ago it last replayed a transaction (which also grows while the primary
 * writes nothing). */
const struct db_statement health_statements[] = {
    {"health_primary",
     "SELECT json_build_object('in_recovery', pg_is_in_recovery(), "
     "'synchronous_standby_names', "
     "current_setting('synchronous_standby_names'), 'replicas', "
     "coalesce((SELECT json_agg(json_build_object('name', application_name, "
     "'state', state, 'sync_state', sync_state, 'replay_lag_ms', "
     "round(extract(epoch FROM replay_lag) * 1000)) ORDER BY "
     "application_name) FROM pg_stat_replication), '[]'))::text",
     0},
    {"health_read",
     "SELECT json_build_object('in_recovery', pg_is_in_recovery(), "
     "'replay_age_ms', CASE WHEN pg_is_in_recovery() THEN round(extract("
     "epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000) END)::text",
     0},
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

/* Runs health statement `i` on `c` and returns its report with the host
 * and port added, or NULL when the server did not answer. */
static json_t *health__report(struct db_conn *c, size_t i)
{
    PGresult *res = NULL;
    json_t *report = NULL;

    if (db_query(c, &health_statements[i], NULL, true, &res) == DB_OK &&
        PQntuples(res) == 1)
        report = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    if (report != NULL) {
        json_object_set_new(report, "host", json_string(db_host(c)));
        json_object_set_new(report, "port", json_string(db_port(c)));
    }
    return report;
}

/* Readiness: this worker can reach the primary right now (one attempt,
 * no waiting for a failover to end). The report names the host that is
 * the primary and what it sees of its standbys. With a read database,
 * its state is reported too but does not decide: while it is out of
 * reach reads go to the primary, so the instance can still serve
 * everything. */
int handle_get_readyz(struct request *r)
{
    struct db_conn *c;
    json_t *primary = NULL;
    json_t *body = NULL;
    int rc;

    r->no_etag = true;
    request_add_header(r, "Cache-Control", "no-store");
    if (db_acquire_now(&c) == DB_OK)
        primary = health__report(c, 0);
    if (primary == NULL)
        return request_problem_db(r, DB_EUNAVAILABLE);
    body = json_pack("{s:s, s:s, s:o}", "status", "ready", "database", "ok",
                     "primary", primary);
    if (body != NULL && db_has_read()) {
        /* db_acquire_read() falls back to the primary when the read
         * database is out of reach; a fallback counts as unavailable. */
        json_t *read = db_acquire_read(&c) == DB_OK && db_is_read(c)
                           ? health__report(c, 1)
                           : NULL;
        json_object_set_new(body, "read_database",
                            json_string(read ? "ok" : "unavailable"));
        if (read != NULL)
            json_object_set_new(body, "read", read);
    }
    if (body == NULL)
        return request_problem_db(r, DB_ENOMEM);
    rc = request_reply_jansson(r, 200, body);
    json_decref(body);
    return rc;
}
