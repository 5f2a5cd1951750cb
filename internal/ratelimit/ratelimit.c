/* ratelimit — token buckets in a bounded, set-associative table.
 *
 * The set a key lands in is chosen by SipHash-2-4 under a random key made
 * at start-up, so a client cannot aim many names at one set to push a
 * victim's bucket out of it. */
#include "medqa/ratelimit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#define RL_LOCKS 256

struct rl_entry {
    unsigned char key[RATELIMIT_KEY_MAX];
    unsigned char keylen; /* 0 = free */
    unsigned limit;       /* the rule the bucket was filled under */
    unsigned window_s;
    double tokens;
    long long last_us; /* last refill, which is also the last use */
};

struct ratelimit {
    size_t nsets;             /* a power of two */
    struct rl_entry *entries; /* nsets * RATELIMIT_WAYS */
    pthread_mutex_t locks[RL_LOCKS];
    uint64_t k0, k1; /* SipHash key */
};

/* SipHash-2-4 (Aumasson and Bernstein), 64-bit output. */
#define RL_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define RL_SIPROUND                                                            \
    do {                                                                       \
        v0 += v1;                                                              \
        v1 = RL_ROTL(v1, 13);                                                  \
        v1 ^= v0;                                                              \
        v0 = RL_ROTL(v0, 32);                                                  \
        v2 += v3;                                                              \
        v3 = RL_ROTL(v3, 16);                                                  \
        v3 ^= v2;                                                              \
        v0 += v3;                                                              \
        v3 = RL_ROTL(v3, 21);                                                  \
        v3 ^= v0;                                                              \
        v2 += v1;                                                              \
        v1 = RL_ROTL(v1, 17);                                                  \
        v1 ^= v2;                                                              \
        v2 = RL_ROTL(v2, 32);                                                  \
    } while (0)

