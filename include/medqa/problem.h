/* problem — RFC 9457 application/problem+json responses. */
#ifndef MEDQA_PROBLEM_H
#define MEDQA_PROBLEM_H

#include <jansson.h>

struct request;

/* Replies with a problem document: `type` is PUBLIC_BASE_URL +
 * "/problems/" + slug; `detail` must never hold secrets, SQL or input
 * values. `errors` (an array, may be NULL) is stolen. Returns 0. */
int problem_reply(struct request *r, unsigned status, const char *slug,
                  const char *title, const char *detail, json_t *errors);

/* 400 with the validation errors collected for the request. */
int problem_validation(struct request *r, json_t *errors);

/* The answer to a database failure code from db.h: 503 with Retry-After
 * when the database cannot be reached, 500 for anything else (logged with
 * its SQLSTATE, never shown to the client). */
int problem_db(struct request *r, int db_rc);

#endif
