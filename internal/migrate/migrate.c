/* migrate — forward-only schema migrations from the binary itself. */
#include "medqa/migrate.h"

#include "medqa/assets.h"
#include "medqa/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Any constant works; it only has to be the same in every instance. */
#define MIGRATE_LOCK_KEY "727100001"

static int migrate__exec(PGconn *pg, const char *sql, char *errbuf,
                         size_t errlen, const char *what)
{
    PGresult *res = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(res);
    int rc = 0;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        snprintf(errbuf, errlen, "%s: %s", what, PQresultErrorMessage(res));
        size_t len = strlen(errbuf);
        while (len > 0 && errbuf[len - 1] == '\n')
            errbuf[--len] = '\0';
        rc = -1;
    }
    PQclear(res);
    return rc;
}

static int migrate__is_applied(PGconn *pg, const char *version, int *yes,
                               char *errbuf, size_t errlen)
{
    const char *params[1] = {version};
    PGresult *res =
        PQexecParams(pg, "SELECT 1 FROM schema_migrations WHERE version = $1",
                     1, NULL, params, NULL, NULL, 0);
    int rc = 0;

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(errbuf, errlen, "schema_migrations: %s",
                 PQresultErrorMessage(res));
        rc = -1;
    } else {
        *yes = PQntuples(res) > 0;
    }
    PQclear(res);
    return rc;
}

static int migrate__apply(PGconn *pg, const struct asset *m, char *errbuf,
                          size_t errlen)
{
    char *sql = NULL;
    const char *params[1] = {m->name};
    PGresult *res = NULL;
    int rc = -1;

    sql = malloc(m->len + 1);
    if (sql == NULL)
        return -1;
    memcpy(sql, m->data, m->len);
    sql[m->len] = '\0';
    if (migrate__exec(pg, "BEGIN", errbuf, errlen, m->name) != 0)
        goto out;
    if (migrate__exec(pg, sql, errbuf, errlen, m->name) != 0)
        goto rollback;
    res =
        PQexecParams(pg, "INSERT INTO schema_migrations (version) VALUES ($1)",
                     1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        snprintf(errbuf, errlen, "%s: %s", m->name, PQresultErrorMessage(res));
        goto rollback;
    }
    if (migrate__exec(pg, "COMMIT", errbuf, errlen, m->name) != 0)
        goto out;
    rc = 0;
    goto out;
rollback:
    PQclear(PQexec(pg, "ROLLBACK"));
out:
    PQclear(res);
    free(sql);
    return rc;
}

int migrate_run(PGconn *pg, int *applied, char *errbuf, size_t errlen)
{
    int rc = -1;

    *applied = 0;
    if (migrate__exec(pg, "SET client_min_messages = warning", errbuf, errlen,
                      "settings") != 0)
        return -1;
    if (migrate__exec(pg, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")",
                      errbuf, errlen, "lock") != 0)
        return -1;
    if (migrate__exec(pg,
                      "CREATE TABLE IF NOT EXISTS schema_migrations ("
                      " version text PRIMARY KEY,"
                      " applied_at timestamptz NOT NULL DEFAULT now())",
                      errbuf, errlen, "schema_migrations") != 0)
        goto out;
    for (size_t i = 0; i < assets_nmigrations; i++) {
        const struct asset *m = &assets_migrations[i];
        int done = 0;
        if (migrate__is_applied(pg, m->name, &done, errbuf, errlen) != 0)
            goto out;
        if (done)
            continue;
        if (migrate__apply(pg, m, errbuf, errlen) != 0)
            goto out;
        log_msg(LOG_INFO, "migration applied", "version", m->name, LOG_END);
        (*applied)++;
    }
    rc = 0;
out:
    PQclear(PQexec(pg, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")"));
    return rc;
}
