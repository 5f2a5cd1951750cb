/* handlers/querybuf — see querybuf.h. */
#include "querybuf.h"

#include <stdarg.h>
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
    char frag[512];
    int n = qb_param(b, value);
    /* fmt is always a string constant of the caller's. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(frag, sizeof(frag), fmt, n, n, n);
#pragma GCC diagnostic pop
    qb_add(b, frag);
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
    size_t n = sizeof(sizes) / sizeof(sizes[0]);
    size_t i = 0;

    while (i + 1 < n && sizes[i].rows < limit + 1)
        i++;
    if (sizes[i].rows < limit + 1) {
        b->overflow = true;
        return;
    }
    qb_shape(b, '#');
    qb_shape(b, sizes[i].shape);
    qb_add(b, sizes[i].sql);
}
