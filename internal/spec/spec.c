/* spec — builds the operation table from the OpenAPI document. Run once at
 * start-up; afterwards the table is read-only and shared by every thread. */
#include "medqa/spec.h"

#include "medqa/auth.h"
#include "medqa/base.h"
#include "medqa/validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

static const char *const spec__methods[] = {"get",   "put",  "post",   "delete",
                                            "patch", "head", "options"};

/* Follows a "$ref" (one level at a time, a few levels deep at most) so that
 * parameters and request bodies may live in components. */
static const json_t *spec__deref(const struct validator *v, const json_t *n)
{
    for (int i = 0; i < 8 && n != NULL && json_is_object(n); i++) {
        const json_t *ref = json_object_get(n, "$ref");
        if (!json_is_string(ref))
            return n;
        n = validate_resolve_ref(v, json_string_value(ref));
    }
    return n;
}

static enum spec_param_kind spec__kind(const struct validator *v,
                                       const json_t *schema)
{
    schema = spec__deref(v, schema);
    const json_t *t = json_object_get(schema, "type");
    const char *name = NULL;

    if (json_is_string(t)) {
        name = json_string_value(t);
    } else if (json_is_array(t)) {
        /* ["integer", "null"]: the non-null member decides. */
        size_t i;
        const json_t *e;
        json_array_foreach(t, i, e) {
            if (json_is_string(e) &&
                strcmp(json_string_value(e), "null") != 0) {
                name = json_string_value(e);
                break;
            }
        }
    }
    if (name == NULL)
        return SPEC_KIND_STRING;
    if (strcmp(name, "integer") == 0)
        return SPEC_KIND_INTEGER;
    if (strcmp(name, "number") == 0)
        return SPEC_KIND_NUMBER;
    if (strcmp(name, "boolean") == 0)
        return SPEC_KIND_BOOLEAN;
    if (strcmp(name, "array") == 0)
        return SPEC_KIND_ARRAY;
    return SPEC_KIND_STRING;
}

static int spec__add_param(struct spec *s, struct spec_operation *op,
                           const json_t *p, char *errbuf, size_t errlen)
{
    p = spec__deref(s->validator, p);
    const char *name = json_string_value(json_object_get(p, "name"));
    const char *in = json_string_value(json_object_get(p, "in"));
    const json_t *schema = json_object_get(p, "schema");

    if (name == NULL || in == NULL || schema == NULL) {
        snprintf(errbuf, errlen, "%s: a parameter needs name, in and schema",
                 op->operation_id);
        return -1;
    }
    if (strcmp(in, "cookie") == 0)
        return 0;
    /* An operation-level parameter overrides a path-level one. */
    for (size_t i = 0; i < op->nparams; i++)
        if (strcmp(op->params[i].name, name) == 0 &&
            ((op->params[i].in == SPEC_IN_PATH) == (strcmp(in, "path") == 0)))
            return 0;
    struct spec_param *sp = &op->params[op->nparams];
    sp->name = strdup(name);
    if (sp->name == NULL)
        return -1;
    sp->in = strcmp(in, "path") == 0    ? SPEC_IN_PATH
             : strcmp(in, "query") == 0 ? SPEC_IN_QUERY
                                        : SPEC_IN_HEADER;
    sp->required = json_is_true(json_object_get(p, "required"));
    sp->schema = schema;
    sp->kind = spec__kind(s->validator, schema);
    op->nparams++;
    return 0;
}

static int spec__split_path(struct spec_operation *op, const char *path,
                            char *errbuf, size_t errlen)
{
    size_t n = 0;

    for (const char *p = path; *p; p++)
        if (*p == '/')
            n++;
    op->segments = calloc(n + 1, sizeof(*op->segments));
    if (op->segments == NULL)
        return -1;
    const char *p = path;
    while (*p == '/') {
        p++;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        struct spec_segment *seg = &op->segments[op->nsegments];
        if (len >= 2 && p[0] == '{' && p[len - 1] == '}') {
            seg->param = strndup(p + 1, len - 2);
            if (seg->param == NULL)
                return -1;
        } else if (len > 0) {
            seg->literal = strndup(p, len);
            if (seg->literal == NULL)
                return -1;
        } else {
            break; /* "/" itself, or a trailing slash */
        }
        op->nsegments++;
        p += len;
    }
    if (*p != '\0') {
        snprintf(errbuf, errlen, "path %s is not a valid template", path);
        return -1;
    }
    return 0;
}

