/* seed/prng — the synthetic generator's random numbers: splitmix64, one
 * short stream per (seed, index, purpose), so that question i's rows never
 * depend on the rows before it and the same seed gives the same bytes on
 * any machine.
 *
 * Static inline: the generator draws a few dozen numbers per row, millions
 * of times, and every draw is a handful of instructions. Changing anything
 * here changes every synthetic row ever generated from a given seed. */
#ifndef MEDQA_SEED_PRNG_H
#define MEDQA_SEED_PRNG_H

#include <stddef.h>
#include <stdint.h>

/* What a stream is for; each purpose draws from its own stream, so adding
 * a draw to one never shifts another's. */
enum syn_purpose {
    SYN_P_PLAN = 1, /* ids, choices, times: needed by every pass */
    SYN_P_QTEXT,    /* question title and body */
    SYN_P_RTEXT,    /* reply bodies */
    SYN_P_DOCTOR,
};

struct syn_rng {
    uint64_t s;
};

/* A list of phrases to pick from; the strings belong to the vocabulary
 * (seed/vocab.c), which outlives every pick. */
struct syn_list {
    const char *const *v;
    unsigned n;
};

static inline uint64_t syn_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t syn_next(struct syn_rng *r)
{
    r->s += 0x9e3779b97f4a7c15ULL;
    return syn_mix(r->s);
}

static inline struct syn_rng syn_stream(uint64_t seed, uint64_t index,
                                        enum syn_purpose purpose)
{
    struct syn_rng r = {syn_mix(syn_mix(seed ^ ((uint64_t)purpose << 56)) +
                                index * 0xd1b54a32d192ed03ULL)};
    return r;
}

/* Uniform in [0, n); the multiply-shift avoids modulo bias. */
static inline unsigned syn_below(struct syn_rng *r, unsigned n)
{
    return (unsigned)(((syn_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* One entry of a list the vocabulary guarantees is not empty. */
static inline const char *syn_pick(struct syn_rng *r, const struct syn_list *l)
{
    return l->v[syn_below(r, l->n)];
}

/* A version-4-shaped UUID drawn from r, as 36 characters and a NUL. */
static inline void syn_uuid(struct syn_rng *r, char out[37])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    uint64_t hi = syn_next(r), lo = syn_next(r);

    for (int i = 0; i < 8; i++) {
        b[i] = (unsigned char)(hi >> (56 - 8 * i));
        b[8 + i] = (unsigned char)(lo >> (56 - 8 * i));
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    char *o = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-';
        *o++ = hex[b[i] >> 4];
        *o++ = hex[b[i] & 15];
    }
    *o = '\0';
}

#endif
