/* migrate — forward-only schema migrations from the binary itself.
 *
 * Two kinds of file, both embedded (include/medqa/assets.h):
 *   - versioned migrations, migrations/NNNN_*.sql: tables, indexes, data
 *     changes and whatever CREATE OR REPLACE cannot do. Each runs once;
 *     schema_migrations records its name and its SHA-256.
 *   - repeatable files, sql/NAME.sql: every function and trigger, each
 *     defined once with CREATE OR REPLACE. Each runs after the versioned
 *     migrations whenever its SHA-256 differs from the one recorded under
 *     "sql/NAME.sql" (Flyway's repeatable migrations). Taking a function
 *     out of sql/ leaves it in every database: dropping one is a versioned
 *     migration's job (as 0010 does), like any change CREATE OR REPLACE
 *     cannot make (a new return type, a removed argument).
 *
 * The checksum rule. An applied versioned migration is never edited: one
 * whose file no longer matches its recorded checksum stops `migrate` with
 * the file's name, and the fix is a new migration. Rows written before
 * checksums existed (by a medqa older than issue 12) have none; the first
 * run of a newer binary records the checksum of the file it carries if
 * that file is the baseline (migrate__baseline: 0001..0009 as issue 12
 * rewrote them), and refuses otherwise. That is how the rewrite of
 * 0002..0009 at issue 12 (their functions moved to sql/, their tables,
 * indexes and data unchanged) is accepted once, on every database that
 * predates it, and from then on any edit is refused.
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

/* The baseline: the versioned migrations as issue 12 left them. Rows
 * without a checksum (written by a medqa older than issue 12) are taken to
 * be these files, which is how the rewrite of 0002..0009 then (their
 * functions moved to sql/; tables, indexes and data unchanged; 0001 was
 * not touched) is accepted once on those databases. A row without a
 * checksum whose file is no longer its baseline is refused like any other
 * edit. Never changes: later migrations always have a checksum. */
static const struct {
    const char *name;
    const char *sha256;
} migrate__baseline[] = {
    {"0001_departments.sql",
     "5a2073c8c6b674287f52dcbeadd07d8170cf9983a8bbb5a3b2080d30c6742103"},
    {"0002_domain.sql",
     "06ab1fc299fec8f14d39635dd5c774f7cdf3d23b3cd8631f1a8d0b8b47246d56"},
    {"0003_related.sql",
     "e58166fee3a1653ab7afe498b11c57b236d3e4c7e84985d96ab76242063e08d1"},
    {"0004_related_replies.sql",
     "4999bc6d85ec3a36de4c56897b346fb4c5c0fa32dabae9a4cbf82afbb8ea6e09"},
    {"0005_terms_speed.sql",
     "214c91adf0075413fba6b1da9e41bfeaa0c7bcbb68da4f5bd67bb963a1f87efc"},
    {"0006_read_speed.sql",
     "d70b5539dec74570a9e3754e269e3cf74b7f90232e6c337db6d3f61d07ca9bd5"},
    {"0007_related_scale.sql",
     "0a7bd2abb51b2132cbeb1991adbab66a16be665dad810fc5a640708bf4f512d2"},
    {"0008_terms_load.sql",
     "e214952677d62054902ed3764b956f5d5f70b8a793839b524fd3f8753cb84a14"},
    {"0009_reply_fk_index.sql",
     "279db824c9c79604e608d317b24070311d012c0e8f9d267561ce9fe006da6b5d"},
};

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
        /* Applied before checksums existed: accepted if the file is still
         * its baseline. */
        const char *want = NULL;
        for (size_t i = 0; i < ARRAY_SIZE(migrate__baseline); i++)
            if (strcmp(migrate__baseline[i].name, m->name) == 0)
                want = migrate__baseline[i].sha256;
        if (want == NULL || strcmp(want, sum) != 0) {
            snprintf(errbuf, errlen,
                     "migrations/%s has changed since it was applied (it "
                     "predates checksums, and the file is not the one issue "
                     "12 left): an applied migration is never edited; put "
                     "the change in a new migration",
                     m->name);
            return -1;
        }
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
