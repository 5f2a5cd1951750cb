/* http/params — turns the text of path, query and header parameters into
 * JSON of the types their schemas declare, then validates them with the
 * same validator as bodies. Unknown query parameters are refused: a typo
 * such as `?limt=5` must not silently return the default page. */
#include "http_internal.h"

#include "medqa/spec.h"
#include "medqa/validate.h"

#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

static void params__error(json_t *errors, const char *in, const char *name,
                          const char *detail)
{
    json_array_append_new(errors, json_pack("{s:s, s:s, s:s}", "parameter",
                                            name, "in", in, "detail", detail));
}

static const char *params__in_name(enum spec_param_in in)
{
    return in == SPEC_IN_PATH    ? "path"
           : in == SPEC_IN_QUERY ? "query"
                                 : "header";
}

/* Returns a new JSON value for `text` according to `kind`, or NULL when the
 * text is not of that kind. Strings that are not UTF-8 are refused too. */
json_t *http__coerce(enum spec_param_kind kind, const char *text)
{
    char *end = NULL;

    switch (kind) {
    case SPEC_KIND_INTEGER: {
        if (*text == '\0' || strlen(text) > 20)
            return NULL;
        errno = 0;
        long long v = strtoll(text, &end, 10);
        if (errno != 0 || *end != '\0' || text[0] == '+' || text[0] == ' ')
            return NULL;
        return json_integer(v);
    }
    case SPEC_KIND_NUMBER: {
        if (*text == '\0' || strlen(text) > 40)
            return NULL;
        errno = 0;
        double v = strtod(text, &end);
        if (errno != 0 || *end != '\0' || !isfinite(v) || text[0] == ' ')
            return NULL;
        return json_real(v);
    }
    case SPEC_KIND_BOOLEAN:
        if (strcmp(text, "true") == 0)
            return json_true();
        if (strcmp(text, "false") == 0)
            return json_false();
        return NULL;
    case SPEC_KIND_ARRAY: {
        json_t *arr = json_array();
        const char *p = text;
        if (arr == NULL)
            return NULL;
        for (;;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            json_t *item = json_stringn(p, len);
            if (item == NULL) {
                json_decref(arr);
                return NULL;
            }
            json_array_append_new(arr, item);
            if (comma == NULL)
                break;
            p = comma + 1;
        }
        return arr;
    }
    case SPEC_KIND_STRING:
    default: return json_string(text);
    }
}

static const char *params__kind_detail(enum spec_param_kind kind)
{
    switch (kind) {
    case SPEC_KIND_INTEGER: return "must be an integer";
    case SPEC_KIND_NUMBER: return "must be a number";
    case SPEC_KIND_BOOLEAN: return "must be true or false";
    default: return "must be valid UTF-8 text";
    }
}

/* Validates one coerced value and files its errors under the parameter's
 * name rather than a body pointer. */
static int params__check(struct request *r, const struct spec_param *p,
                         json_t *value, json_t *errors)
{
    json_t *scratch = json_array();
    int n;

    if (scratch == NULL)
        return -1;
    n = validate_json(r->spec->validator, p->schema, value, "", scratch);
    if (n > 0) {
        size_t i;
        json_t *e;
        json_array_foreach(scratch, i, e) {
            const char *detail =
                json_string_value(json_object_get(e, "detail"));
            params__error(errors, params__in_name(p->in), p->name,
                          detail ? detail : "is not valid");
        }
    }
    json_decref(scratch);
    if (n == 0)
        json_object_set(r->params, p->name, value);
    return n < 0 ? -1 : n;
}

struct params__query {
    struct request *r;
    json_t *errors;
    json_t *seen; /* names given, to refuse repeats */
    int failed;
};

