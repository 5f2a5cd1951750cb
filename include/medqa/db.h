/* db — PostgreSQL access: one connection per worker thread, every
 * registered statement prepared right after connecting.
 *
 * libmicrohttpd runs each request on one of its pool threads, so a
 * thread-local connection needs no lock and is never shared. With a read
 * database (DATABASE_READ_URL, a streaming replica) each thread has a
 * second connection for read-only requests. Behind PgBouncer in
 * transaction pooling mode nothing may outlive a transaction on the server
 * side, so statements are sent unnamed (PQexecParams) instead of being
 * prepared.
 *
 * Either URL may name several hosts (libpq's multi-host syntax): the
 * primary connection asks for target_session_attrs=read-write and the read
 * connection for prefer-standby, unless the URL says otherwise, and the
 * primary is looked up again whenever it is lost (see db_query()). */
#ifndef MEDQA_DB_H
#define MEDQA_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/* A statement the service runs. Every module that runs SQL while serving
 * declares its statements one way: one table `<mod>_statements[]` and its
 * length `const size_t <mod>_nstatements = ARRAY_SIZE(<mod>_statements)`,
 * both in the module's header, and one line for it in the table that
 * handlers_register_statements() (handlers/table.c) hands to
 * db_register() in one loop. */
struct db_statement {
    const char *name; /* unique; the prepared statement's name */
    const char *sql;  /* $1… placeholders; never built from input */
    int nparams;
};

enum {
    DB_OK = 0,
    DB_EUNAVAILABLE = -1, /* cannot reach the database: answer 503 */
    DB_EQUERY = -2,       /* the statement failed; see db_sqlstate() */
    DB_ENOMEM = -3,
};

struct db_conn;

/* Remembers how to connect: `conninfo` to the primary, `read_conninfo`
 * (NULL or "" for none) to a read-only copy used by db_acquire_read().
 * With `transaction_pooling` no statement is prepared: each runs as an
 * unnamed statement, parsed and planned every time, which PgBouncer's
 * transaction pooling (1.18 and older) requires. Strings are copied. Call
 * once, before any worker thread starts. Returns 0 or a negative
 * number. */
int db_init(const char *conninfo, const char *read_conninfo,
            bool transaction_pooling);

/* Failover (DATABASE_FAILOVER_TIMEOUT, DATABASE_CONNECT_TIMEOUT): a
 * request that finds no primary keeps looking for one until `wait_s`
 * seconds after the first request found it missing (0: it gets
 * DB_EUNAVAILABLE at once), and each host is given
 * `connect_timeout_s` seconds to answer (libpq's connect_timeout; 0 keeps
 * the default, 2). Call after db_init(), before any worker thread
 * starts. */
void db_set_failover(unsigned wait_s, unsigned connect_timeout_s);

/* Adds the n statements of `stmts` to the set prepared on every new
 * connection. The table must outlive the service (static storage). Called
 * only by handlers_register_statements(), before any request. */
int db_register(const struct db_statement *stmts, size_t n);

/* Returns this thread's connection, connecting (and preparing every
 * statement) when it has none or when the last one broke. The connection
 * belongs to the thread; never free it. Returns DB_OK or
 * DB_EUNAVAILABLE. */
int db_acquire(struct db_conn **out);

/* Like db_acquire() without waiting for a primary to appear: one attempt
 * to connect, for probes that must answer at once (/readyz). */
int db_acquire_now(struct db_conn **out);

/* Like db_acquire() for a request that only reads and need not see its
 * caller's own latest writes: this thread's connection to the read
 * database. Without one, or while the read database cannot be reached
 * (a connection is tried again at most every DB_READ_RETRY_SECONDS), it
 * is the primary's connection, so a lost replica slows nothing down and
 * fails nothing. */
int db_acquire_read(struct db_conn **out);

#define DB_READ_RETRY_SECONDS 5

/* True when a read database is configured. */
bool db_has_read(void);

/* True when `c` is a connection to the read database. */
bool db_is_read(const struct db_conn *c);

/* Runs a registered statement with text parameters (NULL is SQL NULL).
 * When the primary is lost under it (the connection breaks, or the
 * server turned read-only: SQLSTATE 25006), the primary is found again
 * and, outside a transaction, the statement retried once: always after
 * 25006 (it did nothing), after a broken connection only when
 * `idempotent` is true (it may have committed). Otherwise the result is
 * DB_EUNAVAILABLE and the next db_acquire() looks for the primary. On DB_OK
 * *out is a new result the caller frees with PQclear(); on error *out is NULL.
 */
int db_query(struct db_conn *c, const struct db_statement *st,
             const char *const *params, bool idempotent, PGresult **out);

/* Like db_query() for SQL composed at run time from constant fragments
 * (never from input): list queries whose WHERE clause depends on which
 * filters a request uses. The statement is prepared on this connection
 * under `name` the first time it is used there, so each combination gets
 * its own plan and is parsed once per connection. */
int db_query_named(struct db_conn *c, const char *name, const char *sql,
                   int nparams, const char *const *params, bool idempotent,
                   PGresult **out);

/* Runs a plain command without parameters (BEGIN, COMMIT, ROLLBACK). */
int db_command(struct db_conn *c, const char *sql);

/* The SQLSTATE of the last failed statement on `c` ("" when none), e.g.
 * "23505" for a unique violation. */
const char *db_sqlstate(const struct db_conn *c);

/* The primary message and the HINT of the last failure. medqa's own SQL
 * functions raise MQxxx errors whose message is written for API clients
 * and whose hint is a JSON pointer into the request body. */
const char *db_error_message(const struct db_conn *c);
const char *db_error_hint(const struct db_conn *c);

/* The server's message of the last failure, for the log only (it may name
 * tables; never send it to a client). */
const char *db_last_error(const struct db_conn *c);

/* The host and port `c` is connected to ("" when it is not): with
 * several hosts in DATABASE_URL, the one that is the primary now. */
const char *db_host(const struct db_conn *c);
const char *db_port(const struct db_conn *c);

/* Closes every connection any thread opened. Call after the server has
 * stopped and no worker runs. */
void db_shutdown(void);

/* A connection made outside the pool (CLI subcommands): the caller owns it
 * and closes it with PQfinish(). Returns NULL with a reason in errbuf. */
PGconn *db_connect_direct(const char *conninfo, char *errbuf, size_t errlen);

#endif
