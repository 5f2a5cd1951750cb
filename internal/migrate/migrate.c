/* migrate — forward-only schema migrations from the binary itself.
 *
 * Two kinds of file, both embedded (include/medqa/assets.h):
 *   - versioned migrations, migrations/NNNN_*.sql: tables, indexes, data
 *     changes and whatever CREATE OR REPLACE cannot do. Each runs once;
 *     schema_migrations records its name and its SHA-256.
 *   - repeatable files, sql/NAME.sql: every function and trigger, each
 *     defined once with CREATE OR REPLACE. Each runs after the versioned
 *     migrations whenever its SHA-256 differs from the one recorded under
 *     "sql/NAME.sql" (Flyway's repeatable migrations).
 *
 * The checksum rule. An applied versioned migration is never edited: one
 * whose file no longer matches its recorded checksum stops `migrate` with
 * the file's name, and the fix is a new migration. Rows written before
 * checksums existed (by a medqa older than issue 12) have none; the first
 * run of a newer binary records the checksum of the file it carries. That
 * is how the rewrite of 0002..0009 at issue 12 (their functions moved to
 * sql/, their tables and indexes unchanged) is accepted once, on every
 * database that predates it, and from then on any edit is refused.
 *
 * A file that needs another's functions to exist while it runs names that
 * repeatable file in a line "-- requires: sql/NAME.sql": a versioned
 * migration with a generated column or an expression index over a
 * function, a repeatable file whose SQL-language functions call another
 * file's. Before such a file runs, each file it requires is applied if it
 * is not current. */
#include "medqa/migrate.h"

#include "medqa/assets.h"
#include "medqa/base.h"
#include "medqa/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Any constant works; it only has to be the same in every instance. */
#define MIGRATE_LOCK_KEY "727100001"
/* A SHA-256 in hex and its NUL. */
#define MIGRATE_SUM_LEN 65
/* "sql/" and a file name. */
#define MIGRATE_NAME_LEN 256

static int migrate__exec(PGconn *pg, const char *sql, char *errbuf,
                         size_t errlen, const char *what)
{
    PGresult *res = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(res);
    int rc = 0;

    /* A migration may hold only comments (one whose statements all moved
     * to sql/): PostgreSQL answers that with an empty-query result. */
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK &&
        st != PGRES_EMPTY_QUERY) {
        snprintf(errbuf, errlen, "%s: %s", what, PQresultErrorMessage(res));
        size_t len = strlen(errbuf);
        while (len > 0 && errbuf[len - 1] == '\n')
            errbuf[--len] = '\0';
        rc = -1;
    }
    PQclear(res);
    return rc;
}

/* The checksum recorded for `version`: *found 0 when there is no row, 1
 * with sum set (empty when the row predates checksums). */
static int migrate__recorded(PGconn *pg, const char *version, int *found,
                             char sum[MIGRATE_SUM_LEN], char *errbuf,
                             size_t errlen)
{
    const char *params[1] = {version};
    PGresult *res =
        PQexecParams(pg,
                     "SELECT coalesce(checksum, '') FROM schema_migrations"
                     " WHERE version = $1",
                     1, NULL, params, NULL, NULL, 0);
    int rc = 0;

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(errbuf, errlen, "schema_migrations: %s",
                 PQresultErrorMessage(res));
        rc = -1;
    } else {
        *found = PQntuples(res) > 0;
        sum[0] = '\0';
        if (*found)
            snprintf(sum, MIGRATE_SUM_LEN, "%s", PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    return rc;
}

/* Runs one parameterised statement that returns no rows. */
static int migrate__command(PGconn *pg, const char *sql, const char *a,
                            const char *b, char *errbuf, size_t errlen,
                            const char *what)
{
    const char *params[2] = {a, b};
    PGresult *res = PQexecParams(pg, sql, 2, NULL, params, NULL, NULL, 0);
    int rc = 0;

    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        snprintf(errbuf, errlen, "%s: %s", what, PQresultErrorMessage(res));
        rc = -1;
    }
    PQclear(res);
    return rc;
}

/* Runs file f's SQL and records (version, sum) in one transaction; a
 * record already there (a repeatable file applied before) is updated. */
static int migrate__apply(PGconn *pg, const struct asset *f,
                          const char *version, const char *sum, char *errbuf,
                          size_t errlen)
{
    char *sql = NULL;
    int rc = -1;

    sql = malloc(f->len + 1);
    if (sql == NULL) {
        snprintf(errbuf, errlen, "%s: out of memory", version);
        return -1;
    }
    memcpy(sql, f->data, f->len);
    sql[f->len] = '\0';
    if (migrate__exec(pg, "BEGIN", errbuf, errlen, version) != 0)
        goto out;
    if (migrate__exec(pg, sql, errbuf, errlen, version) != 0)
        goto rollback;
    if (migrate__command(pg,
                         "INSERT INTO schema_migrations (version, checksum)"
                         " VALUES ($1, $2) ON CONFLICT (version) DO UPDATE"
                         " SET checksum = EXCLUDED.checksum,"
                         " applied_at = now()",
                         version, sum, errbuf, errlen, version) != 0)
        goto rollback;
    if (migrate__exec(pg, "COMMIT", errbuf, errlen, version) != 0)
        goto out;
    rc = 0;
    goto out;
rollback:
    PQclear(PQexec(pg, "ROLLBACK"));
out:
    free(sql);
    return rc;
}

static int migrate__requires(PGconn *pg, const char *what,
                             const struct asset *f, int depth, int *applied,
                             char *errbuf, size_t errlen);

