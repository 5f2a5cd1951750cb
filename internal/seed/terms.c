/* seed/terms — questions.reply_terms for a synthetic load, computed on a
 * second connection while the first one stores rows.
 *
 * questions.reply_terms is what mq_reply_terms() makes of the question's
 * doctor replies; the per-row trigger that keeps it current is off during
 * the load. Updating a million loaded rows afterwards rewrites the whole
 * table (measured: minutes). Instead the text of each question's doctor
 * replies goes, a batch at a time, to mq_reply_terms_of() on a second
 * connection, and the result is copied in with the question: the second
 * backend computes batch j + 1 while the first one stores batch j, so the
 * work runs on two cores. The second connection only evaluates an
 * immutable function; it writes nothing. */
#include "synthetic_internal.h"

#include <stdio.h>
#include <stdlib.h>

static const char syn_terms_sql[] =
    "SELECT mq_reply_terms_of(u.t)::text "
    "FROM json_array_elements_text($1::json) WITH ORDINALITY AS u(t, n) "
    "ORDER BY u.n";

/* Sends the reply text of questions order[from..to) to be turned into
 * terms: one JSON array, a string (the doctor replies joined by a space,
 * in reply order, as mq_reply_terms() joins them) or null per question. */
static int syn_terms_send(struct syn_terms *t, const struct syn_gen *g,
                          const uint64_t *order, long from, long to,
                          char *errbuf, size_t errlen)
{
    json_t *arr = json_array();
    char *doc = NULL;
    int rc = -1;

    if (arr == NULL)
        goto nomem;
    for (long k = from; k < to; k++) {
        long i = (long)(order[k] & SYN_INDEX_MASK);
        struct syn_plan p;
        json_t *v;

        syn__plan(g, i, &p);
        t->t.len = 0;
        t->t.s[0] = '\0';
        for (int r = 0; r < p.nreplies; r++) {
            struct syn_str body;
            if (p.replies[r].kind == SYN_EDITORIAL)
                continue;
            syn__reply_text(g, i, &p, r, &body);
            if (t->t.len > 0)
                syn__add(&t->t, " ");
            syn__addn(&t->t, body.s, body.len);
        }
        v = t->t.len > 0 ? json_stringn(t->t.s, t->t.len) : json_null();
        if (v == NULL || json_array_append_new(arr, v) != 0)
            goto nomem;
    }
    doc = json_dumps(arr, JSON_COMPACT);
    if (doc == NULL)
        goto nomem;
    const char *params[] = {doc};
    if (PQsendQueryParams(t->pg, syn_terms_sql, 1, NULL, params, NULL, NULL,
                          0) != 1) {
        syn__errmsg(errbuf, errlen, "reply terms", PQerrorMessage(t->pg));
        goto out;
    }
    t->in_flight = true;
    rc = 0;
    goto out;
nomem:
    snprintf(errbuf, errlen, "out of memory");
out:
    free(doc);
    json_decref(arr);
    return rc;
}

/* Reads the batch in flight into t->ready; it must hold `expect` rows. */
static int syn_terms_wait(struct syn_terms *t, long expect, char *errbuf,
                          size_t errlen)
{
    PGresult *res = PQgetResult(t->pg);
    PGresult *extra;
    int rc = -1;

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        syn__errmsg(errbuf, errlen, "reply terms",
                    res ? PQresultErrorMessage(res) : PQerrorMessage(t->pg));
        PQclear(res);
        res = NULL;
    } else if (PQntuples(res) != expect) {
        snprintf(errbuf, errlen, "reply terms: %d rows for %ld questions",
                 PQntuples(res), expect);
        PQclear(res);
        res = NULL;
    } else {
        rc = 0;
    }
    while ((extra = PQgetResult(t->pg)) != NULL)
        PQclear(extra);
    t->in_flight = false;
    PQclear(t->ready);
    t->ready = res;
    return rc;
}

int syn__terms_next(struct syn_terms *t, const struct syn_gen *g,
                    const uint64_t *order, long n, long k, char *errbuf,
                    size_t errlen)
{
    long end = k + SYN_TERMS_BATCH < n ? k + SYN_TERMS_BATCH : n;

    if (k == 0 && syn_terms_send(t, g, order, 0, end, errbuf, errlen) != 0)
        return -1;
    if (syn_terms_wait(t, end - k, errbuf, errlen) != 0)
        return -1;
    if (end < n) {
        long next = end + SYN_TERMS_BATCH < n ? end + SYN_TERMS_BATCH : n;
        if (syn_terms_send(t, g, order, end, next, errbuf, errlen) != 0)
            return -1;
    }
    return 0;
}

void syn__terms_close(struct syn_terms *t)
{
    PGresult *res;

    if (t->in_flight) {
        PGcancel *c = PQgetCancel(t->pg);
        char buf[256];
        if (c != NULL) {
            PQcancel(c, buf, sizeof(buf));
            PQfreeCancel(c);
        }
        while ((res = PQgetResult(t->pg)) != NULL)
            PQclear(res);
        t->in_flight = false;
    }
    PQclear(t->ready);
    t->ready = NULL;
}