/* Reads `security`: an empty requirement ({}) lets anonymous callers in;
 * the bearer requirement's array lists the roles allowed (OpenAPI 3.1
 * permits role names there for non-OAuth schemes). */
static int spec__roles(const json_t *security, unsigned *roles, char *errbuf,
                       size_t errlen, const char *opid)
{
    size_t i;
    const json_t *req;

    *roles = 0;
    if (security == NULL)
        return 0;
    json_array_foreach(security, i, req) {
        const char *scheme;
        const json_t *list;
        if (json_object_size(req) == 0)
            return *roles = 0, 0; /* anonymous allowed */
        json_object_foreach((json_t *)(uintptr_t)req, scheme, list) {
            size_t j;
            const json_t *r;
            json_array_foreach(list, j, r) {
                unsigned bit = auth_role_from_name(json_string_value(r));
                if (bit == 0) {
                    snprintf(errbuf, errlen, "%s: unknown role in security",
                             opid);
                    return -1;
                }
                *roles |= bit;
            }
        }
    }
    return 0;
}

static int spec__add_operation(struct spec *s, const char *path,
                               const json_t *item, const char *method,
                               const json_t *o, char *errbuf, size_t errlen)
{
    struct spec_operation *op = &s->ops[s->nops];
    const char *opid = json_string_value(json_object_get(o, "operationId"));
    const json_t *plist = json_object_get(item, "parameters");
    const json_t *olist = json_object_get(o, "parameters");
    const json_t *security = json_object_get(o, "security");
    size_t i;
    const json_t *p;

    if (opid == NULL) {
        snprintf(errbuf, errlen, "%s %s has no operationId", method, path);
        return -1;
    }
    op->operation_id = strdup(opid);
    op->method = strdup(method);
    op->path_template = strdup(path);
    if (!op->operation_id || !op->method || !op->path_template)
        return -1;
    for (char *m = op->method; *m; m++)
        *m = (char)(*m - ('a' - 'A'));
    s->nops++;
    if (spec__split_path(op, path, errbuf, errlen) != 0)
        return -1;
    op->params = calloc(json_array_size(plist) + json_array_size(olist) + 1,
                        sizeof(*op->params));
    if (op->params == NULL)
        return -1;
    /* Operation parameters first, so they override the path item's. */
    json_array_foreach(olist, i, p) {
        if (spec__add_param(s, op, p, errbuf, errlen) != 0)
            return -1;
    }
    json_array_foreach(plist, i, p) {
        if (spec__add_param(s, op, p, errbuf, errlen) != 0)
            return -1;
    }
    for (size_t k = 0; k < op->nsegments; k++) {
        int found = 0;
        if (op->segments[k].param == NULL)
            continue;
        for (size_t j = 0; j < op->nparams; j++)
            if (op->params[j].in == SPEC_IN_PATH &&
                strcmp(op->params[j].name, op->segments[k].param) == 0)
                found = 1;
        if (!found) {
            snprintf(errbuf, errlen, "%s: path parameter {%s} is not declared",
                     opid, op->segments[k].param);
            return -1;
        }
    }
    const json_t *rb =
        spec__deref(s->validator, json_object_get(o, "requestBody"));
    if (rb != NULL) {
        const json_t *media =
            json_object_get(json_object_get(rb, "content"), "application/json");
        if (media == NULL)
            media = json_object_get(json_object_get(rb, "content"),
                                    "application/merge-patch+json");
        op->body_schema = json_object_get(media, "schema");
        if (op->body_schema == NULL) {
            snprintf(errbuf, errlen, "%s: requestBody needs a JSON schema",
                     opid);
            return -1;
        }
        op->body_required = json_is_true(json_object_get(rb, "required"));
    }
    /* An operation the spec never answers 429 (the liveness and readiness
     * probes) is never refused for rate. */
    op->rate_limited =
        json_object_get(json_object_get(o, "responses"), "429") != NULL;
    if (security == NULL)
        security = json_object_get(s->doc, "security");
    return spec__roles(security, &op->roles, errbuf, errlen, opid);
}

