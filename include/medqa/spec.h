/* spec — the OpenAPI document, loaded once at start-up.
 *
 * The YAML is turned into a jansson tree, then every operation under
 * `paths` becomes a struct spec_operation: its method, path template split
 * into segments, parameters with their schemas, body schema and the roles
 * allowed to call it. The router and the request validator read only these
 * structs; nothing is parsed per request. */
#ifndef MEDQA_SPEC_H
#define MEDQA_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct validator;

enum spec_param_in { SPEC_IN_PATH, SPEC_IN_QUERY, SPEC_IN_HEADER };

/* How a parameter's text is turned into JSON before validation. */
enum spec_param_kind {
    SPEC_KIND_STRING,
    SPEC_KIND_INTEGER,
    SPEC_KIND_NUMBER,
    SPEC_KIND_BOOLEAN,
    SPEC_KIND_ARRAY /* comma-separated strings (style: form, explode: false) */
};

struct spec_param {
    char *name;
    enum spec_param_in in;
    enum spec_param_kind kind;
    bool required;
    const json_t *schema; /* borrowed from the document */
};

struct spec_segment {
    char *literal; /* NULL for a "{param}" segment */
    char *param;   /* the parameter's name for a "{param}" segment */
};

struct spec_operation {
    char *operation_id;
    char *method;        /* "GET", "POST", … */
    char *path_template; /* "/questions/{id}", also the log's route */
    struct spec_segment *segments;
    size_t nsegments;
    struct spec_param *params;
    size_t nparams;
    const json_t *body_schema; /* NULL when the operation takes no body */
    bool body_required;
    unsigned roles;    /* bit mask of enum auth_role; 0 means anyone */
    bool rate_limited; /* the operation declares a 429 response */
    void *handler;     /* bound by the handler table (see http/dispatch) */
};

struct spec {
    json_t *doc; /* the whole document, as JSON */
    char *json;  /* the document serialised once, for /openapi.json */
    size_t json_len;
    char *yaml; /* the source text, for /openapi.yaml */
    size_t yaml_len;
    struct spec_operation *ops;
    size_t nops;
    struct validator *validator;
};

/* Parses YAML text (OpenAPI 3.1) into a new jansson value. Plain scalars
 * follow the YAML 1.2 core schema (null, true/false, integers, floats);
 * quoted ones are always strings. Returns 0 and a new reference in *out,
 * or -1 with a reason (including the line) in errbuf. */
int spec_yaml_to_json(const char *text, size_t len, json_t **out, char *errbuf,
                      size_t errlen);

/* Loads the document from `text` and builds every operation. Returns 0 and
 * a new spec in *out (free with spec_free()), or -1 with a reason. */
int spec_load(const char *text, size_t len, struct spec **out, char *errbuf,
              size_t errlen);

void spec_free(struct spec *s);

/* Looks an operation up by operationId; NULL when absent. */
struct spec_operation *spec_find_operation(struct spec *s, const char *id);

#endif
