/* http/body — the JSON request body: media type, size, syntax, schema. */
#include "http_internal.h"

#include "medqa/config.h"
#include "medqa/problem.h"
#include "medqa/spec.h"
#include "medqa/validate.h"

#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>
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

int http__json_depth(const char *buf, size_t len, int max_depth)
{
    int depth = 0;
    bool in_string = false;

    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_string) {
            if (c == '\\')
                i++; /* whatever is escaped cannot end the string */
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth)
                return 1;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return 0;
}

int http__json_too_big(const json_t *v, int depth)
{
    size_t i;
    const char *k;
    json_t *item;

    if (depth > BODY_MAX_DEPTH)
        return 1;
    if (json_is_array(v)) {
        if (json_array_size(v) > BODY_MAX_ITEMS)
            return 1;
        json_array_foreach(v, i, item)
            if (http__json_too_big(item, depth + 1))
                return 1;
    } else if (json_is_object(v)) {
        if (json_object_size(v) > BODY_MAX_ITEMS)
            return 1;
        json_object_foreach((json_t *)(uintptr_t)v, k, item) {
            if (http__json_too_big(item, depth + 1))
                return 1;
        }
    }
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
        request_problem(r, PROBLEM_BODY_TOO_LARGE, 0, detail, NULL);
        return 1;
    }
    if (op->body_schema == NULL) {
        if (r->raw_len == 0)
            return 0;
        request_problem(r, PROBLEM_UNEXPECTED_BODY, 0,
                        "This operation takes no request body.", NULL);
        return 1;
    }
    if (r->raw_len == 0) {
        if (!op->body_required)
            return 0;
        request_problem(r, PROBLEM_BODY_REQUIRED, 0,
                        "This operation needs a JSON request body.", NULL);
        return 1;
    }
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!body__json_type(ct, strcmp(op->method, "PATCH") == 0)) {
        request_problem(r, PROBLEM_MEDIA_TYPE, 0,
                        "Send the body as application/json.", NULL);
        return 1;
    }
    /* jansson nests up to 2048 levels, recursively; no medqa body needs
     * more than a handful, so a deep one is refused before parsing. */
    if (http__json_depth(r->raw_body, r->raw_len, BODY_MAX_DEPTH)) {
        snprintf(detail, sizeof(detail),
                 "The body nests deeper than %d levels.", BODY_MAX_DEPTH);
        request_problem(r, PROBLEM_TOO_DEEP, 0, detail, NULL);
        return 1;
    }
    /* Duplicate keys are ambiguous (which one wins differs between
     * parsers), so they are refused rather than silently merged. */
    r->body =
        json_loadb(r->raw_body, r->raw_len, JSON_REJECT_DUPLICATES, &jerr);
    if (r->body == NULL) {
        /* jansson's own text can quote the input; only the position is
         * safe to send back. */
        snprintf(detail, sizeof(detail),
                 "The body is not valid JSON (line %d, column %d).", jerr.line,
                 jerr.column);
        request_problem(r, PROBLEM_INVALID_JSON, 0, detail, NULL);
        return 1;
    }
    /* Whatever the schema says, no array or object is allowed more than
     * BODY_MAX_ITEMS members: validation cost stays bounded. */
    if (http__json_too_big(r->body, 1)) {
        snprintf(detail, sizeof(detail),
                 "An array or object in the body has more than %d members.",
                 BODY_MAX_ITEMS);
        request_problem(r, PROBLEM_TOO_MANY_ITEMS, 0, detail, NULL);
        return 1;
    }
    json_t *errors = json_array();
    if (errors == NULL)
        return -1;
    int n =
        validate_json(r->spec->validator, op->body_schema, r->body, "", errors);
    if (n < 0) {
        json_decref(errors);
        return -1;
    }
    if (n > 0) {
        request_problem_validation(r, errors);
        return 1;
    }
    json_decref(errors);
    return 0;
}
