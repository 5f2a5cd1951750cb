/* Fuzz target: a POST /questions body, through the same steps as
 * http/body.c: the nesting pre-scan, jansson with duplicate keys refused,
 * the member caps, then the spec's own schema (QuestionCreate, reached
 * through the createQuestion operation of the embedded spec). */
#include "../../internal/http/http_internal.h"
#include "fuzz_common.h"
#include "medqa/validate.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct spec_operation *op;
    struct spec *s = fuzz_spec();
    json_error_t jerr;

    if (op == NULL) {
        op = spec_find_operation(s, "createQuestion");
        if (op == NULL || op->body_schema == NULL)
            abort();
    }
    if (http__json_depth((const char *)data, size, BODY_MAX_DEPTH))
        return 0;
    json_t *body =
        json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (body == NULL)
        return 0;
    if (!http__json_too_big(body, 1)) {
        json_t *errors = json_array();
        int n = validate_json(s->validator, op->body_schema, body, "", errors);
        /* The schema is sound, so only "valid" or "N errors" may come
         * back, never more than the cap. */
        if (n < 0 || (size_t)n != json_array_size(errors) ||
            json_array_size(errors) > VALIDATE_MAX_ERRORS)
            abort();
        json_decref(errors);
    }
    json_decref(body);
    return 0;
}
