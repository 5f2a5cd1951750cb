/* Fuzz target: query, path and header parameter text, coerced to each
 * kind the spec uses (http__coerce, the pure part of http/params.c) and
 * validated against every parameter schema of the embedded spec. The
 * first byte picks the parameter. */
#include "../../internal/http/http_internal.h"
#include "fuzz_common.h"
#include "medqa/validate.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct spec_param *params[256];
    static size_t nparams;
    struct spec *s = fuzz_spec();
    char text[4096];

    if (nparams == 0) {
        for (size_t i = 0; i < s->nops && nparams < 256; i++)
            for (size_t k = 0; k < s->ops[i].nparams && nparams < 256; k++)
                params[nparams++] = &s->ops[i].params[k];
        if (nparams == 0)
            abort();
    }
    if (size < 1 || size - 1 >= sizeof(text))
        return 0;
    const struct spec_param *p = params[data[0] % nparams];
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    /* Every kind, not only the parameter's own, so each branch of the
     * coercion sees every input. */
    for (int kind = SPEC_KIND_STRING; kind <= SPEC_KIND_ARRAY; kind++) {
        json_t *v = http__coerce((enum spec_param_kind)kind, text);
        if (v == NULL)
            continue;
        if (kind == (int)p->kind) {
            json_t *errors = json_array();
            if (validate_json(s->validator, p->schema, v, "", errors) < 0)
                abort();
            json_decref(errors);
        }
        json_decref(v);
    }
    return 0;
}
