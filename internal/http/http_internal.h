/* http internals shared by the files of the http module only. */
#ifndef MEDQA_HTTP_INTERNAL_H
#define MEDQA_HTTP_INTERNAL_H

#include "medqa/request.h"

#include <jansson.h>
#include <stddef.h>

struct spec_operation;
struct validator;

/* Collects, coerces and validates the path values, query and header
 * parameters of `r->op` into r->params. Appends any problem to `errors`
 * and returns the count (0 = valid); -1 on an internal failure. */
int http__params(struct request *r, const char *const *names,
                 const char *const *values, size_t nvalues, json_t *errors);

/* Parses and validates the body of `r`; 0 when valid or absent and
 * allowed. Otherwise it has already replied (400, 413, 415) and returns 1;
 * -1 on an internal failure. */
int http__body(struct request *r);

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

#endif
