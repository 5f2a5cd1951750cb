/* handlers/common — what every resource handler needs: the database
 * connection or a 503, SQL errors turned into problems, If-Match lists,
 * and the one-statement shapes of read, write and create. Lists go
 * through page.h.
 *
 * Naming says who answers: a helper whose name ends in `_or_reply` may
 * queue a response and returns enum reply_result (request.h); on
 * REPLY_QUEUED its caller returns REPLY_QUEUED at once. A helper named
 * `hx_reply_…` always queues the response and returns what a handler
 * returns: 0 or REPLY_QUEUED once a response is queued, negative when none
 * could be (the server then answers 500). */
#ifndef MEDQA_HANDLERS_COMMON_H
#define MEDQA_HANDLERS_COMMON_H

#include "represent.h"

#include "medqa/db.h"
#include "medqa/request.h"

#include <stdbool.h>
#include <stddef.h>

/* This thread's connection in *out: to the read database when the
 * request may be answered from it. REPLY_NONE, or REPLY_QUEUED after
 * replying 503. */
int hx_conn_or_reply(struct request *r, struct db_conn **out);

/* Runs the registered statement `st` on this request's connection
 * (hx_conn_or_reply), retried once on a broken connection when
 * `idempotent`. REPLY_NONE with a result in *res that the caller frees
 * with PQclear(), or REPLY_QUEUED after answering the failure
 * (hx_reply_sql_error). */
int hx_query_or_reply(struct request *r, const struct db_statement *st,
                      const char *const *params, bool idempotent,
                      PGresult **res);

/* Answers a failed statement: medqa's MQ4xx errors become the matching
 * problem (message as detail, hint as pointer), constraint violations
 * become 409/422, a lost database 503, anything else a logged 500. */
int hx_reply_sql_error(struct request *r, struct db_conn *c, int rc);

/* Replies 400 with one validation error: the query parameter `param`
 * and what is wrong with it (a constant; never the value). */
int hx_reply_bad_query(struct request *r, const char *param,
                       const char *detail);

/* Logs `what` (a bug of medqa's, never caused by input) with the
 * request id and replies 500. */
int hx_reply_internal(struct request *r, const char *what);

/* The If-Match header as a PostgreSQL text[] literal of bare tags ("*"
 * kept), written into buf; NULL when there is no If-Match header. */
const char *hx_if_match(const struct request *r, char *buf, size_t len);

/* Runs a read statement whose one row is the representation and replies
 * 200 with it, or 404 with `missing` as detail when there is no row. */
int hx_reply_get_one(struct request *r, const struct db_statement *st,
                     const char *const *params, const char *missing);

/* Replies to a GET that found no visible question (or reply, when
 * `reply`) `id`: 410 when it was erased (erasure.c), else 404 with
 * `missing` as detail. The id is passed, not read from the path, because
 * /oembed finds its question in a URL. */
int hx_reply_missing(struct request *r, bool reply, const char *id,
                     const char *missing);

/* Runs a write statement (not retried) whose one row is the new
 * representation, and replies 200 with it (PATCH). */
int hx_reply_write_one(struct request *r, const struct db_statement *st,
                       const char *const *params);

/* hx_reply_write_one() for a question or reply: the body is completed
 * for `kind` (represent.h). */
int hx_reply_write_as(struct request *r, const struct db_statement *st,
                      const char *const *params, enum rep_kind kind);

/* A PATCH of a question or reply (`kind`) honouring If-Match against the
 * representation clients get (represent.h), which PostgreSQL cannot hash
 * itself since the settings' fields are added here. Without If-Match it
 * is hx_reply_write_as(). With it, one transaction: `current` (with
 * `current_params`) reads the row's representation FOR UPDATE (no row
 * when it is missing or not the caller's: the write then answers 404 or
 * 403), a tag not listed answers 412, else `patch` runs (its If-Match
 * parameter NULL) and the new representation is the 200's body. */
int hx_reply_patch(struct request *r, const struct db_statement *current,
                   const char *const *current_params,
                   const struct db_statement *patch, const char *const *params,
                   enum rep_kind kind);

/* Runs a write statement without a result and replies 204 (DELETE). */
int hx_reply_write_none(struct request *r, const struct db_statement *st,
                        const char *const *params);

/* Runs `create` (a registered statement) for a POST and replies 201,
 * honouring the Idempotency-Key header: a retry with the same key and
 * body replays the first response, the same key with another body is a
 * 409. The whole thing is one transaction. `location_prefix` + the new
 * item's id column (column `id_col` of the result) gives Location. */
int hx_reply_create(struct request *r, const struct db_statement *create,
                    const char *const *params, const char *location_prefix,
                    int id_col);

/* hx_reply_create() for a question or reply: the body sent (and kept for
 * replays) is completed for `kind` (represent.h). */
int hx_reply_create_as(struct request *r, const struct db_statement *create,
                       const char *const *params, const char *location_prefix,
                       int id_col, enum rep_kind kind);

#endif
