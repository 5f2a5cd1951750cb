/* auth — API keys and the roles they carry. */
#ifndef MEDQA_AUTH_H
#define MEDQA_AUTH_H

enum auth_role {
    AUTH_ROLE_PARTNER = 1u << 0,
    AUTH_ROLE_APP = 1u << 1,
    AUTH_ROLE_DOCTOR = 1u << 2,
    AUTH_ROLE_EDITOR = 1u << 3,
};

/* Maps a role name used in the spec and on the command line to its bit;
 * 0 for an unknown name. */
unsigned auth_role_from_name(const char *name);

/* The name of one role bit; NULL for anything else. */
const char *auth_role_name(unsigned role);

#endif
