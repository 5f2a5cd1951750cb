/* http/target — the request target's own rules, as openapi.yaml's
 * info.description states them: a path holding a control character is a
 * 400 (bad-path), and a path ending in a slash is answered with a 308 to
 * the same path without it (RFC 9110 15.4.9: permanent, method and body
 * kept), so a trailing slash never silently reaches another resource and
 * relative links on the page it names resolve as they would without it. */
#include "http_internal.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes n bytes of s percent-encoded, keeping the unreserved characters
 * (RFC 3986 2.3) and those of `keep`. */
static void target__encode(FILE *f, const char *s, size_t n, const char *keep)
{
    static const char hex[] = "0123456789ABCDEF";

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || (c != '\0' && strchr("-._~", c)) ||
            (c != '\0' && strchr(keep, c)))
            fputc(c, f);
        else
            fprintf(f, "%%%c%c", hex[c >> 4], hex[c & 15]);
    }
}

struct target__query {
    FILE *f;
    bool first;
};

/* Appends one query argument, in the order the client sent them. */
static enum MHD_Result target__each_arg(void *cls, enum MHD_ValueKind kind,
                                        const char *key, const char *value)
{
    struct target__query *q = cls;
    (void)kind;
    fputc(q->first ? '?' : '&', q->f);
    q->first = false;
    target__encode(q->f, key, strlen(key), "");
    if (value != NULL) {
        fputc('=', q->f);
        target__encode(q->f, value, strlen(value), "");
    }
    return MHD_YES;
}

int http__trailing_slash_reply(struct request *r)
{
    struct target__query q = {NULL, true};
    char *loc = NULL;
    size_t len = 0;

    /* The Location is built from the decoded path and arguments,
     * encoded again: libmicrohttpd keeps no raw copy of the target. */
    q.f = open_memstream(&loc, &len);
    if (q.f == NULL)
        return request_problem(r, PROBLEM_INTERNAL, 0, NULL, NULL);
    target__encode(q.f, r->path, strlen(r->path) - 1, "/!$&'()*+,;=:@");
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, target__each_arg,
                              &q);
    if (fclose(q.f) != 0 || loc == NULL) {
        free(loc);
        return request_problem(r, PROBLEM_INTERNAL, 0, NULL, NULL);
    }
    request_reply_empty(r, 308);
    request_add_header(r, "Location", loc);
    free(loc);
    return REPLY_QUEUED;
}
