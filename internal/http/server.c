/* http/server — the libmicrohttpd daemon and the life of one request:
 * start and stop, the access handler, and the dispatcher that composes
 * the policy modules in order (framing.c, target.c, limit.c, auth, the
 * validator) before the operation's handler runs.
 *
 * libmicrohttpd calls the access handler several times per request: once
 * when the headers are in, once per piece of body, and once more when the
 * body is complete. Following STYLE.md, the first call only sets up (and
 * refuses an over-large Content-Length at once); the response is queued on
 * a later call, which keeps keep-alive connections open. */
#include "medqa/http.h"

#include "http_internal.h"
#include "medqa/auth.h"
#include "medqa/base.h"
#include "medqa/config.h"
#include "medqa/handlers.h"
#include "medqa/log.h"
#include "medqa/metrics.h"
#include "medqa/problem.h"
#include "medqa/ratelimit.h"
#include "medqa/router.h"
#include "medqa/spec.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uuid/uuid.h>

struct http_server {
    struct MHD_Daemon *daemon;
    const struct config *cfg;
    const struct spec *spec;
    atomic_int in_flight;
    /* Shutdown (http_server_stop): `draining` answers every request with
     * Connection: close; once `closed`, a request not yet started is
     * refused before it runs. */
    atomic_bool draining;
    atomic_bool closed;
    MHD_socket listen_fd; /* after MHD_quiesce_daemon, ours to close */
    struct ratelimit *rl;
    struct http__headwatch *hw; /* HEADER_TIMEOUT, BODY_TIMEOUT; NULL
                                   when both are off */
};

/* A new request id, shaped like a UUID (36 characters of [0-9a-f-]):
 * 64 random bits drawn once per thread, then a per-thread counter. Ids are
 * unique as long as no two threads (of this or any other run) draw the
 * same 64 bits. A random UUID per request cost ~5 % of medqa's CPU on
 * GET /questions/{id}: libuuid reseeds from getpid(), getuid() and
 * getrandom() on every call. */
static void server__new_request_id(char out[37])
{
    static _Thread_local uint64_t prefix;
    static _Thread_local uint64_t counter;
    static _Thread_local bool seeded;

    if (!seeded) {
        uuid_t u;
        uuid_generate_random(u);
        memcpy(&prefix, u, sizeof(prefix));
        memcpy(&counter, u + sizeof(prefix), sizeof(counter));
        seeded = true;
    }
    counter++;
    snprintf(out, 37, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(prefix >> 32),
             (unsigned)(prefix >> 16) & 0xffffu, (unsigned)prefix & 0xffffu,
             (unsigned)(counter >> 48) & 0xffffu,
             (unsigned long long)(counter & 0xffffffffffffULL));
}

/* A client's X-Request-Id is echoed only when it is short and made of
 * safe characters; otherwise we make one, so logs cannot be forged. */
static void server__request_id(struct request *r)
{
    const char *given =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Request-Id");
    if (given != NULL) {
        size_t len = strlen(given);
        int ok = len > 0 && len < sizeof(r->request_id);
        for (size_t i = 0; ok && i < len; i++) {
            char c = given[i];
            ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
        }
        if (ok) {
            memcpy(r->request_id, given, len + 1);
            return;
        }
    }
    server__new_request_id(r->request_id);
}

static void server__free_request(struct request *r)
{
    if (r == NULL)
        return;
    json_decref(r->params);
    json_decref(r->body);
    free(r->raw_body);
    free(r->owned_out);
    PQclear(r->owned_res);
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r);
}

/* Answers OPTIONS on any known path: the methods it takes, and for an
 * allowed origin the CORS preflight headers (added in respond.c). */
static int server__options(struct request *r, const struct route_match *m)
{
    request_reply_empty(r, 204);
    return request_add_header(r, "Allow", m->allow);
}

/* The reply for a verdict other than ANONYMOUS and OK: the dispatcher,
 * not the authenticator, writes it. Returns REPLY_QUEUED. */
