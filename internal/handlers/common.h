/* handlers/common — what every resource handler needs: the database
 * connection or a 503, SQL errors turned into problems, If-Match lists,
 * keyset pages with sealed cursors and Link headers. */
#ifndef MEDQA_HANDLERS_COMMON_H
#define MEDQA_HANDLERS_COMMON_H

#include "medqa/cursor.h"
#include "medqa/db.h"
#include "medqa/request.h"

#include <stdbool.h>
#include <stddef.h>

/* This thread's connection; on failure it has replied 503 and returns
 * NULL. */
struct db_conn *hx_conn(struct request *r);

/* Answers a failed statement: medqa's MQ4xx errors become the matching
 * problem (message as detail, hint as pointer), constraint violations
 * become 409/422, a lost database 503, anything else a logged 500.
 * Returns 0 (the reply is made). */
int hx_sql_error(struct request *r, struct db_conn *c, int rc);

/* The If-Match header as a PostgreSQL text[] literal of bare tags ("*"
 * kept), written into buf; NULL when there is no If-Match header. */
const char *hx_if_match(const struct request *r, char *buf, size_t len);

/* A digest of the request's filter parameters (all but cursor and limit),
 * so a cursor only works for the query that made it. */
void hx_bind(const struct request *r, char out[33]);

/* Opens the request's `cursor` parameter, if any, for `sort` with nkeys
 * keys. Returns 0 (c->nkeys is 0 without a cursor), or replies 400 and
 * returns 1. */
int hx_cursor(struct request *r, const char *sort, int nkeys, struct cursor *c);

/* The page size asked for (default 20). */
int hx_limit(const struct request *r);

/* Turns rows of (item json, key1 … keyN) into the list envelope
 * {"data":[…],"next_cursor":…} and replies 200 with a Link header when
 * there is a next page. `limit` is the page size: the query must have
 * fetched limit + 1 rows so we know whether more exist. Rows whose item
 * column is NULL are skipped (LEFT JOIN shapes). Frees res. */
int hx_reply_page(struct request *r, PGresult *res, int limit, const char *sort,
                  int nkeys);

/* Replies 201 with the first column of res as body, Location set to
 * PUBLIC_BASE_URL + path. Frees res. */
int hx_reply_created(struct request *r, PGresult *res, const char *path);

struct querybuf;

/* Runs a read statement whose one row is the representation and replies
 * 200 with it, or 404 with `missing` as detail when there is no row. */
int hx_get_one(struct request *r, const struct db_statement *st,
               const char *const *params, const char *missing);

/* Runs a write statement (not retried) whose one row is the new
 * representation, and replies 200 with it (PATCH). */
int hx_write_one(struct request *r, const struct db_statement *st,
                 const char *const *params);

/* Runs a write statement without a result and replies 204 (DELETE). */
int hx_write_none(struct request *r, const struct db_statement *st,
                  const char *const *params);

/* Runs a composed list query (see querybuf.h) and replies with its page
 * (hx_reply_page). */
int hx_list(struct request *r, const struct querybuf *b, int limit,
            const char *sort, int nkeys);

/* Runs `create` (a registered statement) for a POST, honouring the
 * Idempotency-Key header: a retry with the same key and body replays the
 * first response, the same key with another body is a 409. The whole
 * thing is one transaction. `location_prefix` + the new item's id column
 * (column `id_col` of the result) gives Location. */
int hx_create(struct request *r, const struct db_statement *create,
              const char *const *params, const char *location_prefix,
              int id_col);

#endif
