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
    char **named; /* db_query_named() statements prepared here */
    size_t nnamed;
    size_t named_cap;
    char sqlstate[6];
    char error[256];
    char message[256]; /* the primary message alone */
    char hint[128];
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
    const char *const keys[] = {"connect_timeout", "application_name", "dbname",
                                NULL};
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

    const char *primary =
        res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *hint =
        res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;

    snprintf(c->message, sizeof(c->message), "%s", primary ? primary : "");
    snprintf(c->hint, sizeof(c->hint), "%s", hint ? hint : "");
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
                    st->name, "error", c->error, LOG_END);
            return DB_EQUERY;
        }
        PQclear(res);
    }
    c->prepared = true;
    return DB_OK;
}

static void db__forget_named(struct db_conn *c)
{
    for (size_t i = 0; i < c->nnamed; i++)
        free(c->named[i]);
    free(c->named);
    c->named = NULL;
    c->nnamed = c->named_cap = 0;
}

static int db__connect(struct db_conn *c)
{
    char err[256];

    db__forget_named(c);

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
                    LOG_END);
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
        PGresult *res =
            PQexecPrepared(c->pg, st->name, st->nparams, params, NULL, NULL, 0);
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

static bool db__has_named(const struct db_conn *c, const char *name)
{
    for (size_t i = 0; i < c->nnamed; i++)
        if (strcmp(c->named[i], name) == 0)
            return true;
    return false;
}

static int db__prepare_named(struct db_conn *c, const char *name,
                             const char *sql, int nparams)
{
    if (c->nnamed == c->named_cap) {
        size_t cap = c->named_cap ? c->named_cap * 2 : 16;
        char **grown = realloc(c->named, cap * sizeof(*grown));
        if (grown == NULL)
            return DB_ENOMEM;
        c->named = grown;
        c->named_cap = cap;
    }
    char *copy = strdup(name);
    if (copy == NULL)
        return DB_ENOMEM;
    PGresult *res = PQprepare(c->pg, name, sql, nparams, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        db__note_error(c, res);
        PQclear(res);
        free(copy);
        if (PQstatus(c->pg) != CONNECTION_OK)
            return DB_EUNAVAILABLE;
        log_msg(LOG_ERROR, "cannot prepare statement", "statement", name,
                "error", c->error, LOG_END);
        return DB_EQUERY;
    }
    PQclear(res);
    c->named[c->nnamed++] = copy;
    return DB_OK;
}

int db_query_named(struct db_conn *c, const char *name, const char *sql,
                   int nparams, const char *const *params, bool idempotent,
                   PGresult **out)
{
    struct db_statement st = {name, sql, nparams};
    int rc;

    *out = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!db__has_named(c, name)) {
            rc = db__prepare_named(c, name, sql, nparams);
            if (rc == DB_EUNAVAILABLE && attempt == 0 && idempotent &&
                db__connect(c) == DB_OK)
                continue;
            if (rc != DB_OK)
                return rc;
        }
        rc = db_query(c, &st, params, false, out);
        if (rc != DB_EUNAVAILABLE || !idempotent || attempt == 1)
            return rc;
        /* db_query reconnected, which forgot the named statements; the
         * loop prepares this one again and retries once. */
        if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK)
            if (db__connect(c) != DB_OK)
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

const char *db_error_message(const struct db_conn *c)
{
    return c->message;
}

const char *db_error_hint(const struct db_conn *c)
{
    return c->hint;
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
        db__forget_named(c);
        free(c);
        c = next;
    }
    free(db__stmts);
    db__stmts = NULL;
    db__nstmts = 0;
    free(db__conninfo);
    db__conninfo = NULL;
}
