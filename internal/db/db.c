/* db — per-thread PostgreSQL connections with prepared statements.
 *
 * Each libmicrohttpd pool thread lazily opens one connection the first time
 * a request on it needs the database, prepares every registered statement,
 * and keeps it. A broken connection (server restarted, network cut) is
 * noticed on the next failed statement: it is reset and, for idempotent
 * statements, the statement is retried once, so a database restart costs
 * at most one 503 per thread instead of a restart of medqa. */
#include "medqa/db.h"

#include "medqa/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct db_conn {
    PGconn *pg;
    bool prepared;
    char sqlstate[6];
    char error[256];
    struct db_conn *next; /* in db__all, for db_shutdown() */
};

static char *db__conninfo;
static const struct db_statement **db__stmts;
static size_t db__nstmts;
static pthread_mutex_t db__lock = PTHREAD_MUTEX_INITIALIZER;
static struct db_conn *db__all;
static _Thread_local struct db_conn *db__mine;

int db_init(const char *conninfo)
{
    free(db__conninfo);
    db__conninfo = strdup(conninfo ? conninfo : "");
    return db__conninfo ? 0 : DB_ENOMEM;
}

int db_register(const struct db_statement *stmts, size_t n)
{
    const struct db_statement **grown =
        realloc(db__stmts, (db__nstmts + n) * sizeof(*grown));

    if (grown == NULL)
        return DB_ENOMEM;
    db__stmts = grown;
    for (size_t i = 0; i < n; i++)
        db__stmts[db__nstmts++] = &stmts[i];
    return 0;
}

PGconn *db_connect_direct(const char *conninfo, char *errbuf, size_t errlen)
{
    /* connect_timeout comes first so that a value in the URL wins;
     * expand_dbname lets DATABASE_URL be a URI or a key=value string. */
    const char *const keys[] = {"connect_timeout", "application_name",
                                "dbname", NULL};
    const char *const vals[] = {"2", "medqa", conninfo, NULL};
    PGconn *pg = PQconnectdbParams(keys, vals, 1);

    if (pg == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    if (PQstatus(pg) != CONNECTION_OK) {
        /* libpq's message names host and port but never the password. */
        snprintf(errbuf, errlen, "%s", PQerrorMessage(pg));
        size_t len = strlen(errbuf);
        while (len > 0 && (errbuf[len - 1] == '\n' || errbuf[len - 1] == ' '))
            errbuf[--len] = '\0';
        PQfinish(pg);
        return NULL;
    }
    return pg;
}

static void db__note_error(struct db_conn *c, const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(c->pg);

    snprintf(c->sqlstate, sizeof(c->sqlstate), "%s", state ? state : "");
    snprintf(c->error, sizeof(c->error), "%s", msg ? msg : "");
    size_t len = strlen(c->error);
    while (len > 0 && c->error[len - 1] == '\n')
        c->error[--len] = '\0';
}

static int db__prepare_all(struct db_conn *c)
{
    for (size_t i = 0; i < db__nstmts; i++) {
        const struct db_statement *st = db__stmts[i];
        PGresult *res = PQprepare(c->pg, st->name, st->sql, st->nparams, NULL);
        ExecStatusType status = PQresultStatus(res);
        if (status != PGRES_COMMAND_OK) {
            db__note_error(c, res);
            PQclear(res);
            if (PQstatus(c->pg) != CONNECTION_OK)
                return DB_EUNAVAILABLE;
            /* A statement that does not prepare is a bug in medqa, not an
             * outage; say which one loudly. */
            log_msg(LOG_ERROR, "cannot prepare statement", "statement",
                    st->name, "error", c->error, NULL);
            return DB_EQUERY;
        }
        PQclear(res);
    }
    c->prepared = true;
    return DB_OK;
}

static int db__connect(struct db_conn *c)
{
    char err[256];

    if (c->pg != NULL) {
        PQfinish(c->pg);
        c->pg = NULL;
    }
    c->prepared = false;
    c->pg = db_connect_direct(db__conninfo, err, sizeof(err));
    if (c->pg == NULL) {
        snprintf(c->error, sizeof(c->error), "%s", err);
        return DB_EUNAVAILABLE;
    }
    return db__prepare_all(c);
}

int db_acquire(struct db_conn **out)
{
    struct db_conn *c = db__mine;
    int rc;

    *out = NULL;
    if (c == NULL) {
        c = calloc(1, sizeof(*c));
        if (c == NULL)
            return DB_ENOMEM;
        pthread_mutex_lock(&db__lock);
        c->next = db__all;
        db__all = c;
        pthread_mutex_unlock(&db__lock);
        db__mine = c;
    }
    if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK || !c->prepared) {
        rc = db__connect(c);
        if (rc != DB_OK) {
            log_msg(LOG_WARN, "database unavailable", "error", c->error,
                    NULL);
            return DB_EUNAVAILABLE;
        }
    }
    *out = c;
    return DB_OK;
}

int db_query(struct db_conn *c, const struct db_statement *st,
             const char *const *params, bool idempotent, PGresult **out)
{
    *out = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        PGresult *res = PQexecPrepared(c->pg, st->name, st->nparams, params,
                                       NULL, NULL, 0);
        ExecStatusType status = PQresultStatus(res);
        if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
            c->sqlstate[0] = '\0';
            *out = res;
            return DB_OK;
        }
        db__note_error(c, res);
        PQclear(res);
        if (PQstatus(c->pg) == CONNECTION_OK)
            return DB_EQUERY;
        /* The connection broke under us. Reconnect; retry only what is
         * safe to run twice. */
        if (db__connect(c) != DB_OK || !idempotent)
            return DB_EUNAVAILABLE;
    }
    return DB_EUNAVAILABLE;
}

int db_command(struct db_conn *c, const char *sql)
{
    PGresult *res = PQexec(c->pg, sql);
    int rc = DB_OK;

    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        db__note_error(c, res);
        rc = PQstatus(c->pg) == CONNECTION_OK ? DB_EQUERY : DB_EUNAVAILABLE;
    }
    PQclear(res);
    return rc;
}

const char *db_sqlstate(const struct db_conn *c)
{
    return c->sqlstate;
}

const char *db_last_error(const struct db_conn *c)
{
    return c->error;
}

void db_shutdown(void)
{
    pthread_mutex_lock(&db__lock);
    struct db_conn *c = db__all;
    db__all = NULL;
    pthread_mutex_unlock(&db__lock);
    while (c != NULL) {
        struct db_conn *next = c->next;
        if (c->pg != NULL)
            PQfinish(c->pg);
        free(c);
        c = next;
    }
    free(db__stmts);
    db__stmts = NULL;
    db__nstmts = 0;
    free(db__conninfo);
    db__conninfo = NULL;
}
