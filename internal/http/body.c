/* http/body — the JSON request body: media type, size, syntax, schema. */
#include "http_internal.h"

#include "medqa/config.h"
#include "medqa/problem.h"
#include "medqa/spec.h"
#include "medqa/validate.h"

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* "application/json", optionally with parameters such as charset=utf-8;
 * PATCH also takes the merge-patch type of RFC 7396. */
static int body__json_type(const char *ct, int is_patch)
{
    size_t len;

    if (ct == NULL)
        return 0;
    len = strcspn(ct, ";");
    while (len > 0 && ct[len - 1] == ' ')
        len--;
    if (len == 16 && strncasecmp(ct, "application/json", 16) == 0)
        return 1;
    if (is_patch && len == 28 &&
        strncasecmp(ct, "application/merge-patch+json", 28) == 0)
        return 1;
    return 0;
}

int http__body(struct request *r)
{
    const struct spec_operation *op = r->op;
    json_error_t jerr;
    char detail[160];

    if (r->too_large) {
        snprintf(detail, sizeof(detail),
                 "The request body is larger than %zu bytes.",
                 r->cfg->max_body_bytes);
        problem_reply(r, 413, "body-too-large", NULL, detail, NULL);
        return 1;
    }
    if (op->body_schema == NULL) {
        if (r->raw_len == 0)
            return 0;
        problem_reply(r, 400, "unexpected-body", NULL,
                      "This operation takes no request body.", NULL);
        return 1;
    }
    if (r->raw_len == 0) {
        if (!op->body_required)
            return 0;
        problem_reply(r, 400, "body-required", NULL,
                      "This operation needs a JSON request body.", NULL);
        return 1;
    }
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!body__json_type(ct, strcmp(op->method, "PATCH") == 0)) {
        problem_reply(r, 415, "unsupported-media-type", NULL,
                      "Send the body as application/json.", NULL);
        return 1;
    }
    /* Duplicate keys are ambiguous (which one wins differs between
     * parsers), so they are refused rather than silently merged. */
    r->body = json_loadb(r->raw_body, r->raw_len, JSON_REJECT_DUPLICATES,
                         &jerr);
    if (r->body == NULL) {
        /* jansson's own text can quote the input; only the position is
         * safe to send back. */
        snprintf(detail, sizeof(detail),
                 "The body is not valid JSON (line %d, column %d).",
                 jerr.line, jerr.column);
        problem_reply(r, 400, "invalid-json", NULL, detail, NULL);
        return 1;
    }
    json_t *errors = json_array();
    if (errors == NULL)
        return -1;
    int n = validate_json(r->spec->validator, op->body_schema, r->body, "",
                          errors);
    if (n < 0) {
        json_decref(errors);
        return -1;
    }
    if (n > 0) {
        problem_validation(r, errors);
        return 1;
    }
    json_decref(errors);
    return 0;
}