static int server__auth_reply(struct request *r, const struct auth_verdict *v)
{
    const char *detail = NULL;

    switch (v->outcome) {
    case AUTH_UNAVAILABLE: return request_problem_db(r, v->db_rc);
    case AUTH_FORBIDDEN:
        return request_problem(r, PROBLEM_FORBIDDEN, 0,
                               "This API key's role may not do this.", NULL);
    default: break;
    }
    switch (v->reason) {
    case AUTH_REASON_SCHEME: detail = "Use Authorization: Bearer <key>."; break;
    case AUTH_REASON_MALFORMED: detail = "The API key is malformed."; break;
    case AUTH_REASON_UNKNOWN:
        detail = "The API key is unknown or revoked.";
        break;
    case AUTH_REASON_EXPIRED:
        request_add_header(r, "WWW-Authenticate",
                           "Bearer realm=\"medqa\", error=\"invalid_token\"");
        return request_problem(r, PROBLEM_KEY_EXPIRED, 0,
                               "The API key has expired; ask for a new one.",
                               NULL);
    default: detail = "This operation needs an API key."; break;
    }
    request_add_header(r, "WWW-Authenticate", "Bearer realm=\"medqa\"");
    return request_problem(r, PROBLEM_UNAUTHORIZED, 0, detail, NULL);
}

/* Who is asking: the verdict's caller goes on the request, and a verdict
 * that refuses is answered. Returns REPLY_QUEUED when it replied. */
static int server__authenticate_or_reply(struct request *r)
{
    struct auth_verdict v;

    auth_authenticate(request_header(r, "Authorization"), r->op->roles, &v);
    r->role = v.role;
    memcpy(r->key_id, v.key_id, sizeof(r->key_id));
    memcpy(r->doctor_id, v.doctor_id, sizeof(r->doctor_id));
    if (v.outcome == AUTH_ANONYMOUS || v.outcome == AUTH_OK)
        return REPLY_NONE;
    return server__auth_reply(r, &v);
}

static void server__dispatch(struct request *r)
{
    struct route_match *m = malloc(sizeof(*m));
    json_t *errors = NULL;
    int rc;

    if (m == NULL) {
        request_problem(r, PROBLEM_INTERNAL, 0, NULL, NULL);
        return;
    }
    /* A path with a control character names nothing; it is refused below,
     * once the address has been charged like any unknown path. */
    rc = r->control_in_path ? ROUTER_BAD_PATH
                            : router_match(r->spec, r->method, r->path, m);
    if (strcmp(r->method, "OPTIONS") == 0 &&
        (rc == ROUTER_OK || rc == ROUTER_METHOD_NOT_ALLOWED)) {
        /* A preflight costs nothing and a 429 would break CORS. */
        http__limit_address(r, false);
        server__options(r, m);
        goto out;
    }
    bool limited = rc != ROUTER_OK || m->op->rate_limited;
    /* Nothing authenticates a request for a path the spec does not
     * have, so it counts against its address even with a key. */
    if (http__limit_address_or_reply(
            r, limited,
            rc == ROUTER_OK && request_header(r, "Authorization") != NULL) !=
        REPLY_NONE)
        goto out;
    if (r->too_large) {
        /* The same answer a Content-Length over the limit gets at once. */
        http__body(r);
        goto out;
    }
    if (r->control_in_path) {
        request_problem(r, PROBLEM_BAD_PATH, 0,
                        "The path holds a control character (U+0000 to "
                        "U+001F or U+007F), escaped or not.",
                        NULL);
        goto out;
    }
    if (rc == ROUTER_TRAILING_SLASH) {
        http__trailing_slash_reply(r);
        goto out;
    }
    if (rc == ROUTER_METHOD_NOT_ALLOWED) {
        request_add_header(r, "Allow", m->allow);
        request_problem(r, PROBLEM_METHOD, 0,
                        "This path does not support that method; see Allow.",
                        NULL);
        goto out;
    }
    if (rc != ROUTER_OK) {
        request_problem(r, PROBLEM_NOT_FOUND, 0,
                        "No resource lives at this path.", NULL);
        goto out;
    }
    r->op = m->op;
    /* Who is asking comes before what they ask: a caller without the
     * right key learns nothing from validation errors. */
    if (server__authenticate_or_reply(r) != REPLY_NONE) {
        if (limited)
            http__limit_key_or_reply(r, false);
        goto out;
    }
    if (limited && http__limit_key_or_reply(r, true) != REPLY_NONE)
        goto out;
    errors = json_array();
    if (errors == NULL) {
        request_problem(r, PROBLEM_INTERNAL, 0, NULL, NULL);
        goto out;
    }
    rc = http__params(r, m->names, m->values, m->nvalues, errors);
    if (rc != 0) {
        if (rc > 0) {
            request_problem_validation(r, errors);
            errors = NULL;
        } else {
            request_problem(r, PROBLEM_INTERNAL, 0, NULL, NULL);
        }
        goto out;
    }
    rc = http__body(r);
    if (rc != 0) {
        if (rc < 0)
            request_problem(r, PROBLEM_INTERNAL, 0, NULL, NULL);
        goto out;
    }
    handler_fn fn = (handler_fn)(uintptr_t)r->op->handler;
    if (fn(r) != 0 && r->status == 0)
        request_problem(r, PROBLEM_INTERNAL, 0, NULL, NULL);
out:
    json_decref(errors);
    free(m);
}

