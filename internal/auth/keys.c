/* auth/keys — API keys: generation, hashing and checking a request's key.
 *
 * Keys are random 256-bit secrets. The database keeps the prefix (to find
 * the row) and a SHA-256 of the key; the check compares hashes with
 * CRYPTO_memcmp so its time does not depend on where they differ. A
 * fast hash is right here: the secret has 256 bits of entropy, so there
 * is nothing for a slow password hash to protect. */
#include "medqa/auth.h"

#include "medqa/db.h"
#include "medqa/problem.h"
#include "medqa/request.h"
#include "medqa/spec.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const struct db_statement auth_statements[] = {
    {"auth_key_lookup",
     "SELECT id::text, role, coalesce(doctor_id::text, ''), "
     "encode(hash, 'hex') FROM api_keys "
     "WHERE prefix = $1 AND revoked_at IS NULL",
     1},
};
const size_t auth_nstatements =
    sizeof(auth_statements) / sizeof(auth_statements[0]);

static const char auth__hex[] = "0123456789abcdef";

void auth_key_hash(const char *key, char *hash_hex)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    if (!EVP_Digest(key, strlen(key), md, &len, EVP_sha256(), NULL))
        memset(md, 0, sizeof(md));
    for (int i = 0; i < 32; i++) {
        hash_hex[2 * i] = auth__hex[md[i] >> 4];
        hash_hex[2 * i + 1] = auth__hex[md[i] & 15];
    }
    hash_hex[64] = '\0';
}

int auth_key_generate(char *key, char *prefix, char *hash_hex)
{
    unsigned char rnd[6 + 32];
    unsigned char b64[64];

    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return -1;
    for (int i = 0; i < 6; i++) {
        prefix[2 * i] = auth__hex[rnd[i] >> 4];
        prefix[2 * i + 1] = auth__hex[rnd[i] & 15];
    }
    prefix[AUTH_PREFIX_LEN] = '\0';
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

/* Replies 401 and returns 1: "answered, stop here". */
static int auth__unauthorized(struct request *r, const char *detail)
{
    request_add_header(r, "WWW-Authenticate", "Bearer realm=\"medqa\"");
    request_problem(r, PROBLEM_UNAUTHORIZED, 0, detail, NULL);
    return 1;
}

/* Looks the key up; 0 when found and the hash matches. */
static int auth__check_key(struct request *r, const char *key)
{
    char prefix[AUTH_PREFIX_LEN + 1];
    char hash[65];
    const char *params[1] = {prefix};
    struct db_conn *c;
    PGresult *res = NULL;
    int rc;

    if (auth_key_prefix(key, prefix) != 0)
        return auth__unauthorized(r, "The API key is malformed.");
    rc = db_acquire(&c);
    if (rc == DB_OK)
        rc = db_query(c, &auth_statements[0], params, true, &res);
    if (rc != DB_OK) {
        request_problem_db(r, rc);
        return 1;
    }
    auth_key_hash(key, hash);
    /* Hash the presented key even when no row matched, so a miss and a
     * wrong secret take the same time. */
    if (PQntuples(res) != 1 ||
        CRYPTO_memcmp(hash, PQgetvalue(res, 0, 3), 64) != 0) {
        PQclear(res);
        return auth__unauthorized(r, "The API key is unknown or revoked.");
    }
    snprintf(r->key_id, sizeof(r->key_id), "%s", PQgetvalue(res, 0, 0));
    snprintf(r->doctor_id, sizeof(r->doctor_id), "%s", PQgetvalue(res, 0, 2));
    r->role = auth_role_from_name(PQgetvalue(res, 0, 1));
    PQclear(res);
    return 0;
}

int auth_authenticate(struct request *r)
{
    const char *h = request_header(r, "Authorization");
    unsigned need = r->op->roles;

    if (h != NULL) {
        if (strncasecmp(h, "Bearer ", 7) != 0)
            return auth__unauthorized(r, "Use Authorization: Bearer <key>.");
        h += 7;
        while (*h == ' ')
            h++;
        if (auth__check_key(r, h) != 0)
            return 1;
    }
    if (need == 0 || (r->role & need) != 0)
        return 0;
    if (r->role == 0)
        return auth__unauthorized(r, "This operation needs an API key.");
    request_problem(r, PROBLEM_FORBIDDEN, 0,
                    "This API key's role may not do this.", NULL);
    return 1;
}
