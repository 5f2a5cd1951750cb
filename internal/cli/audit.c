/* cli/audit — `medqa audit prune`: deletes audit records older than
 * AUDIT_RETENTION_DAYS.
 *
 * The audit table refuses DELETE through a trigger (sql/privacy.sql), for
 * every role. Ordinary triggers do not fire under
 * session_replication_role = replica, and only a superuser, or a role an
 * administrator granted SET on that parameter, may set it: so pruning
 * needs such a role in DATABASE_URL, which the service's own role should
 * not be. The prune itself is recorded in the log it prunes. */
#include "cli_internal.h"
#include "medqa/cli.h"
#include "medqa/config.h"
#include "medqa/db.h"

#include <stdio.h>
#include <string.h>

static int audit__usage(void)
{
    fprintf(stderr, "usage: medqa audit prune\n"
                    "  deletes audit records older than "
                    "AUDIT_RETENTION_DAYS (needs a role allowed to set "
                    "session_replication_role)\n");
    return 2;
}

static int audit__prune(PGconn *pg, unsigned days)
{
    char d[16];
    const char *params[1] = {d};
    PGresult *res = NULL;
    int rc = 1;

    snprintf(d, sizeof(d), "%u", days);
    PQclear(PQexec(pg, "BEGIN"));
    res = PQexec(pg, "SET LOCAL session_replication_role = replica");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        fprintf(stderr,
                "medqa: audit prune: this database role may not bypass the "
                "audit log's append-only trigger (set "
                "session_replication_role); run it as a superuser or a role "
                "granted SET on that parameter\n");
        goto out;
    }
    PQclear(res);
    res = PQexecParams(pg,
                       "WITH gone AS (DELETE FROM audit WHERE at < now() - "
                       "$1::int * interval '1 day' RETURNING 1) "
                       "SELECT count(*)::text FROM gone",
                       1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "medqa: audit prune: %s", PQresultErrorMessage(res));
        goto out;
    }
    char n[24];
    snprintf(n, sizeof(n), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    const char *ap[1] = {n};
    res = PQexecParams(pg, "SELECT mq_audit_cli('audit.prune', $1, NULL)", 1,
                       NULL, ap, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "medqa: audit prune: %s", PQresultErrorMessage(res));
        goto out;
    }
    PQclear(res);
    res = PQexec(pg, "COMMIT");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        fprintf(stderr, "medqa: audit prune: %s", PQresultErrorMessage(res));
        goto out;
    }
    fprintf(stderr, "pruned %s audit records older than %u days\n", n, days);
    rc = 0;
out:
    PQclear(res);
    if (rc != 0)
        PQclear(PQexec(pg, "ROLLBACK"));
    return rc;
}

int cli_audit(int argc, char **argv, const struct config *cfg)
{
    if (argc != 1 || strcmp(argv[0], "prune") != 0)
        return audit__usage();
    PGconn *pg = cli_connect(cfg);
    if (pg == NULL)
        return 1;
    int rc = audit__prune(pg, cfg->audit_retention_days);
    PQfinish(pg);
    return rc;
}
