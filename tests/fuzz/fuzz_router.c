/* Fuzz target: router_match() over the embedded spec's paths. The first
 * byte picks the method; the rest is the (decoded) path. */
#include "fuzz_common.h"
#include "medqa/router.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const methods[] = {"GET",    "HEAD",    "POST", "PATCH",
                                      "DELETE", "OPTIONS", "PUT",  "TRACE",
                                      "get",    ""};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct route_match m;
    struct spec *s = fuzz_spec();
    char path[ROUTER_MAX_PATH * 2];

    if (size < 1 || size - 1 >= sizeof(path))
        return 0;
    memcpy(path, data + 1, size - 1);
    path[size - 1] = '\0';
    const char *method =
        methods[data[0] % (sizeof(methods) / sizeof(*methods))];
    (void)router_target_has_control(path); /* the raw target's scan */
    int rc = router_match(s, method, path, &m);
    switch (rc) {
    case ROUTER_OK:
        if (m.op == NULL || m.nvalues > ROUTER_MAX_SEGMENTS)
            abort();
        for (size_t i = 0; i < m.nvalues; i++)
            if (m.names[i] == NULL || m.values[i] == NULL ||
                strchr(m.values[i], '/') != NULL)
                abort();
        break;
    case ROUTER_METHOD_NOT_ALLOWED:
        if (m.allow[0] == '\0')
            abort();
        break;
    case ROUTER_TRAILING_SLASH:
        if (m.op != NULL || strlen(path) < 2 || path[strlen(path) - 1] != '/')
            abort();
        break;
    case ROUTER_NOT_FOUND:
    case ROUTER_BAD_PATH: break;
    default: abort();
    }
    return 0;
}
