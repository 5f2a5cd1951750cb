/* problem — the one catalogue of problem types (RFC 9457). Every error
 * medqa sends is built here, so none can carry a stack trace, SQL or an
 * input value, and every slug and title is written once. */
#include "medqa/problem.h"

#include "medqa/base.h"

#include <stdio.h>

static const struct problem_info problem__table[] = {
    [PROBLEM_VALIDATION] = {400, "validation", "Request is not valid"},
    [PROBLEM_INVALID] = {0, "invalid", NULL},
    [PROBLEM_INVALID_VALUE] = {400, "invalid-value", "Bad Request"},
    [PROBLEM_BAD_FRAMING] = {400, "bad-framing", "Bad Request"},
    [PROBLEM_TRANSFER_CODING] = {400, "unsupported-transfer-coding",
                                 "Bad Request"},
    [PROBLEM_UNEXPECTED_BODY] = {400, "unexpected-body", "Bad Request"},
    [PROBLEM_BODY_REQUIRED] = {400, "body-required", "Bad Request"},
    [PROBLEM_INVALID_JSON] = {400, "invalid-json", "Bad Request"},
    [PROBLEM_TOO_DEEP] = {400, "too-deep", "Bad Request"},
    [PROBLEM_TOO_MANY_ITEMS] = {400, "too-many-items", "Bad Request"},
    [PROBLEM_UNAUTHORIZED] = {401, "unauthorized", "Unauthorized"},
    [PROBLEM_FORBIDDEN] = {403, "forbidden", "Forbidden"},
    [PROBLEM_NOT_FOUND] = {404, "not-found", "Not Found"},
    [PROBLEM_METHOD] = {405, "method-not-allowed", "Method Not Allowed"},
    [PROBLEM_CONFLICT] = {409, "conflict", "Conflict"},
    [PROBLEM_IDEMPOTENCY_REUSE] = {409, "idempotency-key-reused", "Conflict"},
    [PROBLEM_PRECONDITION] = {412, "precondition-failed",
                              "Precondition Failed"},
    [PROBLEM_BODY_TOO_LARGE] = {413, "body-too-large", "Content Too Large"},
    [PROBLEM_URI_TOO_LONG] = {414, "uri-too-long", "URI Too Long"},
    [PROBLEM_MEDIA_TYPE] = {415, "unsupported-media-type",
                            "Unsupported Media Type"},
    [PROBLEM_UNKNOWN_REFERENCE] = {422, "unknown-reference",
                                   "Unprocessable Content"},
    [PROBLEM_RATE_LIMITED] = {429, "rate-limited", "Too Many Requests"},
    [PROBLEM_HEADERS_TOO_LARGE] = {431, "headers-too-large",
                                   "Request Header Fields Too Large"},
    [PROBLEM_INTERNAL] = {500, "internal", "Internal Server Error"},
    [PROBLEM_UNAVAILABLE] = {503, "unavailable", "Service Unavailable"},
    [PROBLEM_BAD_PATH] = {400, "bad-path", "Bad Request"},
    [PROBLEM_WEBHOOKS_NOT_CONFIGURED] = {503, "webhooks-not-configured",
                                         "Service Unavailable"},
    [PROBLEM_NOT_IMPLEMENTED] = {501, "not-implemented", "Not Implemented"},
    [PROBLEM_KEY_EXPIRED] = {401, "key-expired", "Unauthorized"},
    [PROBLEM_GONE] = {410, "gone", "Gone"},
    [PROBLEM_CONTACT_DISABLED] = {422, "contact-collection-disabled",
                                  "Unprocessable Content"},
};

_Static_assert(ARRAY_SIZE(problem__table) == PROBLEM__COUNT,
               "every problem kind has its catalogue entry");

/* The generic title of a status, for PROBLEM_INVALID whose status comes
 * from the database (MQ4xx). */
static const char *problem__status_title(unsigned status)
{
    for (size_t i = 0; i < ARRAY_SIZE(problem__table); i++)
        if (problem__table[i].status == status && i != PROBLEM_VALIDATION)
            return problem__table[i].title;
    return "Error";
}

const struct problem_info *problem_info(enum problem_kind kind)
{
    if ((unsigned)kind >= PROBLEM__COUNT)
        kind = PROBLEM_INTERNAL;
    return &problem__table[kind];
}

enum problem_kind problem_for_status(unsigned status)
{
    switch (status) {
    case 403: return PROBLEM_FORBIDDEN;
    case 404: return PROBLEM_NOT_FOUND;
    case 409: return PROBLEM_CONFLICT;
    case 410: return PROBLEM_GONE;
    case 412: return PROBLEM_PRECONDITION;
    case 422: return PROBLEM_UNKNOWN_REFERENCE;
    default: return PROBLEM_INVALID;
    }
}

json_t *problem_document(enum problem_kind kind, unsigned status,
                         const char *base_url, const char *detail,
                         json_t *errors)
{
    const struct problem_info *pi = problem_info(kind);
    char type[512];
    json_t *doc = NULL;

    if (pi->status != 0)
        status = pi->status;
    snprintf(type, sizeof(type), "%s/problems/%s", base_url, pi->slug);
    doc = json_pack("{s:s, s:s, s:I}", "type", type, "title",
                    pi->title ? pi->title : problem__status_title(status),
                    "status", (json_int_t)status);
    if (doc == NULL)
        goto out;
    if (detail != NULL)
        json_object_set_new(doc, "detail", json_string(detail));
    if (errors != NULL)
        json_object_set(doc, "errors", errors);
out:
    json_decref(errors);
    return doc;
}