static enum MHD_Result params__each_query(void *cls, enum MHD_ValueKind kind,
                                          const char *key, const char *value)
{
    struct params__query *q = cls;
    const struct spec_operation *op = q->r->op;
    const struct spec_param *p = NULL;
    (void)kind;

    for (size_t i = 0; i < op->nparams; i++)
        if (op->params[i].in == SPEC_IN_QUERY &&
            strcmp(op->params[i].name, key) == 0)
            p = &op->params[i];
    json_t *name = json_string(key);
    if (name == NULL) {
        /* A key that is not UTF-8 cannot name any parameter. */
        json_array_append_new(q->errors,
                              json_pack("{s:s, s:s}", "in", "query", "detail",
                                        "parameter names must be "
                                        "valid UTF-8"));
        return MHD_YES;
    }
    if (p == NULL) {
        params__error(q->errors, "query", key, "is not a known parameter");
        goto out;
    }
    /* An array may come as `k=a,b` or as `k=a&k=b` (what generated
     * clients send for form style by default), or both mixed: each
     * repeat's items join the ones before and the whole is validated
     * again (so a value twice still fails uniqueItems). */
    if (json_object_get(q->seen, key) != NULL && p->kind != SPEC_KIND_ARRAY) {
        params__error(q->errors, "query", key, "must be given only once");
        goto out;
    }
    json_object_set_new(q->seen, key, json_true());
    json_t *v = http__coerce(p->kind, value ? value : "");
    if (v == NULL) {
        params__error(q->errors, "query", key, params__kind_detail(p->kind));
        goto out;
    }
    json_t *before = json_object_get(q->r->params, key);
    if (p->kind == SPEC_KIND_ARRAY && before != NULL) {
        json_t *all = json_copy(before);
        if (all == NULL || json_array_extend(all, v) != 0) {
            json_decref(all);
            json_decref(v);
            q->failed = 1;
            goto out;
        }
        json_decref(v);
        v = all;
    }
    if (params__check(q->r, p, v, q->errors) < 0)
        q->failed = 1;
    json_decref(v);
out:
    json_decref(name);
    return MHD_YES;
}

int http__params(struct request *r, const char *const *names,
                 const char *const *values, size_t nvalues, json_t *errors)
{
    const struct spec_operation *op = r->op;
    struct params__query q = {.r = r, .errors = errors};
    int rc = -1;

    r->params = json_object();
    q.seen = json_object();
    if (r->params == NULL || q.seen == NULL)
        goto out;
    /* Path values come from the router, already split per template. */
    for (size_t i = 0; i < nvalues; i++) {
        for (size_t k = 0; k < op->nparams; k++) {
            const struct spec_param *p = &op->params[k];
            if (p->in != SPEC_IN_PATH || strcmp(p->name, names[i]) != 0)
                continue;
            json_t *v = http__coerce(p->kind, values[i]);
            if (v == NULL) {
                params__error(errors, "path", p->name,
                              params__kind_detail(p->kind));
                continue;
            }
            int n = params__check(r, p, v, errors);
            json_decref(v);
            if (n < 0)
                goto out;
        }
    }
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND,
                              params__each_query, &q);
    if (q.failed)
        goto out;
    for (size_t k = 0; k < op->nparams; k++) {
        const struct spec_param *p = &op->params[k];
        if (p->in == SPEC_IN_HEADER) {
            const char *hv =
                MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, p->name);
            if (hv != NULL) {
                json_t *v = http__coerce(p->kind, hv);
                if (v == NULL) {
                    params__error(errors, "header", p->name,
                                  params__kind_detail(p->kind));
                    continue;
                }
                int n = params__check(r, p, v, errors);
                json_decref(v);
                if (n < 0)
                    goto out;
                continue;
            }
        }
        if (p->required && p->in != SPEC_IN_PATH &&
            json_object_get(r->params, p->name) == NULL &&
            json_object_get(q.seen, p->name) == NULL) {
            params__error(errors, params__in_name(p->in), p->name,
                          "is required");
        }
    }
    rc = (int)json_array_size(errors);
out:
    json_decref(q.seen);
    return rc;
}
