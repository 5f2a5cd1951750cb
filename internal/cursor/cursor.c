/* cursor — keyset cursors sealed with HMAC-SHA256 (OpenSSL).
 *
 * Text form: base64url(payload) "." base64url(first 16 bytes of the HMAC
 * of the payload), where payload is "v1\n<sort>\n<bind>\n<key>\n<key>…".
 * The sort and bind are inside the sealed payload, so a cursor cannot be
 * moved to another query even by editing it consistently. */
#include "medqa/cursor.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#define CURSOR_MAC_BYTES 16

/* Standard base64 from OpenSSL, then the URL-safe alphabet without
 * padding, so cursors can go into a query string unescaped. */
static int cursor__b64url(const unsigned char *in, size_t len, char *out,
                          size_t outlen)
{
    if (4 * ((len + 2) / 3) + 1 > outlen)
        return -1;
    int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    while (n > 0 && out[n - 1] == '=')
        n--;
    out[n] = '\0';
    for (int i = 0; i < n; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
    }
    return n;
}

static int cursor__unb64url(const char *in, size_t len, unsigned char *out,
                            size_t outlen)
{
    char buf[CURSOR_MAX_TEXT + 4];
    size_t padded = (len + 3) / 4 * 4;

    if (len == 0 || padded >= sizeof(buf) || len % 4 == 1 ||
        padded / 4 * 3 > outlen)
        return -1;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '-')
            c = '+';
        else if (c == '_')
            c = '/';
        else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                   (c >= '0' && c <= '9')))
            return -1;
        buf[i] = c;
    }
    for (size_t i = len; i < padded; i++)
        buf[i] = '=';
    buf[padded] = '\0';
    int n = EVP_DecodeBlock(out, (const unsigned char *)buf, (int)padded);
    if (n < 0)
        return -1;
    return n - (int)(padded - len); /* EVP counts the padding as zeros */
}

static int cursor__mac(const char *secret, const unsigned char *data,
                       size_t len, unsigned char mac[EVP_MAX_MD_SIZE])
{
    unsigned int maclen = 0;

    if (HMAC(EVP_sha256(), secret, (int)strlen(secret), data, len, mac,
             &maclen) == NULL ||
        maclen < CURSOR_MAC_BYTES)
        return -1;
    return 0;
}

int cursor_encode(const char *secret, const char *sort, const char *bind,
                  const char *const *keys, int nkeys, char *out)
{
    char payload[CURSOR_MAX_TEXT];
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t used;

    int n = snprintf(payload, sizeof(payload), "v1\n%s\n%s", sort, bind);
    if (n < 0 || (size_t)n >= sizeof(payload))
        return -1;
    used = (size_t)n;
    for (int i = 0; i < nkeys; i++) {
        if (strchr(keys[i], '\n') != NULL)
            return -1;
        n = snprintf(payload + used, sizeof(payload) - used, "\n%s", keys[i]);
        if (n < 0 || (size_t)n >= sizeof(payload) - used)
            return -1;
        used += (size_t)n;
    }
    if (cursor__mac(secret, (const unsigned char *)payload, used, mac) != 0)
        return -1;
    int a = cursor__b64url((const unsigned char *)payload, used, out,
                           CURSOR_MAX_TEXT);
    if (a < 0 || (size_t)a + 2 >= CURSOR_MAX_TEXT)
        return -1;
    out[a] = '.';
    if (cursor__b64url(mac, CURSOR_MAC_BYTES, out + a + 1,
                       CURSOR_MAX_TEXT - (size_t)a - 1) < 0)
        return -1;
    return 0;
}

int cursor_decode(const char *secret, const char *text, const char *sort,
                  const char *bind, int nkeys, struct cursor *out)
{
    unsigned char payload[CURSOR_MAX_TEXT];
    unsigned char given[64];
    unsigned char mac[EVP_MAX_MD_SIZE];
    const char *dot = strchr(text, '.');

    memset(out, 0, sizeof(*out));
    if (dot == NULL || strlen(text) >= CURSOR_MAX_TEXT || nkeys < 0 ||
        nkeys > CURSOR_MAX_KEYS)
        return CURSOR_EMALFORMED;
    int plen = cursor__unb64url(text, (size_t)(dot - text), payload,
                                sizeof(payload) - 1);
    int mlen = cursor__unb64url(dot + 1, strlen(dot + 1), given, sizeof(given));
    if (plen <= 0 || mlen != CURSOR_MAC_BYTES)
        return CURSOR_EMALFORMED;
    if (cursor__mac(secret, payload, (size_t)plen, mac) != 0 ||
        CRYPTO_memcmp(mac, given, CURSOR_MAC_BYTES) != 0)
        return CURSOR_EMALFORMED;
    payload[plen] = '\0';

    /* Sealed by us, so the layout is ours; still parse defensively. */
    char *fields[3 + CURSOR_MAX_KEYS];
    int nf = 0;
    char *p = (char *)payload;
    fields[nf++] = p;
    for (; *p; p++) {
        if (*p == '\n') {
            *p = '\0';
            if (nf == 3 + CURSOR_MAX_KEYS)
                return CURSOR_EMALFORMED;
            fields[nf++] = p + 1;
        }
    }
    if (nf < 3 || strcmp(fields[0], "v1") != 0)
        return CURSOR_EMALFORMED;
    if (strcmp(fields[1], sort) != 0 || strcmp(fields[2], bind) != 0 ||
        nf - 3 != nkeys)
        return CURSOR_EMISMATCH;
    for (int i = 0; i < nkeys; i++) {
        if (strlen(fields[3 + i]) >= CURSOR_MAX_KEY)
            return CURSOR_EMALFORMED;
        strcpy(out->keys[i], fields[3 + i]);
    }
    out->nkeys = nkeys;
    return CURSOR_OK;
}
