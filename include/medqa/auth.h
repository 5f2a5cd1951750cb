/* auth — API keys and the roles they carry. */
#ifndef MEDQA_AUTH_H
#define MEDQA_AUTH_H

#include "medqa/db.h"

#include <stddef.h>

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

struct request;

/* Key text: "mq_" + 12 hex prefix + "_" + 43 base64url secret chars. The
 * prefix finds the row; only a SHA-256 of the whole key is stored. */
#define AUTH_KEY_LEN 59
#define AUTH_PREFIX_LEN 12

/* Makes a new random key (OpenSSL's CSPRNG). key gets AUTH_KEY_LEN + 1
 * bytes, prefix AUTH_PREFIX_LEN + 1, hash_hex 65. Returns 0 or -1. */
int auth_key_generate(char *key, char *prefix, char *hash_hex);

/* Splits a presented key: 0 and its prefix when the shape is right, -1
 * otherwise (no database look-up is needed to refuse garbage). */
int auth_key_prefix(const char *key, char *prefix);

/* SHA-256 of `key` as 64 lowercase hex characters plus NUL. */
void auth_key_hash(const char *key, char *hash_hex);

/* Identifies the caller from `Authorization: Bearer <key>` and checks the
 * operation's roles. Sets r->role, r->key_id and r->doctor_id. Returns 0
 * when the request may go on; otherwise it has replied (401, 403, 503)
 * and returns 1. */
int auth_authenticate(struct request *r);

extern const struct db_statement auth_statements[];
extern const size_t auth_nstatements;

#endif
