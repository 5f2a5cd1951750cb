/* db — per-thread PostgreSQL connections with prepared statements.
 *
 * Each libmicrohttpd pool thread lazily opens one connection the first time
 * a request on it needs the database, prepares every registered statement,
 * and keeps it. A broken connection (server restarted, network cut) is
 * noticed on the next failed statement: it is reset and, for idempotent
 * statements, the statement is retried once, so a database restart costs
 * at most one 503 per thread instead of a restart of medqa.
 *
 * A thread may hold a second connection, to the read database: the same
 * code, another conninfo. When that one cannot be reached, reads go to
 * the primary until the next attempt DB_READ_RETRY_SECONDS later, so a
 * replica down costs each thread one connect timeout per period, not one
 * per request. */
#include "medqa/db.h"

#include "medqa/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct db_conn {
    PGconn *pg;
    bool prepared;
    bool read;          /* a connection to the read database */
    time_t retry_after; /* read: no new attempt before this (monotonic) */
    char **named;       /* db_query_named() statements prepared here */
    size_t nnamed;
    size_t named_cap;
    char sqlstate[6];
    char error[256];
    char message[256]; /* the primary message alone */
    char hint[128];
    struct db_conn *next; /* in db__all, for db_shutdown() */
};

static char *db__conninfo;
static char *db__read_conninfo; /* NULL: no read database */
static bool db__unnamed;        /* transaction pooling: nothing prepared */
static const struct db_statement **db__stmts;
static size_t db__nstmts;
static pthread_mutex_t db__lock = PTHREAD_MUTEX_INITIALIZER;
static struct db_conn *db__all;
static _Thread_local struct db_conn *db__mine;
static _Thread_local struct db_conn *db__mine_read;

int db_init(const char *conninfo, const char *read_conninfo,
            bool transaction_pooling)
{
    free(db__conninfo);
    free(db__read_conninfo);
    db__read_conninfo = NULL;
    db__unnamed = transaction_pooling;
    db__conninfo = strdup(conninfo ? conninfo : "");
    if (db__conninfo == NULL)
        return DB_ENOMEM;
    if (read_conninfo != NULL && *read_conninfo != '\0') {
        db__read_conninfo = strdup(read_conninfo);
        if (db__read_conninfo == NULL)
            return DB_ENOMEM;
    }
    return 0;
}

bool db_has_read(void)
{
    return db__read_conninfo != NULL;
}

bool db_is_read(const struct db_conn *c)
{
    return c != NULL && c->read;
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
    /* Behind a transaction pooler the next statement may reach another
     * server connection, where a statement prepared here does not exist. */
    if (db__unnamed) {
        c->prepared = true;
        return DB_OK;
    }
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
    c->pg = db_connect_direct(c->read ? db__read_conninfo : db__conninfo, err,
                              sizeof(err));
    if (c->pg == NULL) {
        snprintf(c->error, sizeof(c->error), "%s", err);
        return DB_EUNAVAILABLE;
    }
    return db__prepare_all(c);
}

/* This thread's connection in `*slot`, created (not yet connected) when
 * there is none. */
static struct db_conn *db__thread_conn(struct db_conn **slot, bool read)
{
    struct db_conn *c = *slot;

    if (c != NULL)
        return c;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->read = read;
    pthread_mutex_lock(&db__lock);
    c->next = db__all;
    db__all = c;
    pthread_mutex_unlock(&db__lock);
    *slot = c;
    return c;
}

static bool db__usable(const struct db_conn *c)
{
    return c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK && c->prepared;
}

int db_acquire(struct db_conn **out)
{
    struct db_conn *c = db__thread_conn(&db__mine, false);

    *out = NULL;
    if (c == NULL)
        return DB_ENOMEM;
    if (!db__usable(c) && db__connect(c) != DB_OK) {
        log_msg(LOG_WARN, "database unavailable", "error", c->error, LOG_END);
        return DB_EUNAVAILABLE;
    }
    *out = c;
    return DB_OK;
}

static time_t db__now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

int db_acquire_read(struct db_conn **out)
{
    struct db_conn *c;

    if (db__read_conninfo == NULL)
        return db_acquire(out);
    c = db__thread_conn(&db__mine_read, true);
    if (c == NULL)
        return DB_ENOMEM;
    if (!db__usable(c)) {
        if (db__now() < c->retry_after)
            return db_acquire(out);
        if (db__connect(c) != DB_OK) {
            c->retry_after = db__now() + DB_READ_RETRY_SECONDS;
            log_msg(LOG_WARN,
                    "read database unavailable; reading from the "
                    "primary",
                    "error", c->error, LOG_END);
            return db_acquire(out);
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
        PGresult *res = db__unnamed
                            ? PQexecParams(c->pg, st->sql, st->nparams, NULL,
                                           params, NULL, NULL, 0)
                            : PQexecPrepared(c->pg, st->name, st->nparams,
                                             params, NULL, NULL, 0);
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
    if (db__unnamed)
        return db_query(c, &st, params, idempotent, out);
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
    free(db__read_conninfo);
    db__read_conninfo = NULL;
}
