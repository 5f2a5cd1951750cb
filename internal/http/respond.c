/* http/respond — turns what a handler left in struct request into an MHD
 * response: entity tag and 304, gzip, caching, CORS, security headers.
 * The body is handed to libmicrohttpd without a copy: the buffer's owner
 * (a PGresult or a malloc'd string) moves into the response and is freed
 * when libmicrohttpd is done with it. */
#include "http_internal.h"

#include "medqa/config.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static void respond__free_pg(void *cls)
{
    PQclear(cls);
}

static void respond__free_buf(void *cls)
{
    free(cls);
}

static const char *respond__allowed_origin(const struct request *r)
{
    const char *origin =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin");
    if (origin == NULL)
        return NULL;
    for (size_t i = 0; i < r->cfg->cors_count; i++)
        if (strcmp(r->cfg->cors_origins[i], origin) == 0)
            return r->cfg->cors_origins[i];
    return NULL;
}

static void respond__cors(const struct request *r, struct MHD_Response *resp)
{
    const char *origin = respond__allowed_origin(r);

    if (r->cfg->cors_count > 0)
        MHD_add_response_header(resp, "Vary", "Origin");
    if (origin == NULL)
        return;
    /* Keys travel in Authorization, never in cookies, so credentials are
     * never allowed and an origin outside the list gets nothing. */
    MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
    MHD_add_response_header(
        resp, "Access-Control-Expose-Headers",
        "ETag, Link, Location, Retry-After, RateLimit-Limit, "
        "RateLimit-Remaining, RateLimit-Reset, X-Request-Id");
    if (strcmp(r->method, "OPTIONS") == 0) {
        MHD_add_response_header(resp, "Access-Control-Allow-Methods",
                                "GET, HEAD, POST, PATCH, DELETE, OPTIONS");
        MHD_add_response_header(
            resp, "Access-Control-Allow-Headers",
            "Authorization, Content-Type, If-Match, If-None-Match, "
            "Idempotency-Key, X-Request-Id");
        MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
    }
}

static int respond__has_header(const struct request *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return 1;
    return 0;
}

int http__respond(struct request *r)
{
    int is_read =
        strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
    unsigned status = r->status ? r->status : 500;
    char tag[48] = "";
    char *gz = NULL;
    size_t gzlen = 0;
    struct MHD_Response *resp = NULL;
    enum MHD_Result ret;

    /* A write's answer carries the new representation's tag too, so the
     * client can send it back in If-Match without another GET. */
    int tagged =
        (is_read && status == 200) ||
        (status == 201 || (status == 200 && strcmp(r->method, "PATCH") == 0));
    if (tagged && !r->no_etag && r->body_out != NULL) {
        http__etag(r->body_out, r->body_out_len, tag);
        const char *inm = MHD_lookup_connection_value(
            r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
        if (is_read && http__etag_matches(inm, tag)) {
            status = 304;
            r->status = 304;
        }
    }
    int compressible =
        status != 304 && r->body_out_len >= 1024 && r->content_type != NULL;
    if (compressible &&
        http__accepts_gzip(MHD_lookup_connection_value(
            r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING)) &&
        http__gzip(r->body_out, r->body_out_len, &gz, &gzlen) == 0) {
        resp = MHD_create_response_from_buffer_with_free_callback_cls(
            gzlen, gz, respond__free_buf, gz);
        if (resp != NULL) {
            gz = NULL;
            MHD_add_response_header(resp, "Content-Encoding", "gzip");
            if (tag[0] != '\0')
                strcpy(tag + 33, "-gzip\"");
        }
    } else if (status == 304 || r->body_out == NULL) {
        resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    } else if (r->owned_res != NULL) {
        resp = MHD_create_response_from_buffer_with_free_callback_cls(
            r->body_out_len, (void *)(uintptr_t)r->body_out, respond__free_pg,
            r->owned_res);
        if (resp != NULL)
            r->owned_res = NULL;
    } else {
        resp = MHD_create_response_from_buffer_with_free_callback_cls(
            r->body_out_len, r->owned_out, respond__free_buf, r->owned_out);
        if (resp != NULL)
            r->owned_out = NULL;
    }
    free(gz);
    if (resp == NULL)
        return MHD_NO;

    if (status != 304 && r->body_out != NULL && r->content_type != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                r->content_type);
    if (tag[0] != '\0')
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, tag);
    if (compressible || status == 304)
        MHD_add_response_header(resp, "Vary", "Accept-Encoding");
    MHD_add_response_header(resp, "X-Request-Id", r->request_id);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    if (!respond__has_header(r, "Content-Security-Policy"))
        MHD_add_response_header(resp, "Content-Security-Policy",
                                "default-src 'none'; frame-ancestors 'none'");
    if (!respond__has_header(r, "Cache-Control")) {
        const char *cc = "no-store";
        if (is_read && (status == 200 || status == 304))
            cc = (r->role == 0 && !r->private_data) ? "public, max-age=60"
                                                    : "private, max-age=0";
        MHD_add_response_header(resp, "Cache-Control", cc);
    }
    respond__cors(r, resp);
    /* RateLimit-* on every response of a limited caller. */
    http__limit_respond(r, status, resp);
    for (size_t i = 0; i < r->nheaders; i++)
        MHD_add_response_header(resp, r->headers[i].name, r->headers[i].value);
    r->bytes_sent = status == 304 ? 0 : (gzlen ? gzlen : r->body_out_len);
    ret = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}
