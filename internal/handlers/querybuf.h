/* handlers/querybuf — composes list queries from constant SQL fragments.
 *
 * Which filters a request uses decides which fragments are appended; the
 * values only ever travel as $n parameters. The statement name encodes the
 * shape, so each shape is prepared once per connection with its own plan.
 * Every list ends in qb_keyset(): its keyset condition, its ORDER BY and
 * its constant LIMIT. */
#ifndef MEDQA_HANDLERS_QUERYBUF_H
#define MEDQA_HANDLERS_QUERYBUF_H

#include <stdbool.h>
#include <stddef.h>

#define QB_MAX_PARAMS 16

/* A timestamp column as the text of a cursor key: UTC with microseconds,
 * which casts back to the same timestamptz, so a page starts exactly
 * after the last row of the one before. */
#define QB_TS(col)                                                             \
    "to_char(" col " AT TIME ZONE 'UTC', "                                     \
    "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

#define QB_MAX_COLUMNS 3

struct querybuf {
    char sql[4096];
    size_t len;
    char name[64];
    size_t name_len;
    const char *params[QB_MAX_PARAMS];
    int nparams;
    bool overflow; /* something did not fit: the query must not run */
};

void qb_init(struct querybuf *b, const char *prefix);

/* Appends a constant fragment. */
void qb_add(struct querybuf *b, const char *fragment);

/* Appends the constant `fmt` with every "%d" in it written as `n`, a
 * parameter the caller added with qb_param() ("$%d" becomes "$3"), and
 * every "%%" as "%". */
void qb_addf(struct querybuf *b, const char *fmt, int n);

/* Adds a parameter value and returns its number for use in a fragment. */
int qb_param(struct querybuf *b, const char *value);

/* Adds `value` as a parameter and appends `fmt` naming it (qb_addf). */
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

/* One column of a keyset ordering. */
struct qb_column {
    const char *expr; /* what rows are ordered by: "q.asked_at" */
    const char *type; /* the cursor value's cast ("timestamptz"); NULL:
                         text, no cast */
};

/* A keyset ordering: columns whose last one is unique, so the order is
 * total, all in one direction; and how the keys a cursor holds become
 * the values the columns are compared with. */
struct qb_keyset {
    char shape; /* the ordering in the statement's name; 0: none */
    bool desc;  /* descending: the next page lies below the cursor */
    int ncolumns;
    struct qb_column columns[QB_MAX_COLUMNS];
    /* NULL, or SQL with one "$%d" that looks the first column's value up
     * from the cursor's first key (a topic's name from its slug): then
     * the cursor holds the keys of the other columns only, so a name with
     * any characters never travels in it. */
    const char *lookup;
};

/* The members of a qb_keyset ordered by a timestamp with a uuid
 * tie-breaker, which most lists are: a timestamp alone is not unique. */
#define QB_BY_TIME(ts, id)                                                     \
    .ncolumns = 2, .columns = {{ts, "timestamptz"}, {id, "uuid"}}

/* How many keys a cursor of `k` holds, and so how many key columns
 * follow the item in each row of its list. */
int qb_keyset_keys(const struct qb_keyset *k);

/* Ends a list query: with `after` (the cursor's qb_keyset_keys(k) keys,
 * or NULL on a first page) " AND (columns) < (values)" (">" ascending),
 * the values as new parameters; then " ORDER BY" the columns and
 * qb_limit(limit). The query before it ends in a WHERE clause. */
void qb_keyset(struct querybuf *b, const struct qb_keyset *k,
               const char *const *after, int limit);

#endif
