/* contacts — see medqa/contacts.h. */
#include "medqa/contacts.h"

#include "medqa/base.h"
#include "medqa/config.h"
#include "medqa/db.h"
#include "medqa/log.h"
#include "medqa/periodic.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The keys of this process, set once by contacts_init() before any
 * thread starts and only read afterwards. */
static struct contacts_key contacts__cur, contacts__prev;
static bool contacts__have_cur, contacts__have_prev;

int contacts_key_parse(const char *b64, struct contacts_key *out)
{
    unsigned char buf[64];
    unsigned char md[32];
    size_t len = strlen(b64);

    /* 32 bytes are 44 base64 characters ending in one '='. */
    if (len != 44 || b64[43] != '=' || b64[42] == '=')
        return -1;
    if (EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)len) != 33)
        return -1;
    memcpy(out->bytes, buf, CONTACTS_KEY_BYTES);
    if (EVP_Digest(out->bytes, CONTACTS_KEY_BYTES, md, NULL, EVP_sha256(),
                   NULL) != 1)
        return -1;
    base_hex(md, CONTACTS_KEY_ID_LEN / 2, out->id);
    return 0;
}

int contacts_init(const struct config *cfg)
{
    contacts__have_cur = contacts__have_prev = false;
    if (cfg->contact_key != NULL) {
        if (contacts_key_parse(cfg->contact_key, &contacts__cur) != 0)
            return -1;
        contacts__have_cur = true;
    }
    if (cfg->contact_key_previous != NULL) {
        if (contacts_key_parse(cfg->contact_key_previous, &contacts__prev) != 0)
            return -1;
        contacts__have_prev = true;
    }
    return 0;
}

bool contacts_configured(void)
{
    return contacts__have_cur;
}

int contacts_seal(const char *email, char *hex, const char **key_id)
{
    unsigned char out[CONTACTS_NONCE + 254 + CONTACTS_TAG];
    size_t n = strlen(email);
    int len = 0, fin = 0, rc = -1;
    EVP_CIPHER_CTX *ctx = NULL;

    if (!contacts__have_cur || n > 254)
        return -1;
    if (RAND_bytes(out, CONTACTS_NONCE) != 1)
        return -1;
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL ||
        EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, contacts__cur.bytes,
                           out) != 1 ||
        EVP_EncryptUpdate(ctx, out + CONTACTS_NONCE, &len,
                          (const unsigned char *)email, (int)n) != 1 ||
        EVP_EncryptFinal_ex(ctx, out + CONTACTS_NONCE + len, &fin) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, CONTACTS_TAG,
                            out + CONTACTS_NONCE + len + fin) != 1)
        goto out;
    base_hex(out, (size_t)(CONTACTS_NONCE + len + fin + CONTACTS_TAG), hex);
    *key_id = contacts__cur.id;
    rc = 0;
out:
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_cleanse(out, sizeof(out));
    return rc;
}

int contacts_open(const unsigned char *blob, size_t n, const char *key_id,
                  char *out)
{
    const struct contacts_key *k = NULL;
    unsigned char tag[CONTACTS_TAG];
    int len = 0, fin = 0, rc = -2;
    EVP_CIPHER_CTX *ctx = NULL;

    if (contacts__have_cur && strcmp(contacts__cur.id, key_id) == 0)
        k = &contacts__cur;
    else if (contacts__have_prev && strcmp(contacts__prev.id, key_id) == 0)
        k = &contacts__prev;
    if (k == NULL)
        return -1;
    if (n < CONTACTS_NONCE + CONTACTS_TAG ||
        n > CONTACTS_NONCE + 254 + CONTACTS_TAG)
        return -2;
    size_t clen = n - CONTACTS_NONCE - CONTACTS_TAG;
    memcpy(tag, blob + n - CONTACTS_TAG, CONTACTS_TAG);
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL ||
        EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, k->bytes, blob) != 1 ||
        EVP_DecryptUpdate(ctx, (unsigned char *)out, &len,
                          blob + CONTACTS_NONCE, (int)clen) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, CONTACTS_TAG, tag) !=
            1 ||
        EVP_DecryptFinal_ex(ctx, (unsigned char *)out + len, &fin) != 1)
        goto out;
    out[len + fin] = '\0';
    rc = 0;
out:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

int contacts_encrypt_plain(PGconn *pg, char *errbuf, size_t errlen)
{
    PGresult *res = NULL;
    int done = -1;

    res = PQexec(pg, "BEGIN");
    PQclear(res);
    res = PQexec(pg, "SELECT question_id::text, email FROM question_contacts "
                     "WHERE email IS NOT NULL FOR UPDATE");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(errbuf, errlen, "contacts: %s", PQresultErrorMessage(res));
        goto out;
    }
    int n = PQntuples(res);
    if (n > 0 && !contacts__have_cur) {
        snprintf(errbuf, errlen,
                 "%d contact e-mails are stored in plain text and must be "
                 "encrypted: set CONTACT_KEY to a random 32-byte key in "
                 "base64 (e.g. `openssl rand -base64 32`), keep it safe, "
                 "and run migrate again",
                 n);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        char hex[CONTACTS_SEALED_HEX];
        const char *kid = NULL;
        if (contacts_seal(PQgetvalue(res, i, 1), hex, &kid) != 0) {
            snprintf(errbuf, errlen, "contacts: cannot encrypt");
            goto out;
        }
        const char *p[3] = {PQgetvalue(res, i, 0), hex, kid};
        PGresult *u = PQexecParams(
            pg,
            "UPDATE question_contacts SET email = NULL, ciphertext = "
            "decode($2, 'hex'), key_id = $3 WHERE question_id = $1::uuid",
            3, NULL, p, NULL, NULL, 0);
        int ok = PQresultStatus(u) == PGRES_COMMAND_OK;
        if (!ok)
            snprintf(errbuf, errlen, "contacts: %s", PQresultErrorMessage(u));
        PQclear(u);
        if (!ok)
            goto out;
    }
    PQclear(res);
    res = PQexec(pg, "COMMIT");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        snprintf(errbuf, errlen, "contacts: %s", PQresultErrorMessage(res));
        goto out;
    }
    done = n;
out:
    PQclear(res);
    if (done < 0)
        PQclear(PQexec(pg, "ROLLBACK"));
    return done;
}

/* ---- the expiry worker ---- */

const struct db_statement contacts_statements[] = {
    /* (7271, 20): one sweep at a time across instances; an instance that
     * does not get the lock deletes nothing this round. */
    {"contacts_expire",
     "WITH claim AS (SELECT pg_try_advisory_xact_lock(7271, 20) AS got) "
     "DELETE FROM question_contacts c USING claim WHERE claim.got AND "
     "c.created_at < now() - $1::int * interval '1 day'",
     1},
};
const size_t contacts_nstatements = ARRAY_SIZE(contacts_statements);

static struct periodic contacts__w = PERIODIC_INIT;
static unsigned contacts__days;

/* One sweep; a failure is logged and the next interval tries again. */
static bool contacts__sweep(void *arg)
{
    struct db_conn *c = NULL;
    PGresult *res = NULL;
    char days[16];
    const char *params[1] = {days};

    (void)arg;
    snprintf(days, sizeof(days), "%u", contacts__days);
    if (db_acquire(&c) != DB_OK ||
        db_query(c, &contacts_statements[0], params, true, &res) != DB_OK) {
        log_msg(LOG_WARN, "contact expiry skipped", "reason",
                "database unavailable or statement failed", LOG_END);
        return false;
    }
    if (strcmp(PQcmdTuples(res), "0") != 0)
        log_msg(LOG_INFO, "expired contact e-mails deleted", "count",
                PQcmdTuples(res), LOG_END);
    PQclear(res);
    return false;
}

int contacts_worker_start(unsigned retention_days, unsigned interval_s)
{
    if (interval_s == 0)
        return 0;
    contacts__days = retention_days;
    return periodic_start(&contacts__w, interval_s * 1000u, contacts__sweep,
                          NULL);
}

void contacts_worker_stop(void)
{
    periodic_stop(&contacts__w);
}
