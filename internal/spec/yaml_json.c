/* spec/yaml_json — turns a YAML document into jansson values with libyaml's
 * event parser: mappings, sequences and scalars, with anchors and aliases
 * (an alias shares the anchored value; YAML cannot alias a node inside
 * itself, so no cycle can form). */
#include "medqa/spec.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define YAML_JSON_MAX_DEPTH 128

struct yaml_json {
    yaml_parser_t parser;
    json_t *anchors; /* anchor name -> value */
    char *errbuf;
    size_t errlen;
};

/* Remembers `v` under the event's anchor, if it has one. */
static void yj__anchor(struct yaml_json *y, const yaml_char_t *anchor,
                       json_t *v)
{
    if (anchor != NULL && v != NULL)
        json_object_set(y->anchors, (const char *)anchor, v);
}

static int yj__fail(struct yaml_json *y, const char *what, size_t line)
{
    snprintf(y->errbuf, y->errlen, "YAML line %zu: %s", line + 1, what);
    return -1;
}

/* YAML 1.2 core schema resolution of a plain (unquoted) scalar. */
static json_t *yj__plain_scalar(const char *s, size_t len)
{
    char *end = NULL;

    if (len == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
        strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0)
        return json_null();
    if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 ||
        strcmp(s, "TRUE") == 0)
        return json_true();
    if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 ||
        strcmp(s, "FALSE") == 0)
        return json_false();
    if ((s[0] >= '0' && s[0] <= '9') ||
        ((s[0] == '-' || s[0] == '+') && len > 1 && s[1] >= '0' &&
         s[1] <= '9')) {
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno == 0 && *end == '\0')
            return json_integer(v);
        errno = 0;
        double d = strtod(s, &end);
        if (errno == 0 && *end == '\0' && isfinite(d))
            return json_real(d);
    }
    return json_stringn(s, len);
}

static int yj__node(struct yaml_json *y, yaml_event_t *ev, json_t **out,
                    int depth);

static int yj__next(struct yaml_json *y, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&y->parser, ev))
        return yj__fail(y,
                        y->parser.problem ? y->parser.problem : "cannot parse",
                        y->parser.problem_mark.line);
    return 0;
}

static int yj__mapping(struct yaml_json *y, json_t *obj, int depth)
{
    yaml_event_t kev, vev;
    int rc = 0;

    for (;;) {
        json_t *val = NULL;
        if (yj__next(y, &kev) != 0)
            return -1;
        if (kev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&kev);
            return 0;
        }
        if (kev.type != YAML_SCALAR_EVENT) {
            rc = yj__fail(y, "mapping keys must be scalars",
                          kev.start_mark.line);
            yaml_event_delete(&kev);
            return rc;
        }
        if (yj__next(y, &vev) != 0) {
            yaml_event_delete(&kev);
            return -1;
        }
        rc = yj__node(y, &vev, &val, depth + 1);
        if (rc == 0) {
            const char *key = (const char *)kev.data.scalar.value;
            if (json_object_get(obj, key) != NULL)
                rc = yj__fail(y, "duplicate key", kev.start_mark.line);
            else if (json_object_set_new(obj, key, val) != 0)
                rc = yj__fail(y, "key is not valid UTF-8", kev.start_mark.line);
            else
                val = NULL;
        }
        json_decref(val);
        yaml_event_delete(&kev);
        if (rc != 0)
            return rc;
    }
}

static int yj__sequence(struct yaml_json *y, json_t *arr, int depth)
{
    yaml_event_t ev;

    for (;;) {
        json_t *val = NULL;
        if (yj__next(y, &ev) != 0)
            return -1;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return 0;
        }
        if (yj__node(y, &ev, &val, depth + 1) != 0)
            return -1;
        json_array_append_new(arr, val);
    }
}

/* Consumes `ev` (deletes it) and builds the node it starts. */
static int yj__node(struct yaml_json *y, yaml_event_t *ev, json_t **out,
                    int depth)
{
    int rc = 0;
    size_t line = ev->start_mark.line;

    if (depth > YAML_JSON_MAX_DEPTH) {
        yaml_event_delete(ev);
        return yj__fail(y, "nested too deeply", line);
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT: {
        const char *s = (const char *)ev->data.scalar.value;
        size_t len = ev->data.scalar.length;
        if (ev->data.scalar.plain_implicit)
            *out = yj__plain_scalar(s, len);
        else
            *out = json_stringn(s, len);
        if (*out == NULL)
            rc = yj__fail(y, "scalar is not valid UTF-8", line);
        else
            yj__anchor(y, ev->data.scalar.anchor, *out);
        yaml_event_delete(ev);
        return rc;
    }
    case YAML_MAPPING_START_EVENT: {
        char *anchor = ev->data.mapping_start.anchor
                           ? strdup((char *)ev->data.mapping_start.anchor)
                           : NULL;
        yaml_event_delete(ev);
        *out = json_object();
        rc = yj__mapping(y, *out, depth);
        if (rc == 0)
            yj__anchor(y, (yaml_char_t *)anchor, *out);
        free(anchor);
        break;
    }
    case YAML_SEQUENCE_START_EVENT: {
        char *anchor = ev->data.sequence_start.anchor
                           ? strdup((char *)ev->data.sequence_start.anchor)
                           : NULL;
        yaml_event_delete(ev);
        *out = json_array();
        rc = yj__sequence(y, *out, depth);
        if (rc == 0)
            yj__anchor(y, (yaml_char_t *)anchor, *out);
        free(anchor);
        break;
    }
    case YAML_ALIAS_EVENT: {
        json_t *v =
            json_object_get(y->anchors, (const char *)ev->data.alias.anchor);
        yaml_event_delete(ev);
        if (v == NULL)
            return yj__fail(y, "alias to an unknown anchor", line);
        *out = json_incref(v);
        return 0;
    }
    default:
        yaml_event_delete(ev);
        return yj__fail(y, "unexpected YAML event", line);
    }
    if (rc != 0) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

int spec_yaml_to_json(const char *text, size_t len, json_t **out, char *errbuf,
                      size_t errlen)
{
    struct yaml_json y = {.errbuf = errbuf, .errlen = errlen};

    y.anchors = json_object();
    if (y.anchors == NULL)
        return -1;
    yaml_event_t ev;
    json_t *root = NULL;
    int rc = -1;

    *out = NULL;
    if (!yaml_parser_initialize(&y.parser)) {
        snprintf(errbuf, errlen, "cannot initialise the YAML parser");
        json_decref(y.anchors);
        return -1;
    }
    yaml_parser_set_input_string(&y.parser, (const unsigned char *)text, len);
    /* Skip STREAM_START and DOCUMENT_START to reach the root node. */
    for (;;) {
        if (yj__next(&y, &ev) != 0)
            goto out;
        if (ev.type == YAML_STREAM_START_EVENT ||
            ev.type == YAML_DOCUMENT_START_EVENT) {
            yaml_event_delete(&ev);
            continue;
        }
        break;
    }
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        snprintf(errbuf, errlen, "YAML document is empty");
        goto out;
    }
    if (yj__node(&y, &ev, &root, 0) != 0)
        goto out;
    *out = root;
    root = NULL;
    rc = 0;
out:
    json_decref(root);
    json_decref(y.anchors);
    yaml_parser_delete(&y.parser);
    return rc;
}
