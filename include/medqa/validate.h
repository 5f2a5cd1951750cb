/* validate — a JSON Schema (2020-12 subset used by OpenAPI 3.1) validator
 * over jansson values.
 *
 * The validator is built once at start-up from the whole OpenAPI document so
 * that `$ref`s ("#/components/schemas/X") resolve against it and every
 * `pattern` is compiled once (PCRE2). After validate_new() returns it is
 * immutable and may be shared by every worker thread without locking.
 */
#ifndef MEDQA_VALIDATE_H
#define MEDQA_VALIDATE_H

#include <jansson.h>
#include <stddef.h>

struct validator;

/* Most errors one validate_json() call appends; the rest are dropped so
 * that a hostile body cannot make the error list itself expensive. */
#define VALIDATE_MAX_ERRORS 32

/* Builds a validator over `doc` (the whole OpenAPI document). The validator
 * takes its own reference to `doc`. Every `pattern` found anywhere in the
 * document is compiled here; a pattern that does not compile is an error.
 * Returns 0 and sets *out (the caller frees it with validate_free()), or a
 * negative number and writes a one-line reason into errbuf. */
int validate_new(json_t *doc, struct validator **out, char *errbuf,
                 size_t errlen);

void validate_free(struct validator *v);

/* Checks `instance` against `schema` (a node inside the document, or any
 * schema whose `$ref`s point into it). Each failure is appended to `errors`
 * (a JSON array) as {"pointer": "<prefix><RFC 6901 pointer>", "detail":
 * "<sentence>"}; `prefix` is prepended to every pointer ("" for a body,
 * e.g. "/limit" style pointers are built by the caller for parameters).
 * Returns the number of errors appended (0 means valid), or a negative
 * number when the schema itself is broken (an unresolvable $ref). */
int validate_json(const struct validator *v, const json_t *schema,
                  const json_t *instance, const char *prefix, json_t *errors);

/* Resolves a local reference such as "#/components/schemas/Question" in the
 * validator's document. Returns a borrowed reference, or NULL. */
const json_t *validate_resolve_ref(const struct validator *v, const char *ref);

#endif
