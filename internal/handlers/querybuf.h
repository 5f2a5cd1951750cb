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

/* Records one more character of the statement's shape in its name. */
void qb_shape(struct querybuf *b, char c);

#endif