static int spec__build_operations(struct spec *s, char *errbuf, size_t errlen)
{
    const json_t *paths = json_object_get(s->doc, "paths");
    const char *path;
    json_t *item;
    size_t count = 0;

    if (!json_is_object(paths)) {
        snprintf(errbuf, errlen, "the document has no paths");
        return -1;
    }
    json_object_foreach((json_t *)(uintptr_t)paths, path, item)
        count += ARRAY_SIZE(spec__methods);
    s->ops = calloc(count + 1, sizeof(*s->ops));
    if (s->ops == NULL)
        return -1;
    json_object_foreach((json_t *)(uintptr_t)paths, path, item) {
        if (path[0] != '/') {
            snprintf(errbuf, errlen, "path %s must start with /", path);
            return -1;
        }
        for (size_t m = 0; m < ARRAY_SIZE(spec__methods); m++) {
            const json_t *o = json_object_get(item, spec__methods[m]);
            if (o == NULL)
                continue;
            if (spec__add_operation(s, path, item, spec__methods[m], o, errbuf,
                                    errlen) != 0)
                return -1;
        }
    }
    for (size_t i = 0; i < s->nops; i++)
        for (size_t j = i + 1; j < s->nops; j++)
            if (strcmp(s->ops[i].operation_id, s->ops[j].operation_id) == 0) {
                snprintf(errbuf, errlen, "operationId %s is used twice",
                         s->ops[i].operation_id);
                return -1;
            }
    return 0;
}

int spec_load(const char *text, size_t len, struct spec **out, char *errbuf,
              size_t errlen)
{
    struct spec *s = calloc(1, sizeof(*s));
    int rc = -1;

    *out = NULL;
    if (s == NULL)
        return -1;
    s->yaml = malloc(len + 1);
    if (s->yaml == NULL)
        goto out;
    memcpy(s->yaml, text, len);
    s->yaml[len] = '\0';
    s->yaml_len = len;
    if (spec_yaml_to_json(text, len, &s->doc, errbuf, errlen) != 0)
        goto out;
    if (!json_is_object(s->doc) ||
        !json_is_string(json_object_get(s->doc, "openapi"))) {
        snprintf(errbuf, errlen, "not an OpenAPI document");
        goto out;
    }
    if (validate_new(s->doc, &s->validator, errbuf, errlen) != 0)
        goto out;
    s->json = json_dumps(s->doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (s->json == NULL)
        goto out;
    s->json_len = strlen(s->json);
    if (spec__build_operations(s, errbuf, errlen) != 0)
        goto out;
    *out = s;
    s = NULL;
    rc = 0;
out:
    spec_free(s);
    return rc;
}

void spec_free(struct spec *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nops; i++) {
        struct spec_operation *op = &s->ops[i];
        free(op->operation_id);
        free(op->method);
        free(op->path_template);
        for (size_t k = 0; k < op->nsegments; k++) {
            free(op->segments[k].literal);
            free(op->segments[k].param);
        }
        free(op->segments);
        for (size_t k = 0; k < op->nparams; k++)
            free(op->params[k].name);
        free(op->params);
    }
    free(s->ops);
    validate_free(s->validator);
    json_decref(s->doc);
    free(s->json);
    free(s->yaml);
    free(s);
}

struct spec_operation *spec_find_operation(struct spec *s, const char *id)
{
    for (size_t i = 0; i < s->nops; i++)
        if (strcmp(s->ops[i].operation_id, id) == 0)
            return &s->ops[i];
    return NULL;
}
