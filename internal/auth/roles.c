/* auth/roles — role names as the spec and the CLI spell them. */
#include "medqa/auth.h"

#include "medqa/base.h"

#include <string.h>

static const struct {
    const char *name;
    unsigned bit;
} auth__roles[] = {
    {"partner", AUTH_ROLE_PARTNER},
    {"app", AUTH_ROLE_APP},
    {"doctor", AUTH_ROLE_DOCTOR},
    {"editor", AUTH_ROLE_EDITOR},
};

unsigned auth_role_from_name(const char *name)
{
    if (name == NULL)
        return 0;
    for (size_t i = 0; i < ARRAY_SIZE(auth__roles); i++)
        if (strcmp(auth__roles[i].name, name) == 0)
            return auth__roles[i].bit;
    return 0;
}

const char *auth_role_name(unsigned role)
{
    for (size_t i = 0; i < ARRAY_SIZE(auth__roles); i++)
        if (auth__roles[i].bit == role)
            return auth__roles[i].name;
    return NULL;
}
