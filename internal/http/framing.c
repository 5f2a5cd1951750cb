/* http/framing — what can be refused from the request line and headers
 * alone, before any body is read: oversized or too many headers (431), an
 * over-long URL (414), ambiguous framing (400), a transfer coding other
 * than chunked (400) and a Content-Length over MAX_BODY_BYTES (413).
 * Beyond MAX_HEADER_BYTES (plus libmicrohttpd's own slack, see the pool
 * size in server.c) libmicrohttpd refuses the request itself, with its
 * own 431 or 414 page. */
#include "http_internal.h"

#include "medqa/config.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* At most this many request headers. */
#define FRAMING_MAX_HEADERS 100

struct framing__head {
    size_t bytes;
    size_t count;
    size_t content_lengths;
    size_t transfer_encodings;
};

static enum MHD_Result framing__each_header(void *cls, enum MHD_ValueKind kind,
                                            const char *key, const char *value)
{
    struct framing__head *h = cls;
    (void)kind;
    h->count++;
    h->bytes += strlen(key) + (value ? strlen(value) : 0) + 4;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
        h->content_lengths++;
    if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0)
        h->transfer_encodings++;
    return MHD_YES;
}

static enum MHD_Result framing__each_arg(void *cls, enum MHD_ValueKind kind,
                                         const char *key, const char *value)
{
    size_t *n = cls;
    (void)kind;
    *n += strlen(key) + (value ? strlen(value) + 1 : 0) + 1;
    return MHD_YES;
}

/* What is wrong with a request's Transfer-Encoding list (RFC 9112 6.1 and
 * 6.3): FRAMING_TE_OK for "chunked" alone; FRAMING_TE_UNFRAMED when
 * chunked is not the final coding, or comes twice (the body's length
 * cannot be known: the RFC says 400 and close); FRAMING_TE_UNKNOWN for a
 * coding other than chunked before a final chunked. */
enum framing__te { FRAMING_TE_OK, FRAMING_TE_UNFRAMED, FRAMING_TE_UNKNOWN };

static enum framing__te framing__te_check(const char *te)
{
    size_t n = 0, chunked = 0;
    int last_chunked = 0;

    for (const char *p = te; *p;) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, ",");
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == 0)
            break;
        last_chunked = len == 7 && strncasecmp(p, "chunked", 7) == 0;
        chunked += (size_t)last_chunked;
        n++;
        p += len;
    }
    if (!last_chunked || chunked > 1)
        return FRAMING_TE_UNFRAMED;
    return n > 1 ? FRAMING_TE_UNKNOWN : FRAMING_TE_OK;
}

int http__framing_or_reply(struct request *r)
{
    struct framing__head h = {0};
    size_t url = strlen(r->path);
    const char *cl, *te;

    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, framing__each_header,
                              &h);
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, framing__each_arg,
                              &url);
    if (url > HTTP_MAX_URL)
        return request_problem(r, PROBLEM_URI_TOO_LONG, 0,
                               "The request target is longer than 8192 "
                               "bytes.",
                               NULL);
    if (h.count > FRAMING_MAX_HEADERS || h.bytes > r->cfg->max_header_bytes)
        return request_problem(r, PROBLEM_HEADERS_TOO_LARGE, 0,
                               "Too many request headers, or too large.", NULL);
    cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
    te = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                     MHD_HTTP_HEADER_TRANSFER_ENCODING);
    if ((cl != NULL && te != NULL) || h.content_lengths > 1 ||
        h.transfer_encodings > 1) {
        /* Both framings at once, or two lengths or codings, is how
         * requests get smuggled past a proxy; refuse rather than guess
         * which one the proxy used. */
        return request_problem(r, PROBLEM_BAD_FRAMING, 0,
                               "Send one Content-Length or "
                               "Transfer-Encoding: chunked, not both.",
                               NULL);
    }
    enum framing__te te_state =
        te != NULL ? framing__te_check(te) : FRAMING_TE_OK;
    if (te_state == FRAMING_TE_UNFRAMED)
        return request_problem(r, PROBLEM_BAD_FRAMING, 0,
                               "The body's length cannot be known: chunked "
                               "must be the last transfer coding, and "
                               "appear once.",
                               NULL);
    if (te_state == FRAMING_TE_UNKNOWN) {
        /* libmicrohttpd 0.9.75 would read a body of unknown coding up to
         * the end of the connection. RFC 9112 6.1 suggests 501 here, but
         * a 5xx says the server failed, which is what alerts and retries
         * key on; a client sending a coding this API never offered is a
         * client error, and gets the 400 every other bad request gets. */
        return request_problem(r, PROBLEM_TRANSFER_CODING, 0,
                               "The only transfer coding accepted is "
                               "chunked.",
                               NULL);
    }
    if (cl != NULL) {
        char *end = NULL;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno != 0 || end == cl || n > r->cfg->max_body_bytes) {
            r->too_large = true;
            http__body(r);
            return REPLY_QUEUED;
        }
    }
    return REPLY_NONE;
}