/* What the URI log callback leaves as a request's context when its raw
 * path holds a control character: a marker, never read or freed, that
 * server__access and server__completed take for "no request yet". */
static char server__control_target;

/* Our one look at the raw request target, before libmicrohttpd decodes
 * the path in place: a %00 there would end the decoded path early, so
 * "/questions/%00" would route as "/questions/". Nothing is allocated
 * here because libmicrohttpd may refuse the request itself (its own 431)
 * and only report it completed. */
static void *server__uri_log(void *cls, const char *uri,
                             struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    return router_target_has_control(uri) ? &server__control_target : NULL;
}

/* The connection's entry in the request deadlines' registry, or NULL
 * when they are off (http__headwatch_* ignore NULL). */
static struct http__watched *server__watched(const struct http_server *srv,
                                             struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci;

    if (srv->hw == NULL)
        return NULL;
    ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci != NULL ? ci->socket_context : NULL;
}

static enum MHD_Result server__access(void *cls, struct MHD_Connection *conn,
                                      const char *url, const char *method,
                                      const char *version,
                                      const char *upload_data,
                                      size_t *upload_data_size, void **ctx)
{
    struct http_server *srv = cls;
    struct request *r = *ctx;
    (void)version;

    if (r == NULL || r == (void *)&server__control_target) {
        bool control = r != NULL;
        http__headwatch_head_in(server__watched(srv, conn), base_now_ms());
        /* Counted before the check, and http_server_stop() sets `closed`
         * before it counts: either it waits for this request or this
         * request sees `closed` and closes the connection unanswered and
         * undone (the client may retry it elsewhere). */
        atomic_fetch_add(&srv->in_flight, 1);
        if (atomic_load(&srv->closed)) {
            atomic_fetch_sub(&srv->in_flight, 1);
            return MHD_NO;
        }
        r = calloc(1, sizeof(*r));
        if (r == NULL) {
            atomic_fetch_sub(&srv->in_flight, 1);
            return MHD_NO;
        }
        *ctx = r;
        metrics_in_flight(1);
        r->conn = conn;
        r->cfg = srv->cfg;
        r->spec = srv->spec;
        r->limit.rl = srv->rl;
        r->control_in_path = control;
        r->method = method;
        r->path = url;
        r->started_us = base_now_us();
        server__request_id(r);
        if (http__framing_or_reply(r) != REPLY_NONE) {
            /* Answered on the first call, so libmicrohttpd closes the
             * connection after it: whatever follows is not trusted to be
             * framed the way we think. The address is still charged. */
            http__limit_address(r, true);
            return (enum MHD_Result)http__respond(r);
        }
        return MHD_YES;
    }
    if (r->status != 0) {
        /* Already answered (413 or bad framing): drain and ignore. */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->too_large)
            return MHD_YES;
        if (n > r->cfg->max_body_bytes - r->raw_len) {
            /* A chunked upload has no length to check up front. Stop
             * buffering the moment it passes the limit; libmicrohttpd
             * 0.9.75 cannot queue a response mid-upload, so the rest is
             * drained and discarded and the 413 goes out at the end. */
            r->too_large = true;
            free(r->raw_body);
            r->raw_body = NULL;
            r->raw_len = r->raw_cap = 0;
            return MHD_YES;
        }
        if (r->raw_len + n + 1 > r->raw_cap) {
            size_t cap = r->raw_cap ? r->raw_cap * 2 : 4096;
            while (cap < r->raw_len + n + 1)
                cap *= 2;
            char *grown = realloc(r->raw_body, cap);
            if (grown == NULL)
                return MHD_NO;
            r->raw_body = grown;
            r->raw_cap = cap;
        }
        memcpy(r->raw_body + r->raw_len, upload_data, n);
        r->raw_len += n;
        r->raw_body[r->raw_len] = '\0';
        return MHD_YES;
    }
    http__headwatch_body_in(server__watched(srv, conn));
    server__dispatch(r);
    if (atomic_load(&srv->draining))
        /* Shutting down: the client opens its next connection elsewhere
         * rather than sending it on one about to close. */
        request_add_header(r, "Connection", "close");
    return (enum MHD_Result)http__respond(r);
}

