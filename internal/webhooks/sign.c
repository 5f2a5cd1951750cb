/* webhooks/sign — Standard Webhooks signatures and the sealing of secrets
 * at rest, all with OpenSSL (HMAC, AES-256-GCM, base64, CSPRNG). */
#include "medqa/webhooks.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define WEBHOOKS__NONCE 12
#define WEBHOOKS__TAG 16

int webhooks_secret_new(unsigned char key[WEBHOOKS_KEY_LEN],
                        char text[WEBHOOKS_SECRET_TEXT_LEN])
{
    if (RAND_bytes(key, WEBHOOKS_KEY_LEN) != 1)
        return -1;
    memcpy(text, "whsec_", 6);
    /* 32 bytes are 44 base64 characters with one '=' of padding, which
     * the reference verifiers expect (they decode standard base64). */
    EVP_EncodeBlock((unsigned char *)text + 6, key, WEBHOOKS_KEY_LEN);
    return 0;
}

int webhooks_sign(const unsigned char *key, size_t keylen, const char *msg_id,
                  long long timestamp, const char *body, size_t len,
                  char out[WEBHOOKS_SIGNATURE_LEN])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    char prefix[128];
    int rc = -1;
    int n = snprintf(prefix, sizeof(prefix), "%s.%lld.", msg_id, timestamp);

    if (n < 0 || (size_t)n >= sizeof(prefix))
        return -1;
    /* EVP_MAC (OpenSSL 3's HMAC) takes the message in pieces, so the
     * body is never copied behind its prefix. */
    EVP_MAC *mac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *mctx = mac_alg != NULL ? EVP_MAC_CTX_new(mac_alg) : NULL;
    OSSL_PARAM params[2] = {OSSL_PARAM_construct_utf8_string(
                                "digest", (char *)(uintptr_t) "SHA256", 0),
                            OSSL_PARAM_construct_end()};
    size_t outl = 0;
    if (mctx == NULL || EVP_MAC_init(mctx, key, keylen, params) != 1 ||
        EVP_MAC_update(mctx, (const unsigned char *)prefix, (size_t)n) != 1 ||
        EVP_MAC_update(mctx, (const unsigned char *)body, len) != 1 ||
        EVP_MAC_final(mctx, mac, &outl, sizeof(mac)) != 1)
        goto out;
    maclen = (unsigned int)outl;
    memcpy(out, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)out + 3, mac, (int)maclen);
    rc = 0;
out:
    EVP_MAC_CTX_free(mctx);
    EVP_MAC_free(mac_alg);
    OPENSSL_cleanse(mac, sizeof(mac));
    return rc;
}

int webhooks_seal(const unsigned char master[WEBHOOKS_KEY_LEN],
                  const char *endpoint_id,
                  const unsigned char secret[WEBHOOKS_KEY_LEN],
                  unsigned char out[WEBHOOKS_SEALED_LEN])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    unsigned char *nonce = out;
    unsigned char *ct = out + WEBHOOKS__NONCE;
    unsigned char *tag = ct + WEBHOOKS_KEY_LEN;
    int len = 0;
    int fin = 0;
    int rc = -1;

    if (ctx == NULL || RAND_bytes(nonce, WEBHOOKS__NONCE) != 1)
        goto out;
    if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, master, nonce) != 1 ||
        EVP_EncryptUpdate(ctx, NULL, &len, (const unsigned char *)endpoint_id,
                          (int)strlen(endpoint_id)) != 1 ||
        EVP_EncryptUpdate(ctx, ct, &len, secret, WEBHOOKS_KEY_LEN) != 1 ||
        EVP_EncryptFinal_ex(ctx, ct + len, &fin) != 1 ||
        len + fin != WEBHOOKS_KEY_LEN ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, WEBHOOKS__TAG, tag) != 1)
        goto out;
    rc = 0;
out:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

int webhooks_open(const unsigned char master[WEBHOOKS_KEY_LEN],
                  const char *endpoint_id,
                  const unsigned char sealed[WEBHOOKS_SEALED_LEN],
                  unsigned char secret[WEBHOOKS_KEY_LEN])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    const unsigned char *nonce = sealed;
    const unsigned char *ct = sealed + WEBHOOKS__NONCE;
    unsigned char tag[WEBHOOKS__TAG];
    int len = 0;
    int fin = 0;
    int rc = -1;

    memcpy(tag, ct + WEBHOOKS_KEY_LEN, WEBHOOKS__TAG);
    if (ctx == NULL ||
        EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, master, nonce) != 1 ||
        EVP_DecryptUpdate(ctx, NULL, &len, (const unsigned char *)endpoint_id,
                          (int)strlen(endpoint_id)) != 1 ||
        EVP_DecryptUpdate(ctx, secret, &len, ct, WEBHOOKS_KEY_LEN) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, WEBHOOKS__TAG, tag) !=
            1 ||
        EVP_DecryptFinal_ex(ctx, secret + len, &fin) != 1) {
        OPENSSL_cleanse(secret, WEBHOOKS_KEY_LEN);
        goto out;
    }
    rc = 0;
out:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}
