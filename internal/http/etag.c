/* http/etag — entity tags from a SHA-256 of the representation (OpenSSL),
 * truncated to 128 bits: cheap next to the database round trip, and with
 * no practical chance of two bodies sharing a tag. */
#include "http_internal.h"

#include "medqa/base.h"

#include <stdio.h>
#include <string.h>

void http__etag(const char *body, size_t len, char tag[40])
{
    tag[0] = '"';
    base_sha256_hex(body, len, 16, tag + 1);
    tag[33] = '"';
    tag[34] = '\0';
}

/* Compares one list member with `tag` (quoted): weak comparison, so a
 * W/ prefix and our "-gzip" variant suffix do not matter. */
static int etag__member_matches(const char *m, size_t len, const char *tag)
{
    size_t tlen = strlen(tag) - 2; /* without quotes */

    if (len >= 2 && m[0] == 'W' && m[1] == '/') {
        m += 2;
        len -= 2;
    }
    if (len < 2 || m[0] != '"' || m[len - 1] != '"')
        return 0;
    m++;
    len -= 2;
    if (len >= 5 && memcmp(m + len - 5, "-gzip", 5) == 0)
        len -= 5;
    return len == tlen && memcmp(m, tag + 1, tlen) == 0;
}

int http__etag_matches(const char *header, const char *tag)
{
    const char *p = header;

    if (header == NULL)
        return 0;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == '*')
            return 1;
        size_t len = strcspn(p, ",");
        size_t trimmed = len;
        while (trimmed > 0 && p[trimmed - 1] == ' ')
            trimmed--;
        if (trimmed > 0 && etag__member_matches(p, trimmed, tag))
            return 1;
        p += len;
    }
    return 0;
}