static void server__completed(void *cls, struct MHD_Connection *conn,
                              void **ctx, enum MHD_RequestTerminationCode toe)
{
    struct http_server *srv = cls;
    struct request *r = *ctx;
    long long now_us = base_now_us();
    (void)toe;

    /* The response is out: from now the connection waits for the next
     * request's head. */
    http__headwatch_wait(server__watched(srv, conn), now_us / 1000);
    if (r == NULL || r == (void *)&server__control_target)
        return;
    long long micros = now_us - r->started_us;
    log_access(r->request_id, r->method, r->op ? r->op->path_template : "-",
               r->status, r->bytes_sent, micros);
    metrics_observe(r->op ? (long)(r->op - srv->spec->ops) : -1, r->status,
                    micros);
    metrics_in_flight(-1);
    server__free_request(r);
    *ctx = NULL;
    atomic_fetch_sub(&srv->in_flight, 1);
}

/* Registers each connection with the head deadline (http/headwatch.c)
 * while it is open. libmicrohttpd calls MHD_CONNECTION_NOTIFY_CLOSED
 * before it closes the socket, so the registry never holds a descriptor
 * that may already name another connection. */
static void server__connection(void *cls, struct MHD_Connection *conn,
                               void **socket_ctx,
                               enum MHD_ConnectionNotificationCode toe)
{
    struct http_server *srv = cls;

    if (srv->hw == NULL)
        return;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_ctx =
            ci != NULL ? http__headwatch_add(srv->hw, ci->connect_fd) : NULL;
        return;
    }
    http__headwatch_remove(srv->hw, *socket_ctx);
    *socket_ctx = NULL;
}

static void server__mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    (void)cls;
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t len = strlen(line);
    while (len > 0 && line[len - 1] == '\n')
        line[--len] = '\0';
    log_msg(LOG_DEBUG, "libmicrohttpd", "detail", line, LOG_END);
}

static void server__free(struct http_server *srv)
{
    http__headwatch_stop(srv->hw);
    ratelimit_free(srv->rl);
    free(srv);
}

/* libmicrohttpd keeps the request line, the headers and its read buffer in
 * one pool per connection, and zeroes what a request used before the next
 * one on that connection, so every pool ends up resident: at 256 open
 * connections the pools were most of medqa's memory (80 KiB each, 31.8 MiB
 * peak RSS; bench/RESULTS.md). The pool holds what we check ourselves
 * (MAX_HEADER_BYTES of headers, or a request line just over
 * HTTP_MAX_URL, so both get our problem documents, 431 and 414) plus
 * room for libmicrohttpd's header records and the response headers;
 * anything larger meets libmicrohttpd's own 431. libmicrohttpd zeroes the
 * whole pool between requests, so all of it is resident: measured at 256
 * connections (get), peak RSS 26.6 MiB with MAX_HEADER_BYTES 32768, 22.8
 * with 16384 (its default since, Node's too) and 20.8 with 8192; glibc's
 * arena count (MALLOC_ARENA_MAX 1, 2) changed nothing measurable. */
#define SERVER_POOL_SLACK (8 * 1024)

static size_t server__memory_limit(const struct config *cfg)
{
    size_t head = cfg->max_header_bytes;

    if (head < HTTP_MAX_URL + 1024)
        head = HTTP_MAX_URL + 1024;
    return head + SERVER_POOL_SLACK;
}