static uint64_t rl__siphash(uint64_t k0, uint64_t k1, const unsigned char *in,
                            size_t len)
{
    uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
    uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
    uint64_t v3 = 0x7465646279746573ULL ^ k1;
    uint64_t b = (uint64_t)len << 56;
    size_t i = 0;

    for (; i + 8 <= len; i += 8) {
        uint64_t m = 0;
        for (int j = 7; j >= 0; j--)
            m = (m << 8) | in[i + (size_t)j];
        v3 ^= m;
        RL_SIPROUND;
        RL_SIPROUND;
        v0 ^= m;
    }
    for (size_t j = 0; i + j < len; j++)
        b |= (uint64_t)in[i + j] << (8 * j);
    v3 ^= b;
    RL_SIPROUND;
    RL_SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    RL_SIPROUND;
    RL_SIPROUND;
    RL_SIPROUND;
    RL_SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

int ratelimit_new(size_t entries, struct ratelimit **out)
{
    struct ratelimit *rl = calloc(1, sizeof(*rl));
    size_t nsets = 1;
    unsigned char seed[16];
    size_t i;

    *out = NULL;
    if (rl == NULL)
        return -1;
    while (nsets * RATELIMIT_WAYS < entries && nsets < ((size_t)1 << 24))
        nsets <<= 1;
    rl->nsets = nsets;
    rl->entries = calloc(nsets * RATELIMIT_WAYS, sizeof(*rl->entries));
    if (rl->entries == NULL) {
        free(rl);
        return -1;
    }
    /* A short read leaves part of the seed as calloc'd zeroes; the table
     * still works, only its sets are easier to predict. */
    if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
        memset(seed, 0x5a, sizeof(seed));
    memcpy(&rl->k0, seed, 8);
    memcpy(&rl->k1, seed + 8, 8);
    for (i = 0; i < RL_LOCKS; i++)
        pthread_mutex_init(&rl->locks[i], NULL);
    *out = rl;
    return 0;
}

void ratelimit_free(struct ratelimit *rl)
{
    if (rl == NULL)
        return;
    for (size_t i = 0; i < RL_LOCKS; i++)
        pthread_mutex_destroy(&rl->locks[i]);
    free(rl->entries);
    free(rl);
}

/* The bucket's tokens at now_us, without changing it. */
static double rl__level(const struct rl_entry *e, long long now_us)
{
    double t = e->tokens;
    if (now_us > e->last_us)
        t += (double)(now_us - e->last_us) * e->limit /
             ((double)e->window_s * 1e6);
    return t > e->limit ? e->limit : t;
}

static void rl__refill(struct rl_entry *e, long long now_us)
{
    if (now_us > e->last_us) {
        double add = (double)(now_us - e->last_us) * e->limit /
                     ((double)e->window_s * 1e6);
        e->tokens += add;
        if (e->tokens > e->limit)
            e->tokens = e->limit;
        e->last_us = now_us;
    }
}

static unsigned rl__ceil_secs(double tokens_short, const struct rl_entry *e)
{
    double s = tokens_short * e->window_s / e->limit;
    unsigned whole = (unsigned)s;
    return (double)whole < s ? whole + 1 : whole;
}

static void rl__figures(const struct rl_entry *e, bool allowed,
                        struct ratelimit_result *out)
{
    out->allowed = allowed;
    out->limit = e->limit;
    out->remaining = e->tokens >= 0 ? (unsigned)e->tokens : 0;
    out->reset_s = rl__ceil_secs(e->limit - e->tokens, e);
    out->retry_after_s = 0;
    if (!allowed) {
        out->retry_after_s = rl__ceil_secs(1.0 - e->tokens, e);
        if (out->retry_after_s == 0)
            out->retry_after_s = 1;
    }
}

/* Finds `key` in its set, or claims an entry for it. Called with the
 * set's lock held. */
static struct rl_entry *rl__slot(struct rl_entry *set, const void *key,
                                 size_t keylen,
                                 const struct ratelimit_rule *rule,
                                 long long now_us, bool create)
{
    struct rl_entry *victim = NULL;

    for (int w = 0; w < RATELIMIT_WAYS; w++) {
        struct rl_entry *e = &set[w];
        if (e->keylen == keylen && memcmp(e->key, key, keylen) == 0)
            return e;
    }
    if (!create)
        return NULL;
    /* A free entry first, then one whose bucket is full again (forgetting
     * it changes nothing), then the one used longest ago. */
    for (int w = 0; w < RATELIMIT_WAYS && victim == NULL; w++)
        if (set[w].keylen == 0)
            victim = &set[w];
    for (int w = 0; w < RATELIMIT_WAYS && victim == NULL; w++)
        if (rl__level(&set[w], now_us) >= set[w].limit)
            victim = &set[w];
    if (victim == NULL) {
        victim = &set[0];
        for (int w = 1; w < RATELIMIT_WAYS; w++)
            if (set[w].last_us < victim->last_us)
                victim = &set[w];
    }
    memset(victim, 0, sizeof(*victim));
    memcpy(victim->key, key, keylen);
    victim->keylen = (unsigned char)keylen;
    victim->limit = rule->limit;
    victim->window_s = rule->window_s;
    victim->tokens = rule->limit;
    victim->last_us = now_us;
    return victim;
}

static struct rl_entry *rl__set(struct ratelimit *rl, const void *key,
                                size_t keylen, pthread_mutex_t **lock)
{
    uint64_t h = rl__siphash(rl->k0, rl->k1, key, keylen);
    size_t set = (size_t)h & (rl->nsets - 1);
    *lock = &rl->locks[set % RL_LOCKS];
    return &rl->entries[set * RATELIMIT_WAYS];
}

void ratelimit_take(struct ratelimit *rl, const void *key, size_t keylen,
                    const struct ratelimit_rule *rule, long long now_us,
                    bool spend, struct ratelimit_result *out)
{
    pthread_mutex_t *lock;
    struct rl_entry *set, *e;
    bool allowed;

    memset(out, 0, sizeof(*out));
    out->allowed = true;
    if (rule->limit == 0 || rule->window_s == 0 || keylen == 0 ||
        keylen > RATELIMIT_KEY_MAX)
        return;
    set = rl__set(rl, key, keylen, &lock);
    pthread_mutex_lock(lock);
    e = rl__slot(set, key, keylen, rule, now_us, true);
    /* The configuration is read once, so a rule never changes under a
     * bucket; this only guards against a caller mixing rules. */
    e->limit = rule->limit;
    e->window_s = rule->window_s;
    rl__refill(e, now_us);
    allowed = e->tokens >= 1.0;
    if (allowed && spend)
        e->tokens -= 1.0;
    rl__figures(e, allowed, out);
    pthread_mutex_unlock(lock);
}

void ratelimit_refund(struct ratelimit *rl, const void *key, size_t keylen,
                      const struct ratelimit_rule *rule, long long now_us,
                      struct ratelimit_result *res)
{
    pthread_mutex_t *lock;
    struct rl_entry *set, *e;

    if (rule->limit == 0 || rule->window_s == 0 || keylen == 0 ||
        keylen > RATELIMIT_KEY_MAX)
        return;
    set = rl__set(rl, key, keylen, &lock);
    pthread_mutex_lock(lock);
    e = rl__slot(set, key, keylen, rule, now_us, false);
    if (e != NULL) {
        rl__refill(e, now_us);
        e->tokens += 1.0;
        if (e->tokens > e->limit)
            e->tokens = e->limit;
        if (res != NULL)
            rl__figures(e, true, res);
    }
    pthread_mutex_unlock(lock);
}

/* A whole decimal number in [lo, hi] spanning exactly [s, end). */
static int rl__number(const char *s, const char *end, unsigned long lo,
                      unsigned long hi, unsigned long *out)
{
    unsigned long v = 0;

    if (s == end || end - s > 9)
        return -1;
    for (const char *p = s; p < end; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int ratelimit_parse_rule(const char *text, struct ratelimit_rule *out)
{
    const char *slash, *unit;
    unsigned long n, w, mult;

    if (text == NULL)
        return -1;
    if (strcmp(text, "off") == 0) {
        out->limit = 0;
        out->window_s = 0;
        return 0;
    }
    slash = strchr(text, '/');
    if (slash == NULL || rl__number(text, slash, 1, 1000000, &n) != 0)
        return -1;
    unit = slash + 1 + strlen(slash + 1);
    if (unit == slash + 1)
        return -1;
    unit--;
    switch (*unit) {
    case 's': mult = 1; break;
    case 'm': mult = 60; break;
    case 'h': mult = 3600; break;
    default: return -1;
    }
    if (rl__number(slash + 1, unit, 1, 86400, &w) != 0 || w * mult > 86400)
        return -1;
    out->limit = (unsigned)n;
    out->window_s = (unsigned)(w * mult);
    return 0;
}

static void rl__map4(const struct in_addr *a, unsigned char out[16])
{
    memset(out, 0, 10);
    out[10] = out[11] = 0xff;
    memcpy(out + 12, a, 4);
}

/* Parses one bare address (no prefix) into 16 bytes; returns 4 or 6 for
 * the family, or 0. */
static int rl__addr(const char *s, size_t len, unsigned char out[16])
{
    char buf[INET6_ADDRSTRLEN + 1];
    struct in_addr a4;

    if (len == 0 || len >= sizeof(buf))
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET, buf, &a4) == 1) {
        rl__map4(&a4, out);
        return 4;
    }
    if (inet_pton(AF_INET6, buf, out) == 1)
        return 6;
    return 0;
}

int ratelimit_parse_net(const char *text, struct ratelimit_net *out)
{
    const char *slash = strchr(text, '/');
    size_t len = slash ? (size_t)(slash - text) : strlen(text);
    int fam = rl__addr(text, len, out->addr);
    unsigned long p;

    if (fam == 0)
        return -1;
    out->prefix = 128;
    if (slash != NULL) {
        if (rl__number(slash + 1, slash + 1 + strlen(slash + 1), 0,
                       fam == 4 ? 32 : 128, &p) != 0)
            return -1;
        out->prefix = (unsigned)(fam == 4 ? p + 96 : p);
    }
    return 0;
}

static bool rl__in_net(const unsigned char a[16], const struct ratelimit_net *n)
{
    unsigned bits = n->prefix;
    size_t bytes = bits / 8;

    if (memcmp(a, n->addr, bytes) != 0)
        return false;
    if (bits % 8 == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - bits % 8));
    return (a[bytes] & mask) == (n->addr[bytes] & mask);
}

