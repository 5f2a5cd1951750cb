/* base — clocks and digests shared by every module (see base.h). */
#include "medqa/base.h"

#include <openssl/evp.h>
#include <string.h>
#include <time.h>

int64_t base_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t base_now_ms(void)
{
    return base_now_us() / 1000;
}

void base_hex(const unsigned char *md, size_t nbytes, char *out)
{
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < nbytes; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * nbytes] = '\0';
}

void base_sha256_hex(const void *data, size_t len, size_t nbytes, char *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (nbytes > 32)
        nbytes = 32;
    if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen < 32)
        memset(md, 0, sizeof(md));
    base_hex(md, nbytes, out);
}
