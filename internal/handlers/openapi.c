/* handlers/openapi — the contract itself, as JSON and as the YAML source. */
#include "handlers_internal.h"

#include "medqa/request.h"
#include "medqa/spec.h"

#include <stdlib.h>
#include <string.h>

int handle_get_openapi_json(struct request *r)
{
    return request_reply_json(r, 200, r->spec->json, r->spec->json_len);
}

int handle_get_openapi_yaml(struct request *r)
{
    char *copy = malloc(r->spec->yaml_len + 1);

    if (copy == NULL)
        return -1;
    memcpy(copy, r->spec->yaml, r->spec->yaml_len + 1);
    return request_reply_owned(r, 200, "application/yaml", copy,
                               r->spec->yaml_len);
}