/* Applies repeatable file f when its recorded checksum is not its own,
 * after the files it requires. depth guards against a cycle of them. */
static int migrate__repeatable(PGconn *pg, const struct asset *f, int depth,
                               int *applied, char *errbuf, size_t errlen)
{
    char version[MIGRATE_NAME_LEN];
    char sum[MIGRATE_SUM_LEN];
    char have[MIGRATE_SUM_LEN];
    int found = 0;

    snprintf(version, sizeof(version), "sql/%s", f->name);
    base_sha256_hex(f->data, f->len, 32, sum);
    if (migrate__recorded(pg, version, &found, have, errbuf, errlen) != 0)
        return -1;
    if (found && strcmp(have, sum) == 0)
        return 0;
    if (migrate__requires(pg, version, f, depth + 1, applied, errbuf, errlen) !=
        0)
        return -1;
    if (migrate__apply(pg, f, version, sum, errbuf, errlen) != 0)
        return -1;
    log_msg(LOG_INFO, "repeatable migration applied", "file", version, LOG_END);
    (*applied)++;
    return 0;
}

/* Applies, before file f (named `what` in messages), each repeatable file
 * that f's "-- requires: sql/NAME.sql" lines name and that is not current.
 * A repeatable file needs this only when a SQL-language function of it
 * calls one of another file (PostgreSQL checks a SQL body when it is
 * created, not a PL/pgSQL one). */
static int migrate__requires(PGconn *pg, const char *what,
                             const struct asset *f, int depth, int *applied,
                             char *errbuf, size_t errlen)
{
    static const char tag[] = "\n-- requires: sql/";
    const char *text = (const char *)f->data;
    const char *end = text + f->len;
    const char *p = text;

    if (depth > (int)assets_nsql) {
        snprintf(errbuf, errlen, "%s: its \"-- requires:\" lines form a cycle",
                 what);
        return -1;
    }

    while ((p = memmem(p, (size_t)(end - p), tag, sizeof(tag) - 1)) != NULL) {
        const char *name = p + sizeof(tag) - 1;
        size_t n = 0;
        size_t i = 0;

        while (name + n < end && name[n] != '\n' && name[n] != ' ')
            n++;
        for (i = 0; i < assets_nsql; i++)
            if (strlen(assets_sql[i].name) == n &&
                memcmp(assets_sql[i].name, name, n) == 0)
                break;
        if (i == assets_nsql) {
            snprintf(errbuf, errlen,
                     "%s requires sql/%.*s, which is not "
                     "among the SQL files",
                     what, (int)n, name);
            return -1;
        }
        if (migrate__repeatable(pg, &assets_sql[i], depth, applied, errbuf,
                                errlen) != 0)
            return -1;
        p = name + n;
    }
    return 0;
}

/* Versioned migration m: applied once, its file never changed after. */
static int migrate__versioned(PGconn *pg, const struct asset *m, int *applied,
                              char *errbuf, size_t errlen)
{
    char sum[MIGRATE_SUM_LEN];
    char have[MIGRATE_SUM_LEN];
    int found = 0;

    base_sha256_hex(m->data, m->len, 32, sum);
    if (migrate__recorded(pg, m->name, &found, have, errbuf, errlen) != 0)
        return -1;
    if (found && have[0] == '\0') {
        /* Applied before checksums existed: this file is the baseline. */
        if (migrate__command(pg,
                             "UPDATE schema_migrations SET checksum = $2"
                             " WHERE version = $1 AND checksum IS NULL",
                             m->name, sum, errbuf, errlen, m->name) != 0)
            return -1;
        log_msg(LOG_INFO, "migration checksum recorded", "version", m->name,
                LOG_END);
        return 0;
    }
    if (found && strcmp(have, sum) != 0) {
        snprintf(errbuf, errlen,
                 "migrations/%s has changed since it was applied (recorded "
                 "sha256 %.12s…, the file's %.12s…): an applied migration is "
                 "never edited; put the change in a new migration",
                 m->name, have, sum);
        return -1;
    }
    if (found)
        return 0;
    char what[MIGRATE_NAME_LEN];
    snprintf(what, sizeof(what), "migrations/%s", m->name);
    if (migrate__requires(pg, what, m, 0, applied, errbuf, errlen) != 0)
        return -1;
    if (migrate__apply(pg, m, m->name, sum, errbuf, errlen) != 0)
        return -1;
    log_msg(LOG_INFO, "migration applied", "version", m->name, LOG_END);
    (*applied)++;
    return 0;
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
    /* checksum: the file's SHA-256 in hex; NULL on rows written before
     * medqa recorded one (see the head of this file). */
    if (migrate__exec(pg,
                      "CREATE TABLE IF NOT EXISTS schema_migrations ("
                      " version text PRIMARY KEY,"
                      " applied_at timestamptz NOT NULL DEFAULT now());"
                      "ALTER TABLE schema_migrations"
                      " ADD COLUMN IF NOT EXISTS checksum text",
                      errbuf, errlen, "schema_migrations") != 0)
        goto out;
    for (size_t i = 0; i < assets_nmigrations; i++)
        if (migrate__versioned(pg, &assets_migrations[i], applied, errbuf,
                               errlen) != 0)
            goto out;
    for (size_t i = 0; i < assets_nsql; i++)
        if (migrate__repeatable(pg, &assets_sql[i], 0, applied, errbuf,
                                errlen) != 0)
            goto out;
    rc = 0;
out:
    PQclear(PQexec(pg, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")"));
    return rc;
}