static bool rl__trusted(const unsigned char a[16],
                        const struct ratelimit_net *trusted, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (rl__in_net(a, &trusted[i]))
            return true;
    return false;
}

int ratelimit_client_address(const struct sockaddr *peer, const char *xff,
                             const struct ratelimit_net *trusted,
                             size_t ntrusted, unsigned char out[16])
{
    unsigned char a[16];

    if (peer == NULL)
        return -1;
    if (peer->sa_family == AF_INET) {
        struct sockaddr_in s4;
        memcpy(&s4, peer, sizeof(s4));
        rl__map4(&s4.sin_addr, a);
    } else if (peer->sa_family == AF_INET6) {
        struct sockaddr_in6 s6;
        memcpy(&s6, peer, sizeof(s6));
        memcpy(a, &s6.sin6_addr, 16);
    } else {
        return -1;
    }
    /* Only a trusted proxy's word is taken. Proxies append the address
     * they saw, so the list is read from the right and the first address
     * that is not one of our proxies is the client; anything to its left
     * was written by the client and may be forged. */
    if (xff != NULL && rl__trusted(a, trusted, ntrusted)) {
        const char *end = xff + strlen(xff);
        while (end > xff) {
            const char *start = end;
            while (start > xff && start[-1] != ',')
                start--;
            const char *s = start, *e = end;
            while (s < e && (*s == ' ' || *s == '\t'))
                s++;
            while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            unsigned char hop[16];
            if (rl__addr(s, (size_t)(e - s), hop) == 0)
                break; /* garbage: stop at the last address we believe */
            memcpy(a, hop, 16);
            if (!rl__trusted(hop, trusted, ntrusted))
                break;
            end = start > xff ? start - 1 : xff;
        }
    }
    /* One IPv6 host commonly holds a whole /64. */
    bool v4 = memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0;
    if (!v4)
        memset(a + 8, 0, 8);
    memcpy(out, a, 16);
    return 0;
}
