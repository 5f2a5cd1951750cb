/* http/server — the libmicrohttpd daemon and the life of one request.
 *
 * libmicrohttpd calls the access handler several times per request: once
 * when the headers are in, once per piece of body, and once more when the
 * body is complete. Following STYLE.md, the first call only sets up (and
 * refuses an over-large Content-Length at once); the response is queued on
 * a later call, which keeps keep-alive connections open. */
#include "medqa/http.h"

#include "http_internal.h"
#include "medqa/auth.h"
#include "medqa/config.h"
#include "medqa/handlers.h"
#include "medqa/log.h"
#include "medqa/problem.h"
#include "medqa/router.h"
#include "medqa/spec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

struct http_server {
    struct MHD_Daemon *daemon;
    const struct config *cfg;
    const struct spec *spec;
    atomic_int in_flight;
};

static long long server__now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A client's X-Request-Id is echoed only when it is short and made of
 * safe characters; otherwise we make one, so logs cannot be forged. */
static void server__request_id(struct request *r)
{
    const char *given = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                    "X-Request-Id");
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
    uuid_t u;
    uuid_generate_random(u);
    uuid_unparse_lower(u, r->request_id);
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

static void server__dispatch(struct request *r)
{
    struct route_match *m = malloc(sizeof(*m));
    json_t *errors = NULL;
    int rc;

    if (m == NULL) {
        problem_reply(r, 500, "internal", NULL, NULL, NULL);
        return;
    }
    if (r->too_large) {
        /* The same answer a Content-Length over the limit gets at once. */
        http__body(r);
        goto out;
    }
    rc = router_match(r->spec, r->method, r->path, m);
    if (strcmp(r->method, "OPTIONS") == 0 &&
        (rc == ROUTER_OK || rc == ROUTER_METHOD_NOT_ALLOWED)) {
        server__options(r, m);
        goto out;
    }
    if (rc == ROUTER_METHOD_NOT_ALLOWED) {
        request_add_header(r, "Allow", m->allow);
        problem_reply(r, 405, "method-not-allowed", NULL,
                      "This path does not support that method; see Allow.",
                      NULL);
        goto out;
    }
    if (rc != ROUTER_OK) {
        problem_reply(r, 404, "not-found", NULL,
                      "No resource lives at this path.", NULL);
        goto out;
    }
    r->op = m->op;
    /* Who is asking comes before what they ask: a caller without the
     * right key learns nothing from validation errors. */
    if (auth_authenticate(r) != 0)
        goto out;
    errors = json_array();
    if (errors == NULL) {
        problem_reply(r, 500, "internal", NULL, NULL, NULL);
        goto out;
    }
    rc = http__params(r, m->names, m->values, m->nvalues, errors);
    if (rc != 0) {
        if (rc > 0) {
            problem_validation(r, errors);
            errors = NULL;
        } else {
            problem_reply(r, 500, "internal", NULL, NULL, NULL);
        }
        goto out;
    }
    rc = http__body(r);
    if (rc != 0) {
        if (rc < 0)
            problem_reply(r, 500, "internal", NULL, NULL, NULL);
        goto out;
    }
    handler_fn fn = (handler_fn)(uintptr_t)r->op->handler;
    if (fn(r) != 0 && r->status == 0)
        problem_reply(r, 500, "internal", NULL, NULL, NULL);
out:
    json_decref(errors);
    free(m);
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

    if (r == NULL) {
        r = calloc(1, sizeof(*r));
        if (r == NULL)
            return MHD_NO;
        *ctx = r;
        atomic_fetch_add(&srv->in_flight, 1);
        r->conn = conn;
        r->cfg = srv->cfg;
        r->spec = srv->spec;
        r->method = method;
        r->path = url;
        r->started_us = server__now_us();
        server__request_id(r);
        const char *cl = MHD_lookup_connection_value(
            conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        const char *te = MHD_lookup_connection_value(
            conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
        if (cl != NULL && te != NULL) {
            /* Both framings at once is how requests get smuggled past a
             * proxy; refuse rather than guess which one the proxy used. */
            problem_reply(r, 400, "bad-framing", NULL,
                          "Send Content-Length or Transfer-Encoding, not "
                          "both.",
                          NULL);
            r->bad_framing = true;
            return (enum MHD_Result)http__respond(r);
        }
        if (cl != NULL) {
            char *end = NULL;
            errno = 0;
            unsigned long long n = strtoull(cl, &end, 10);
            if (errno != 0 || end == cl || n > r->cfg->max_body_bytes) {
                r->too_large = true;
                http__body(r);
                return (enum MHD_Result)http__respond(r);
            }
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
    server__dispatch(r);
    return (enum MHD_Result)http__respond(r);
}

static void server__completed(void *cls, struct MHD_Connection *conn,
                              void **ctx, enum MHD_RequestTerminationCode toe)
{
    struct http_server *srv = cls;
    struct request *r = *ctx;
    (void)conn;
    (void)toe;

    if (r == NULL)
        return;
    log_access(r->request_id, r->method,
               r->op ? r->op->path_template : "-", r->status, r->bytes_sent,
               server__now_us() - r->started_us);
    server__free_request(r);
    *ctx = NULL;
    atomic_fetch_sub(&srv->in_flight, 1);
}

static void server__mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    (void)cls;
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t len = strlen(line);
    while (len > 0 && line[len - 1] == '\n')
        line[--len] = '\0';
    log_msg(LOG_DEBUG, "libmicrohttpd", "detail", line, NULL);
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
    atomic_init(&srv->in_flight, 0);
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
            free(srv);
            return -1;
        }
    }
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, server__access, srv,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->workers,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)1024,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
        MHD_OPTION_NOTIFY_COMPLETED, server__completed, srv,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
        MHD_OPTION_EXTERNAL_LOGGER, server__mhd_log, NULL,
        addr ? MHD_OPTION_SOCK_ADDR : MHD_OPTION_END, addr,
        MHD_OPTION_END);
    if (srv->daemon == NULL) {
        snprintf(errbuf, errlen,
                 "PORT: cannot listen on port %u (in use or not allowed)",
                 cfg->port);
        free(srv);
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

void http_server_stop(struct http_server *s, unsigned grace_ms)
{
    if (s == NULL)
        return;
    /* Stop accepting first; connections already open keep being served
     * until their requests are answered or the grace period ends. */
    MHD_quiesce_daemon(s->daemon);
    for (unsigned waited = 0;
         atomic_load(&s->in_flight) > 0 && waited < grace_ms; waited += 10)
        usleep(10000);
    MHD_stop_daemon(s->daemon);
    free(s);
}
