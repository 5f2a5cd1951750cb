/* handlers/querybuf — composes list queries from constant SQL fragments.
 *
 * Which filters a request uses decides which fragments are appended; the
 * values only ever travel as $n parameters. The statement name encodes the
 * shape, so each shape is prepared once per connection with its own plan. */
#ifndef MEDQA_HANDLERS_QUERYBUF_H
#define MEDQA_HANDLERS_QUERYBUF_H

#include <stdbool.h>
#include <stddef.h>

#define QB_MAX_PARAMS 16

struct querybuf {
    char sql[4096];
    size_t len;
    char name[64];
    size_t name_len;
    const char *params[QB_MAX_PARAMS];
    int nparams;
    bool overflow;
};

void qb_init(struct querybuf *b, const char *prefix);

/* Appends a constant fragment. */
void qb_add(struct querybuf *b, const char *fragment);

/* Adds a parameter value and returns its number for use in a fragment. */
int qb_param(struct querybuf *b, const char *value);

/* Appends a fragment with one "$%d" placeholder bound to `value`. */
void qb_filter(struct querybuf *b, const char *fmt, const char *value);

/* Appends " LIMIT n" for a page of `limit` items: n is a constant of
 * querybuf.c at least limit + 1, so the caller knows whether more rows
 * follow (it shows `limit` of them and ignores the rest). A constant, not
 * a $n parameter: PostgreSQL's generic plan assumes an unknown LIMIT
 * returns a tenth of the table, costs it accordingly, and so plans every
 * execution anew; with a constant the cached plan is used. The constant
 * is part of the statement's shape. */
void qb_limit(struct querybuf *b, int limit);

/* Records one more character of the statement's shape in its name. */
void qb_shape(struct querybuf *b, char c);

#endif
