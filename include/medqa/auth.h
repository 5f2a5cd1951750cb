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

/* What authentication decided about one request. The dispatcher turns
 * every verdict other than ANONYMOUS and OK into the reply (401 with
 * WWW-Authenticate, 403, or the database's 503/500): the authenticator
 * only decides. */
enum auth_outcome {
    AUTH_ANONYMOUS,    /* no key, and the operation allows anyone */
    AUTH_OK,           /* a valid key whose role may call the operation */
    AUTH_UNAUTHORIZED, /* 401, for `reason` */
    AUTH_FORBIDDEN,    /* 403: a valid key whose role may not */
    AUTH_UNAVAILABLE,  /* the key could not be looked up: `db_rc` */
};

/* Why a request is unauthorized. */
enum auth_reason {
    AUTH_REASON_NONE,
    AUTH_REASON_SCHEME,    /* Authorization is not "Bearer <key>" */
    AUTH_REASON_MALFORMED, /* the key does not have a key's shape */
    AUTH_REASON_UNKNOWN,   /* no such key, or revoked */
    AUTH_REASON_MISSING,   /* no key, and the operation needs one */
    AUTH_REASON_EXPIRED,   /* a known key past its expires_at */
};

/* The verdict, with the caller for AUTH_OK and AUTH_FORBIDDEN. */
struct auth_verdict {
    enum auth_outcome outcome;
    enum auth_reason reason; /* with AUTH_UNAUTHORIZED */
    int db_rc;               /* with AUTH_UNAVAILABLE: a DB_ code */
    unsigned role;           /* enum auth_role bit; 0 = anonymous */
    char key_id[37];         /* "" when anonymous */
    char doctor_id[37];      /* the doctor a doctor key is bound to */
};

/* Identifies the caller from the Authorization header's value
 * (`authorization`, NULL when absent; "Bearer <key>") and checks it
 * against `roles` (the operation's enum auth_role mask, 0 = anyone). Fills
 * *out; writes no reply. */
void auth_authenticate(const char *authorization, unsigned roles,
                       struct auth_verdict *out);

extern const struct db_statement auth_statements[];
extern const size_t auth_nstatements;

#endif
