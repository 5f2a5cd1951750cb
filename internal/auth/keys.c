/* auth/keys — API keys: generation, hashing and checking a request's key.
 *
 * Keys are random 256-bit secrets. The database keeps the prefix (to find
 * the row) and a SHA-256 of the key; the check compares hashes with
 * CRYPTO_memcmp so its time does not depend on where they differ. A
 * fast hash is right here: the secret has 256 bits of entropy, so there
 * is nothing for a slow password hash to protect. */
#include "medqa/auth.h"

#include "medqa/base.h"
#include "medqa/db.h"
#include "medqa/metrics.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Columns of auth_key_lookup: id, role, doctor, hash, whether the key has
 * expired, and whether last_used_at is due for a write (unset, or older
 * than AUTH_TOUCH_INTERVAL). */
#define AUTH_TOUCH_INTERVAL "interval '1 minute'"

const struct db_statement auth_statements[] = {
    {"auth_key_lookup",
     "SELECT id::text, role, coalesce(doctor_id::text, ''), "
     "encode(hash, 'hex'), coalesce(expires_at <= now(), false), "
     "(last_used_at IS NULL OR last_used_at < now() - " AUTH_TOUCH_INTERVAL
     ") FROM api_keys WHERE prefix = $1 AND revoked_at IS NULL",
     1},
    /* Conditional, so that however many requests and instances race,
     * the row is written at most once per interval: the losers update
     * nothing. */
    {"auth_key_touch",
     "UPDATE api_keys SET last_used_at = now() WHERE id = $1::uuid AND "
     "(last_used_at IS NULL OR last_used_at < now() - " AUTH_TOUCH_INTERVAL ")",
     1},
};
const size_t auth_nstatements = ARRAY_SIZE(auth_statements);

void auth_key_hash(const char *key, char *hash_hex)
{
    base_sha256_hex(key, strlen(key), 32, hash_hex);
}

int auth_key_generate(char *key, char *prefix, char *hash_hex)
{
    unsigned char rnd[6 + 32];
    unsigned char b64[64];

    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return -1;
    base_hex(rnd, 6, prefix);
    int n = EVP_EncodeBlock(b64, rnd + 6, 32); /* 44 chars, one '=' */
    if (n != 44)
        return -1;
    for (int i = 0; i < 43; i++) {
        if (b64[i] == '+')
            b64[i] = '-';
        else if (b64[i] == '/')
            b64[i] = '_';
    }
    snprintf(key, AUTH_KEY_LEN + 1, "mq_%s_%.43s", prefix, (char *)b64);
    auth_key_hash(key, hash_hex);
    return 0;
}

int auth_key_prefix(const char *key, char *prefix)
{
    if (strlen(key) != AUTH_KEY_LEN || strncmp(key, "mq_", 3) != 0 ||
        key[3 + AUTH_PREFIX_LEN] != '_')
        return -1;
    for (int i = 0; i < AUTH_PREFIX_LEN; i++) {
        char c = key[3 + i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return -1;
        prefix[i] = c;
    }
    prefix[AUTH_PREFIX_LEN] = '\0';
    for (const char *p = key + 4 + AUTH_PREFIX_LEN; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
              (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
            return -1;
    return 0;
}

/* Fills *out as a 401 for `reason`. */
static void auth__unauthorized(struct auth_verdict *out,
                               enum auth_reason reason)
{
    out->outcome = AUTH_UNAUTHORIZED;
    out->reason = reason;
}

/* Records that the key was used. A failure (a read-only primary during a
 * fail-over, say) does not fail the request: last_used_at is advisory. */
static void auth__touch(struct db_conn *c, const char *key_id)
{
    const char *params[1] = {key_id};
    PGresult *res = NULL;

    if (db_query(c, &auth_statements[1], params, false, &res) == DB_OK &&
        strcmp(PQcmdTuples(res), "1") == 0)
        metrics_key_touched();
    PQclear(res);
}

/* Looks the key up; fills the caller into *out when found and the hash
 * matches, otherwise the verdict. Returns 0 when found. */
static int auth__check_key(const char *key, struct auth_verdict *out)
{
    char prefix[AUTH_PREFIX_LEN + 1];
    char hash[65];
    const char *params[1] = {prefix};
    struct db_conn *c;
    PGresult *res = NULL;
    int rc;

    if (auth_key_prefix(key, prefix) != 0) {
        auth__unauthorized(out, AUTH_REASON_MALFORMED);
        return -1;
    }
    rc = db_acquire(&c);
    if (rc == DB_OK)
        rc = db_query(c, &auth_statements[0], params, true, &res);
    if (rc != DB_OK) {
        out->outcome = AUTH_UNAVAILABLE;
        out->db_rc = rc;
        return -1;
    }
    auth_key_hash(key, hash);
    /* Hash the presented key even when no row matched, so a miss and a
     * wrong secret take the same time. */
    if (PQntuples(res) != 1 ||
        CRYPTO_memcmp(hash, PQgetvalue(res, 0, 3), 64) != 0) {
        PQclear(res);
        auth__unauthorized(out, AUTH_REASON_UNKNOWN);
        return -1;
    }
    if (PQgetvalue(res, 0, 4)[0] == 't') {
        PQclear(res);
        auth__unauthorized(out, AUTH_REASON_EXPIRED);
        return -1;
    }
    snprintf(out->key_id, sizeof(out->key_id), "%s", PQgetvalue(res, 0, 0));
    bool touch = PQgetvalue(res, 0, 5)[0] == 't';
    snprintf(out->doctor_id, sizeof(out->doctor_id), "%s",
             PQgetvalue(res, 0, 2));
    out->role = auth_role_from_name(PQgetvalue(res, 0, 1));
    PQclear(res);
    if (touch)
        auth__touch(c, out->key_id);
    return 0;
}

void auth_authenticate(const char *authorization, unsigned roles,
                       struct auth_verdict *out)
{
    const char *h = authorization;

    memset(out, 0, sizeof(*out));
    if (h != NULL) {
        if (strncasecmp(h, "Bearer ", 7) != 0) {
            auth__unauthorized(out, AUTH_REASON_SCHEME);
            return;
        }
        h += 7;
        while (*h == ' ')
            h++;
        if (auth__check_key(h, out) != 0)
            return;
    }
    if (roles == 0 || (out->role & roles) != 0)
        out->outcome = out->role == 0 ? AUTH_ANONYMOUS : AUTH_OK;
    else if (out->role == 0)
        auth__unauthorized(out, AUTH_REASON_MISSING);
    else
        out->outcome = AUTH_FORBIDDEN;
}
