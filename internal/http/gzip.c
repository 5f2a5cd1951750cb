/* http/gzip — Content-Encoding: gzip through zlib. */
#include "http_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

int http__gzip(const char *in, size_t len, char **out, size_t *outlen)
{
    z_stream zs;
    int rc = -1;

    memset(&zs, 0, sizeof(zs));
    *out = NULL;
    /* windowBits 15 + 16 asks zlib for the gzip wrapper; level 4 keeps the
     * CPU cost per response small for JSON, which compresses well anyway. */
    if (deflateInit2(&zs, 4, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK)
        return -1;
    size_t cap = deflateBound(&zs, (uLong)len);
    char *buf = malloc(cap);
    if (buf == NULL)
        goto out;
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)buf;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
        goto out;
    /* Not worth the client's CPU when it saves under a tenth. */
    if (zs.total_out >= len - len / 10)
        goto out;
    *out = buf;
    *outlen = zs.total_out;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    deflateEnd(&zs);
    return rc;
}

int http__accepts_gzip(const char *ae)
{
    const char *p = ae;

    if (ae == NULL)
        return 0;
    /* Walk the comma-separated codings; "gzip;q=0" is a refusal. */
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ",");
        size_t name = strcspn(p, ";, ");
        if ((name == 4 && strncasecmp(p, "gzip", 4) == 0) ||
            (name == 1 && *p == '*')) {
            const char *q = memchr(p, ';', len);
            if (q == NULL)
                return 1;
            q++;
            while (*q == ' ')
                q++;
            if (strncasecmp(q, "q=", 2) == 0) {
                double v = strtod(q + 2, NULL);
                return v > 0.0;
            }
            return 1;
        }
        p += len;
    }
    return 0;
}
