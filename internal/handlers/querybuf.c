/* handlers/querybuf — see querybuf.h. */
#include "querybuf.h"

#include "medqa/base.h"

#include <stdio.h>
#include <string.h>

void qb_init(struct querybuf *b, const char *prefix)
{
    memset(b, 0, sizeof(*b));
    b->name_len = (size_t)snprintf(b->name, sizeof(b->name), "%s_", prefix);
}

void qb_add(struct querybuf *b, const char *fragment)
{
    size_t n = strlen(fragment);

    if (b->len + n + 1 > sizeof(b->sql)) {
        b->overflow = true;
        return;
    }
    memcpy(b->sql + b->len, fragment, n + 1);
    b->len += n;
}

void qb_addf(struct querybuf *b, const char *fmt, int n)
{
    char num[16];
    size_t numlen = (size_t)snprintf(num, sizeof(num), "%d", n);

    /* Written out here rather than by snprintf: the format is the
     * caller's constant, but not a literal the compiler can check. */
    for (const char *p = fmt; *p != '\0' && !b->overflow; p++) {
        const char *piece = p;
        size_t len = 1;
        if (p[0] == '%' && p[1] == 'd') {
            piece = num;
            len = numlen;
            p++;
        } else if (p[0] == '%' && p[1] == '%') {
            p++;
        }
        if (b->len + len + 1 > sizeof(b->sql)) {
            b->overflow = true;
            break;
        }
        memcpy(b->sql + b->len, piece, len);
        b->len += len;
    }
    b->sql[b->len] = '\0';
}

int qb_param(struct querybuf *b, const char *value)
{
    if (b->nparams == QB_MAX_PARAMS) {
        b->overflow = true;
        return QB_MAX_PARAMS;
    }
    b->params[b->nparams++] = value;
    return b->nparams;
}

void qb_filter(struct querybuf *b, const char *fmt, const char *value)
{
    qb_addf(b, fmt, qb_param(b, value));
}

void qb_shape(struct querybuf *b, char c)
{
    if (b->name_len + 2 > sizeof(b->name)) {
        b->overflow = true;
        return;
    }
    b->name[b->name_len++] = c;
    b->name[b->name_len] = '\0';
}

void qb_limit(struct querybuf *b, int limit)
{
    /* The page sizes clients use most get exactly limit + 1 rows; others
     * the next size up, at the cost of a few rows built for nothing. */
    static const struct {
        int rows;
        char shape;
        const char *sql;
    } sizes[] = {
        {2, '1', " LIMIT 2"},   {6, '5', " LIMIT 6"},
        {11, 'A', " LIMIT 11"}, {21, 'B', " LIMIT 21"},
        {26, 'C', " LIMIT 26"}, {31, 'D', " LIMIT 31"},
        {51, 'E', " LIMIT 51"}, {101, 'F', " LIMIT 101"},
    };
    size_t i = 0;

    while (i + 1 < ARRAY_SIZE(sizes) && sizes[i].rows < limit + 1)
        i++;
    if (sizes[i].rows < limit + 1) {
        b->overflow = true;
        return;
    }
    qb_shape(b, '#');
    qb_shape(b, sizes[i].shape);
    qb_add(b, sizes[i].sql);
}

int qb_keyset_keys(const struct qb_keyset *k)
{
    return k->ncolumns - (k->lookup != NULL ? 1 : 0);
}

/* Appends the columns of `k` separated by ", ", each followed by
 * `suffix`. */
static void qb__columns(struct querybuf *b, const struct qb_keyset *k,
                        const char *suffix)
{
    for (int i = 0; i < k->ncolumns; i++) {
        if (i > 0)
            qb_add(b, ", ");
        qb_add(b, k->columns[i].expr);
        qb_add(b, suffix);
    }
}

/* " AND (columns) op (values)": the row comparison that starts the page
 * after the cursor's keys. A single column is compared bare. */
static void qb__after(struct querybuf *b, const struct qb_keyset *k,
                      const char *const *after)
{
    int first = k->lookup != NULL ? 1 : 0;
    int param[QB_MAX_COLUMNS];

    for (int i = 0; i < k->ncolumns - first; i++)
        param[first + i] = qb_param(b, after[i]);
    qb_add(b, k->ncolumns > 1 ? " AND (" : " AND ");
    qb__columns(b, k, "");
    qb_add(b, k->ncolumns > 1 ? (k->desc ? ") < (" : ") > (")
                              : (k->desc ? " < " : " > "));
    for (int i = 0; i < k->ncolumns; i++) {
        const struct qb_column *col = &k->columns[i];
        if (i > 0)
            qb_add(b, ", ");
        if (i < first) {
            /* The lookup reads the first key, the next column's. */
            qb_addf(b, k->lookup, param[first]);
            continue;
        }
        qb_addf(b, "$%d", param[i]);
        if (col->type != NULL) {
            qb_add(b, "::");
            qb_add(b, col->type);
        }
    }
    if (k->ncolumns > 1)
        qb_add(b, ")");
}

void qb_keyset(struct querybuf *b, const struct qb_keyset *k,
               const char *const *after, int limit)
{
    if (k->ncolumns < 1 || k->ncolumns > QB_MAX_COLUMNS ||
        qb_keyset_keys(k) < 1) {
        b->overflow = true;
        return;
    }
    if (k->shape != 0) {
        qb_shape(b, '_');
        qb_shape(b, k->shape);
    }
    if (after != NULL) {
        qb__after(b, k, after);
        qb_shape(b, 'c');
    }
    qb_add(b, " ORDER BY ");
    qb__columns(b, k, k->desc ? " DESC" : "");
    qb_limit(b, limit);
}
