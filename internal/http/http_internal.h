/* http internals shared by the files of the http module only. */
#ifndef MEDQA_HTTP_INTERNAL_H
#define MEDQA_HTTP_INTERNAL_H

#include "medqa/request.h"
#include "medqa/spec.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct MHD_Response;
struct spec_operation;
struct validator;

/* Collects, coerces and validates the path values, query and header
 * parameters of `r->op` into r->params. Appends any problem to `errors`
 * and returns the count (0 = valid); -1 on an internal failure. */
int http__params(struct request *r, const char *const *names,
                 const char *const *values, size_t nvalues, json_t *errors);

/* Returns a new JSON value for a parameter's `text` according to `kind`, or
 * NULL when the text is not of that kind.
 * Strings that are not UTF-8 are refused too. */
json_t *http__coerce(enum spec_param_kind kind, const char *text);

/* Parses and validates the body of `r`; 0 when valid or absent and
 * allowed. Otherwise it has already replied (400, 413, 415) and returns 1;
 * -1 on an internal failure. */
int http__body(struct request *r);

/* Deepest nesting of arrays and objects a request body may have, and
 * most members any one array or object may have. */
#define BODY_MAX_DEPTH 32
#define BODY_MAX_ITEMS 1000

/* Scans JSON text (valid or not) for nesting deeper than max_depth,
 * ignoring brackets inside strings. Returns 1 when it is deeper, else 0. */
int http__json_depth(const char *buf, size_t len, int max_depth);

/* 1 when `v` (at nesting level `depth`, 1 for the root) or anything in it
 * is nested deeper than BODY_MAX_DEPTH or has more than BODY_MAX_ITEMS
 * members; else 0. */
int http__json_too_big(const json_t *v, int depth);

/* Builds the final response from r (ETag, 304, gzip, CORS, security and
 * request-id headers) and queues it. Returns an MHD_Result. */
int http__respond(struct request *r);

/* Compresses `in` with gzip. Returns 0 and a malloc'd buffer the caller
 * frees, or -1 when compression failed or did not gain. */
int http__gzip(const char *in, size_t len, char **out, size_t *outlen);

/* Writes a strong entity tag for `body` ("\"<32 hex>\"") into tag. */
void http__etag(const char *body, size_t len, char tag[40]);

/* Compares an If-None-Match / If-Match header with our tag; the "-gzip"
 * suffix of a compressed variant is ignored. */
int http__etag_matches(const char *header, const char *tag);

/* Does the client accept gzip (Accept-Encoding with gzip and q > 0)? */
int http__accepts_gzip(const char *accept_encoding);

/* The longest request target (path and query) answered, 414 beyond. */
#define HTTP_MAX_URL 8192

/* What can be refused from the request line and headers alone (framing.c):
 * 414, 431, ambiguous framing (400), a transfer coding other than chunked
 * (400) and a Content-Length over MAX_BODY_BYTES (413). Returns
 * REPLY_QUEUED when r has been answered, else REPLY_NONE. */
int http__framing_or_reply(struct request *r);

/* Answers a path that ends in a slash with a 308 to the same path (and
 * query) without it (target.c). Returns REPLY_QUEUED. */
int http__trailing_slash_reply(struct request *r);

/* Rate limiting of one request (limit.c); each records what it counted
 * in r->limit.
 *
 * http__limit_address: counts r in its address's bucket, spending a token
 * when `spend` is set (refusals before dispatch; an OPTIONS preflight
 * only looks, since a 429 would break CORS). */
void http__limit_address(struct request *r, bool spend);

/* Counts the request against its client address before anything else
 * costs work. `limited`: the operation can answer 429 (or no operation
 * matched). Requests without a key (`keyed` false) spend from the
 * address's bucket; requests with one are only held back when keys from
 * this address have failed too often (their own bucket is charged once
 * the key is known). Replies 429 and returns REPLY_QUEUED when empty. */
int http__limit_address_or_reply(struct request *r, bool limited, bool keyed);

/* After authentication: a known key spends from its own bucket (429 when
 * empty, if `authenticated`); a key that failed (401) spends from its
 * address's failure bucket, so guessing keys is slowed down to the
 * anonymous rate. Returns REPLY_QUEUED when it replied 429. */
int http__limit_key_or_reply(struct request *r, bool authenticated);

/* Adds the RateLimit-* headers to a response of `status`, first giving a
 * 304's token back. */
void http__limit_respond(struct request *r, unsigned status,
                         struct MHD_Response *resp);

/* The deadlines for receiving requests (headwatch.c): connections are
 * registered with their socket and cut with shutdown() once the head of
 * a request has been arriving for longer than HEADER_TIMEOUT, or its body
 * for longer than BODY_TIMEOUT. */
struct http__headwatch;
struct http__watched;

/* Starts the sweeper thread; a timeout of 0 leaves that part unwatched
 * (not both). Returns 0 and *out, which the caller stops and frees with
 * http__headwatch_stop(), or -1. */
int http__headwatch_start(unsigned head_timeout_s, unsigned body_timeout_s,
                          struct http__headwatch **out);

/* Stops the sweeper and frees the registry; after MHD_stop_daemon(). */
void http__headwatch_stop(struct http__headwatch *hw);

/* Registers connection socket `fd`, waiting for its first head. Returns
 * the entry for MHD's socket context, or NULL out of memory (the
 * connection then goes unwatched). http__headwatch_remove() frees it. */
struct http__watched *http__headwatch_add(struct http__headwatch *hw, int fd);

/* Unregisters and frees `w` (NULL is ignored); must come before the
 * socket is closed. */
void http__headwatch_remove(struct http__headwatch *hw,
                            struct http__watched *w);

/* A request's head is complete (the access handler's first call) at
 * `now_ms`: its body, if any, is being received from then. */
void http__headwatch_head_in(struct http__watched *w, long long now_ms);

/* A request's body is complete (the access handler's last call, before
 * the request is handled: handling takes as long as it takes). */
void http__headwatch_body_in(struct http__watched *w);

/* A request is done: from `now_ms` the connection waits for another. */
void http__headwatch_wait(struct http__watched *w, long long now_ms);

/* What the sweeper knows of one connection's current head: since when
 * the connection has waited for it, and when its bytes began to arrive
 * (0 = none yet). */
struct http__head_clock {
    long long since_ms;
    long long first_ms;
};

/* Decides whether a connection has been receiving a request head for
 * `timeout_ms` or longer. since_ms: when it began to wait for the head (0
 * while a request is in); quiet_ms: milliseconds since its socket last
 * received data, or -1 when not asked (the clock already knows) or
 * unknown; first_head: this is a new connection's first head and its
 * socket has received data (the head began when the connection did).
 * Updates `c`; returns 1 when overdue, else 0. Pure: the time is passed
 * in. */
int http__head_overdue(struct http__head_clock *c, long long since_ms,
                       long long now_ms, long long quiet_ms, bool first_head,
                       long long timeout_ms);

/* Has a body that began to arrive at body_since_ms (0: none is arriving)
 * taken `timeout_ms` or longer? 1 or 0. */
int http__body_overdue(long long body_since_ms, long long now_ms,
                       long long timeout_ms);

#endif
