/* seed/copy — rows into PostgreSQL through COPY ... FROM STDIN, in the
 * text format, from one large buffer: the fastest way libpq offers to
 * load millions of rows, and the reason the synthetic load writes its own
 * fields instead of going through parameters. */
#include "synthetic_internal.h"

#include <stdio.h>
#include <string.h>

void syn__errmsg(char *errbuf, size_t errlen, const char *what, const char *msg)
{
    if (errlen == 0)
        return;
    snprintf(errbuf, errlen, "%s: %s", what, msg ? msg : "unknown error");
    size_t n = strlen(errbuf);
    while (n > 0 && (errbuf[n - 1] == '\n' || errbuf[n - 1] == ' '))
        errbuf[--n] = '\0';
}

int syn__exec(PGconn *pg, const char *sql, char *errbuf, size_t errlen)
{
    PGresult *res = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(res);
    int rc = 0;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        syn__errmsg(errbuf, errlen, sql,
                    res ? PQresultErrorMessage(res) : PQerrorMessage(pg));
        rc = -1;
    }
    PQclear(res);
    return rc;
}

static void syn_flush(struct syn_copy *cp)
{
    if (cp->failed || cp->len == 0)
        return;
    if (PQputCopyData(cp->pg, cp->buf, (int)cp->len) != 1)
        cp->failed = true;
    cp->len = 0;
}

void syn__put(struct syn_copy *cp, const char *s, size_t n)
{
    while (n > 0) {
        if (cp->len == SYN_COPY_BUF)
            syn_flush(cp);
        size_t room = SYN_COPY_BUF - cp->len;
        size_t k = n < room ? n : room;
        memcpy(cp->buf + cp->len, s, k);
        cp->len += k;
        s += k;
        n -= k;
    }
}

void syn__puts(struct syn_copy *cp, const char *s)
{
    syn__put(cp, s, strlen(s));
}

/* A field in COPY's text format: backslash, tab, newline and carriage
 * return are the characters that would end or corrupt it. */
void syn__put_field(struct syn_copy *cp, const char *s)
{
    const char *run = s;

    for (; *s != '\0'; s++) {
        const char *esc = NULL;
        switch (*s) {
        case '\\': esc = "\\\\"; break;
        case '\t': esc = "\\t"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        default: continue;
        }
        syn__put(cp, run, (size_t)(s - run));
        syn__puts(cp, esc);
        run = s + 1;
    }
    syn__put(cp, run, (size_t)(s - run));
}

/* days since 1970-01-01 to a civil date (H. Hinnant's algorithm), which
 * is far cheaper than gmtime_r() a few million times. */
void syn__put_ts(struct syn_copy *cp, long long t)
{
    long long days = t / 86400, sec = t % 86400;
    long long z = days + 719468;
    long long era = z / 146097;
    long long doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long y = yoe + era * 400;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153;
    long long d = doy - (153 * mp + 2) / 5 + 1;
    long long m = mp < 10 ? mp + 3 : mp - 9;
    /* Our times lie between 2014 and 2026, so every field has a fixed
     * width and the digits can be written directly. */
    char out[] = "YYYY-MM-DD hh:mm:ss+00";
    const long long f[6] = {y + (m <= 2),  m,       d, sec / 3600,
                            sec / 60 % 60, sec % 60};
    const int pos[6] = {0, 5, 8, 11, 14, 17};

    for (int k = 0; k < 6; k++) {
        long long v = f[k];
        int w = k == 0 ? 4 : 2;
        for (int j = w - 1; j >= 0; j--) {
            out[pos[k] + j] = (char)('0' + v % 10);
            v /= 10;
        }
    }
    syn__put(cp, out, sizeof(out) - 1);
}

int syn__copy_begin(struct syn_copy *cp, const char *sql, char *errbuf,
                    size_t errlen)
{
    PGresult *res = PQexec(cp->pg, sql);
    int rc = 0;

    if (PQresultStatus(res) != PGRES_COPY_IN) {
        syn__errmsg(errbuf, errlen, sql,
                    res ? PQresultErrorMessage(res) : PQerrorMessage(cp->pg));
        rc = -1;
    } else {
        cp->active = true;
        cp->failed = false;
        cp->len = 0;
    }
    PQclear(res);
    return rc;
}

/* Collects the COPY's outcome; libpq may return more than one result. */
static int syn_copy_results(struct syn_copy *cp, const char *what, char *errbuf,
                            size_t errlen)
{
    PGresult *res;
    int rc = 0;

    while ((res = PQgetResult(cp->pg)) != NULL) {
        if (rc == 0 && PQresultStatus(res) != PGRES_COMMAND_OK) {
            syn__errmsg(errbuf, errlen, what, PQresultErrorMessage(res));
            rc = -1;
        }
        PQclear(res);
    }
    return rc;
}

int syn__copy_end(struct syn_copy *cp, const char *what, char *errbuf,
                  size_t errlen)
{
    syn_flush(cp);
    cp->active = false;
    if (cp->failed) {
        syn__errmsg(errbuf, errlen, what, PQerrorMessage(cp->pg));
        /* End the COPY so the connection can roll back. Should the server
         * have failed the COPY itself, its error replaces libpq's. */
        PQputCopyEnd(cp->pg, "client send failed");
        syn_copy_results(cp, what, errbuf, errlen);
        return -1;
    }
    if (PQputCopyEnd(cp->pg, NULL) != 1) {
        syn__errmsg(errbuf, errlen, what, PQerrorMessage(cp->pg));
        syn_copy_results(cp, what, errbuf, 0);
        return -1;
    }
    return syn_copy_results(cp, what, errbuf, errlen);
}

void syn__copy_abort(struct syn_copy *cp)
{
    if (!cp->active)
        return;
    cp->active = false;
    PQputCopyEnd(cp->pg, "synthetic load aborted");
    syn_copy_results(cp, "abort", NULL, 0);
}