int http_server_start(const struct config *cfg, const struct spec *spec,
                      struct http_server **out, char *errbuf, size_t errlen)
{
    struct http_server *srv = calloc(1, sizeof(*srv));
    struct sockaddr_in6 a6;
    struct sockaddr_in a4;
    const struct sockaddr *addr = NULL;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                     MHD_USE_ITC | MHD_USE_ERROR_LOG;

    *out = NULL;
    if (srv == NULL)
        return -1;
    srv->cfg = cfg;
    srv->spec = spec;
    srv->listen_fd = MHD_INVALID_SOCKET;
    atomic_init(&srv->in_flight, 0);
    atomic_init(&srv->draining, false);
    atomic_init(&srv->closed, false);
    if (ratelimit_new(cfg->rate_entries, &srv->rl) != 0 ||
        ((cfg->head_timeout_s > 0 || cfg->body_timeout_s > 0) &&
         http__headwatch_start(cfg->head_timeout_s, cfg->body_timeout_s,
                               &srv->hw) != 0)) {
        snprintf(errbuf, errlen, "out of memory");
        server__free(srv);
        return -1;
    }
    if (cfg->host != NULL) {
        memset(&a4, 0, sizeof(a4));
        memset(&a6, 0, sizeof(a6));
        if (inet_pton(AF_INET, cfg->host, &a4.sin_addr) == 1) {
            a4.sin_family = AF_INET;
            a4.sin_port = htons((uint16_t)cfg->port);
            addr = (const struct sockaddr *)&a4;
        } else if (inet_pton(AF_INET6, cfg->host, &a6.sin6_addr) == 1) {
            a6.sin6_family = AF_INET6;
            a6.sin6_port = htons((uint16_t)cfg->port);
            addr = (const struct sockaddr *)&a6;
            flags |= MHD_USE_IPv6;
        } else {
            snprintf(errbuf, errlen,
                     "HOST: invalid value; accepts an IPv4 or IPv6 address");
            server__free(srv);
            return -1;
        }
    }
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, server__access, srv,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->workers,
        MHD_OPTION_CONNECTION_TIMEOUT, cfg->conn_timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_conn_per_ip,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, server__memory_limit(cfg),
        MHD_OPTION_NOTIFY_COMPLETED, server__completed, srv,
        MHD_OPTION_NOTIFY_CONNECTION, server__connection, srv,
        MHD_OPTION_URI_LOG_CALLBACK, server__uri_log, NULL,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
        MHD_OPTION_EXTERNAL_LOGGER, server__mhd_log, NULL,
        addr ? MHD_OPTION_SOCK_ADDR : MHD_OPTION_END, addr, MHD_OPTION_END);
    if (srv->daemon == NULL) {
        snprintf(errbuf, errlen,
                 "PORT: cannot listen on port %u (in use or not allowed)",
                 cfg->port);
        server__free(srv);
        return -1;
    }
    *out = srv;
    return 0;
}

unsigned http_server_port(const struct http_server *s)
{
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : 0;
}

/* How long no request may have run before the drain counts as done: a
 * request a client sent just before the signal can still sit unread in
 * its socket while every worker is idle for an instant. */
#define SERVER_DRAIN_QUIET_MS 200

void http_server_stop(struct http_server *s, unsigned grace_ms)
{
    unsigned waited = 0, quiet = 0;

    if (s == NULL)
        return;
    /* Stop accepting first, and refuse new connections at once rather
     * than leave them queued on a socket nobody accepts from; connections
     * already open keep being served, each closed after its answer. */
    atomic_store(&s->draining, true);
    s->listen_fd = MHD_quiesce_daemon(s->daemon);
    if (s->listen_fd != MHD_INVALID_SOCKET)
        shutdown(s->listen_fd, SHUT_RDWR);
    for (; quiet < SERVER_DRAIN_QUIET_MS && waited < grace_ms; waited += 10) {
        usleep(10000);
        quiet = atomic_load(&s->in_flight) > 0 ? 0 : quiet + 10;
    }
    /* From here a request that has not started never will, and the ones
     * that have are waited for: none is cut off after it ran. */
    atomic_store(&s->closed, true);
    for (; atomic_load(&s->in_flight) > 0 && waited < grace_ms; waited += 10)
        usleep(10000);
    MHD_stop_daemon(s->daemon);
    if (s->listen_fd != MHD_INVALID_SOCKET)
        close(s->listen_fd);
    server__free(s);
}
