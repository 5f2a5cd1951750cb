/* problem — the catalogue of every RFC 9457 problem medqa sends (status,
 * type slug, title), and the documents built from it. This module builds
 * documents only; the http layer sends them (request_problem in
 * request.h), so problem depends on nothing above jansson. */
#ifndef MEDQA_PROBLEM_H
#define MEDQA_PROBLEM_H

#include <jansson.h>

/* One entry per problem type. Adding a kind means one line here and one
 * in problem.c's table; a slug is part of the public contract (the type
 * URL), so an existing one never changes. */
enum problem_kind {
    PROBLEM_VALIDATION,        /* 400 the request does not match the spec */
    PROBLEM_INVALID,           /* 4xx an MQ4xx error without its own slug */
    PROBLEM_INVALID_VALUE,     /* 400 a value PostgreSQL cannot hold */
    PROBLEM_BAD_FRAMING,       /* 400 ambiguous message framing */
    PROBLEM_TRANSFER_CODING,   /* 400 a transfer coding other than chunked */
    PROBLEM_UNEXPECTED_BODY,   /* 400 a body where none is allowed */
    PROBLEM_BODY_REQUIRED,     /* 400 no body where one is required */
    PROBLEM_INVALID_JSON,      /* 400 the body is not JSON */
    PROBLEM_TOO_DEEP,          /* 400 JSON nested too deep */
    PROBLEM_TOO_MANY_ITEMS,    /* 400 too many array items or members */
    PROBLEM_UNAUTHORIZED,      /* 401 no key, or a bad one */
    PROBLEM_FORBIDDEN,         /* 403 the key's role may not do this */
    PROBLEM_NOT_FOUND,         /* 404 */
    PROBLEM_METHOD,            /* 405 */
    PROBLEM_CONFLICT,          /* 409 */
    PROBLEM_IDEMPOTENCY_REUSE, /* 409 same Idempotency-Key, other body */
    PROBLEM_PRECONDITION,      /* 412 If-Match did not match */
    PROBLEM_BODY_TOO_LARGE,    /* 413 */
    PROBLEM_URI_TOO_LONG,      /* 414 */
    PROBLEM_MEDIA_TYPE,        /* 415 */
    PROBLEM_UNKNOWN_REFERENCE, /* 422 a reference to nothing */
    PROBLEM_RATE_LIMITED,      /* 429 */
    PROBLEM_HEADERS_TOO_LARGE, /* 431 */
    PROBLEM_INTERNAL,          /* 500 logged, never explained */
    PROBLEM_UNAVAILABLE,       /* 503 the database cannot be reached */
    PROBLEM_BAD_PATH,          /* 400 a control character in the path */
    /* 503 no WEBHOOK_SECRET_KEY: not transient like "unavailable", so a
     * client can tell "retry later" from "ask the operator" */
    PROBLEM_WEBHOOKS_NOT_CONFIGURED,
    PROBLEM_NOT_IMPLEMENTED,  /* 501 a format we do not offer (oEmbed's
                                 format=xml, as the oEmbed spec says) */
    PROBLEM_KEY_EXPIRED,      /* 401 the API key is past its expiry */
    PROBLEM_GONE,             /* 410 erased for good */
    PROBLEM_CONTACT_DISABLED, /* 422 contact_email without CONTACT_KEY */
    PROBLEM__COUNT
};

struct problem_info {
    unsigned status; /* 0 for PROBLEM_INVALID: the caller gives it */
    const char *slug;
    const char *title;
};

/* The catalogue entry of `kind`; never NULL for a valid kind. */
const struct problem_info *problem_info(enum problem_kind kind);

/* The kind whose status is `status` among the MQ4xx errors the database
 * raises (MQ404 → PROBLEM_NOT_FOUND, …); PROBLEM_INVALID for a 4xx
 * without its own entry. */
enum problem_kind problem_for_status(unsigned status);

/* A new problem document: type = base_url + "/problems/" + slug, the
 * catalogue's title, `status` (the catalogue's unless it has none), and
 * `detail` (may be NULL; must never hold secrets, SQL or input values)
 * and `errors` (an array or NULL; stolen). Returns a new reference, or
 * NULL when out of memory. */
json_t *problem_document(enum problem_kind kind, unsigned status,
                         const char *base_url, const char *detail,
                         json_t *errors);

#endif
