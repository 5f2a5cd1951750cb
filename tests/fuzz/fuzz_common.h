/* Shared by the libFuzzer targets: the real, embedded OpenAPI document,
 * loaded once per process. */
#ifndef MEDQA_FUZZ_COMMON_H
#define MEDQA_FUZZ_COMMON_H

#include "medqa/assets.h"
#include "medqa/spec.h"

#include <stdio.h>
#include <stdlib.h>

static struct spec *fuzz_spec(void)
{
    static struct spec *s;
    char err[512];

    if (s == NULL &&
        spec_load((const char *)assets_openapi_yaml.data,
                  assets_openapi_yaml.len, &s, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz: cannot load the embedded spec: %s\n", err);
        abort();
    }
    return s;
}

#endif
