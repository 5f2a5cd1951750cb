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
 * per request.
 *
 * Failover. DATABASE_URL may name several hosts; the primary connection
 * asks libpq for target_session_attrs=read-write (unless the URL says
 * otherwise), so connecting finds whichever host is the primary now. A
 * connection is given up, and the primary looked up again, when it breaks,
 * when the server answers 25006 (a read-only transaction: a primary turned
 * standby or read-only) and when the server reports itself in recovery or
 * read-only. A statement that failed with 25006 did nothing, so it is run
 * again on the new primary; one whose connection broke under it may have
 * committed, so it is run again only when idempotent (a POST is not: its
 * client retries it with its Idempotency-Key). A request that finds no
 * primary keeps looking for one until db__failover_wait_ms after the
 * first request found it missing, then gets its 503: that bounds how long
 * a failover holds requests, and a longer outage answers 503 at once. */
#include "medqa/db.h"

#include "medqa/base.h"
#include "medqa/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How often a request waiting for a primary tries to connect again. */
#define DB__FAILOVER_RETRY_MS 200

struct db_conn {
    PGconn *pg;
    bool prepared;
    bool read;          /* a connection to the read database */
    bool stale;         /* open, but the server cannot take writes any
                           more (25006): reconnect before the next use */
    bool moved;         /* the last failure was 25006: nothing ran */
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
static char *db__read_conninfo;      /* NULL: no read database */
static bool db__unnamed;             /* transaction pooling: nothing prepared */
static bool db__multi;               /* DATABASE_URL names several hosts */
static bool db__read_multi;          /* DATABASE_READ_URL does */
static int64_t db__failover_wait_ms; /* failover: see db_set_failover() */
static char db__connect_timeout[12] = "2"; /* seconds, per host */
static const struct db_statement **db__stmts;
static size_t db__nstmts;
static pthread_mutex_t db__lock = PTHREAD_MUTEX_INITIALIZER;
static struct db_conn *db__all;
static _Thread_local struct db_conn *db__mine;
static _Thread_local struct db_conn *db__mine_read;

/* True when `conninfo` names several hosts (host=a,b or
 * postgresql://a,b/...). */
static bool db__names_hosts(const char *conninfo)
{
    PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
    bool several = false;

    for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++)
        if ((strcmp(o->keyword, "host") == 0 ||
             strcmp(o->keyword, "hostaddr") == 0) &&
            o->val != NULL && strchr(o->val, ',') != NULL)
            several = true;
    PQconninfoFree(opts);
    return several;
}

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
    db__multi = db__names_hosts(db__conninfo);
    if (read_conninfo != NULL && *read_conninfo != '\0') {
        db__read_conninfo = strdup(read_conninfo);
        if (db__read_conninfo == NULL)
            return DB_ENOMEM;
        db__read_multi = db__names_hosts(db__read_conninfo);
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

void db_set_failover(unsigned wait_s, unsigned connect_timeout_s)
{
    db__failover_wait_ms = (int64_t)wait_s * 1000;
    snprintf(db__connect_timeout, sizeof(db__connect_timeout), "%u",
             connect_timeout_s ? connect_timeout_s : 2);
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

/* True when the server said it is a standby or read-only (PostgreSQL 14
 * and later report both on connecting and whenever they change, so this
 * costs no round trip). Behind PgBouncer neither may be reported: then
 * only 25006 tells. */
static bool db__server_read_only(const PGconn *pg)
{
    const char *standby = PQparameterStatus(pg, "in_hot_standby");
    const char *ro = PQparameterStatus(pg, "default_transaction_read_only");

    return (standby != NULL && strcmp(standby, "on") == 0) ||
           (ro != NULL && strcmp(ro, "on") == 0);
}

/* Connects to `conninfo`, asking for a server in `attrs` (libpq's
 * target_session_attrs; NULL for libpq's default, any) among the hosts it
 * names. */
static PGconn *db__open(const char *conninfo, const char *attrs, char *errbuf,
                        size_t errlen)
{
    /* These come before dbname so that a value in the URL wins;
     * expand_dbname lets DATABASE_URL be a URI or a key=value string.
     * TCP keepalives notice a host that vanished without a reset. */
    const char *const keys[] = {"connect_timeout",
                                "application_name",
                                "target_session_attrs",
                                "keepalives_idle",
                                "keepalives_interval",
                                "keepalives_count",
                                "dbname",
                                NULL};
    const char *const vals[] = {
        db__connect_timeout, "medqa", attrs, "10", "5", "3", conninfo, NULL};
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

PGconn *db_connect_direct(const char *conninfo, char *errbuf, size_t errlen)
{
    return db__open(conninfo, db__names_hosts(conninfo) ? "read-write" : NULL,
                    errbuf, errlen);
}

static void db__note_error(struct db_conn *c, const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(c->pg);

    const char *primary =
        res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *hint =
        res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;

    c->moved = false;
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

/* When the primary was first found missing (base_now_ms()), 0 while it
 * is there: one outage for every thread, so that waits end together. */
static _Atomic int64_t db__lost_since_ms;

static int db__connect(struct db_conn *c)
{
    char err[256];

    db__forget_named(c);

    if (c->pg != NULL) {
        PQfinish(c->pg);
        c->pg = NULL;
    }
    c->prepared = false;
    c->stale = false;
    /* With one host there is nothing to choose from: libpq's checks would
     * only cost a round trip (or, for prefer-standby, a second connection)
     * where the server does not report its state. */
    if (c->read)
        c->pg = db__open(db__read_conninfo,
                         db__read_multi ? "prefer-standby" : NULL, err,
                         sizeof(err));
    else
        c->pg = db__open(db__conninfo, db__multi ? "read-write" : NULL, err,
                         sizeof(err));
    if (c->pg == NULL) {
        snprintf(c->error, sizeof(c->error), "%s", err);
        return DB_EUNAVAILABLE;
    }
    /* A URL saying target_session_attrs=any may still land on a standby:
     * writes would fail there, so look on. */
    if (!c->read && db__server_read_only(c->pg)) {
        snprintf(c->error, sizeof(c->error),
                 "%s:%s is read-only or a standby, not the primary",
                 PQhost(c->pg), PQport(c->pg));
        PQfinish(c->pg);
        c->pg = NULL;
        return DB_EUNAVAILABLE;
    }
    if (!c->read)
        atomic_store(&db__lost_since_ms, 0);
    log_msg(LOG_INFO,
            c->read ? "connected to the read database"
                    : "connected to the primary",
            "host", PQhost(c->pg), "port", PQport(c->pg), LOG_END);
    return db__prepare_all(c);
}

/* db__connect(), again every DB__FAILOVER_RETRY_MS while no primary can be
 * found, until db__failover_wait_ms after the primary was first found
 * missing by any thread: a failover or switchover then costs requests a
 * wait instead of a 503, and once an outage lasts longer every request
 * gets its 503 at once (after one attempt) instead of each holding its
 * worker for the whole wait, which would queue every other request. */
static int db__connect_waiting(struct db_conn *c)
{
    int64_t since = atomic_load(&db__lost_since_ms);
    int rc;

    while ((rc = db__connect(c)) == DB_EUNAVAILABLE) {
        int64_t now = base_now_ms();
        if (since == 0) {
            /* The first thread to notice sets the time; the others
             * take theirs from it. */
            int64_t none = 0;
            since =
                atomic_compare_exchange_strong(&db__lost_since_ms, &none, now)
                    ? now
                    : none;
        }
        if (now + DB__FAILOVER_RETRY_MS > since + db__failover_wait_ms)
            return rc;
        struct timespec pause = {0, DB__FAILOVER_RETRY_MS * 1000000L};
        nanosleep(&pause, NULL);
    }
    return rc;
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

/* A primary connection is unusable too once its server has said it is a
 * standby or read-only: the primary has moved. */
static bool db__usable(const struct db_conn *c)
{
    return c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK && c->prepared &&
           !c->stale && (c->read || !db__server_read_only(c->pg));
}

static int db__acquire(struct db_conn **out, bool wait)
{
    struct db_conn *c = db__thread_conn(&db__mine, false);

    *out = NULL;
    if (c == NULL)
        return DB_ENOMEM;
    if (!db__usable(c) &&
        (wait ? db__connect_waiting(c) : db__connect(c)) != DB_OK) {
        log_msg(LOG_WARN, "database unavailable", "error", c->error, LOG_END);
        return DB_EUNAVAILABLE;
    }
    *out = c;
    return DB_OK;
}

int db_acquire(struct db_conn **out)
{
    return db__acquire(out, true);
}

int db_acquire_now(struct db_conn **out)
{
    return db__acquire(out, false);
}

static time_t db__now(void)
{
    return (time_t)(base_now_ms() / 1000);
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

/* After a failed statement on `c`: true when the connection is lost or
 * its server can no longer take writes, so the primary must be found
 * again. Sets c->moved when the server refused because it is read-only
 * (25006): the statement did nothing. A broken connection, or a server
 * shutting down (57P01–57P03), leaves the outcome unknown. */
static bool db__primary_lost(struct db_conn *c)
{
    c->moved = false;
    if (PQstatus(c->pg) != CONNECTION_OK)
        return true;
    if (strcmp(c->sqlstate, "25006") == 0 && !c->read) {
        c->moved = true;
        c->stale = true;
        return true;
    }
    if (strncmp(c->sqlstate, "57P0", 4) == 0) {
        c->stale = true;
        return true;
    }
    return false;
}

/* Runs `st` once more after the primary was lost, when that is safe: the
 * connection was outside a transaction (inside one, the transaction went
 * with it) and either the statement did nothing (25006) or running it
 * twice is harmless. */
static bool db__may_retry(const struct db_conn *c, bool idempotent,
                          PGTransactionStatusType before)
{
    return before == PQTRANS_IDLE && (idempotent || c->moved);
}

/* db_query() with named statements' retry left to the caller when
 * `retry` is false. */
static int db__query(struct db_conn *c, const struct db_statement *st,
                     const char *const *params, bool idempotent, bool retry,
                     PGresult **out)
{
    *out = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        PGTransactionStatusType before = PQtransactionStatus(c->pg);
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
        if (!db__primary_lost(c))
            return DB_EQUERY;
        /* The next db_acquire() finds the primary again unless this
         * retry does. */
        if (!retry || attempt == 1 || !db__may_retry(c, idempotent, before))
            return DB_EUNAVAILABLE;
        if ((c->read ? db__connect(c) : db__connect_waiting(c)) != DB_OK)
            return DB_EUNAVAILABLE;
    }
    return DB_EUNAVAILABLE;
}

int db_query(struct db_conn *c, const struct db_statement *st,
             const char *const *params, bool idempotent, PGresult **out)
{
    return db__query(c, st, params, idempotent, true, out);
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
        PGTransactionStatusType before = PQtransactionStatus(c->pg);
        if (!db__has_named(c, name))
            rc = db__prepare_named(c, name, sql, nparams);
        else
            rc = DB_OK;
        if (rc == DB_OK)
            rc = db__query(c, &st, params, idempotent, false, out);
        if (rc != DB_EUNAVAILABLE || attempt == 1 ||
            !db__may_retry(c, idempotent, before))
            return rc;
        /* Reconnecting forgets the named statements; the loop prepares
         * this one again on the new connection. */
        if ((c->read ? db__connect(c) : db__connect_waiting(c)) != DB_OK)
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
        rc = db__primary_lost(c) ? DB_EUNAVAILABLE : DB_EQUERY;
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

const char *db_host(const struct db_conn *c)
{
    const char *h = c->pg != NULL ? PQhost(c->pg) : NULL;

    return h != NULL ? h : "";
}

const char *db_port(const struct db_conn *c)
{
    const char *p = c->pg != NULL ? PQport(c->pg) : NULL;

    return p != NULL ? p : "";
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
