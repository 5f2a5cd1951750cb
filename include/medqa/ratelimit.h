/* ratelimit — token buckets per caller, in memory, per instance.
 *
 * Each caller (an API key, or a client address for anonymous callers) has
 * a bucket of `limit` tokens that refills continuously at limit/window;
 * a request spends one token, and a caller with less than one token left
 * is refused until it refills. The buckets live in a fixed-size table
 * shared by every worker thread: set-associative (a keyed hash picks a set
 * of RATELIMIT_WAYS entries, each set guarded by one of a fixed number of
 * striped mutexes), so memory is bounded however many addresses a client
 * sprays. A new caller takes a free entry of its set, else one whose
 * bucket has refilled completely (forgetting it loses nothing), else the
 * least recently used one.
 *
 * State is per instance: behind a load balancer spreading over N
 * instances a caller gets up to N times the configured rate. */
#ifndef MEDQA_RATELIMIT_H
#define MEDQA_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>

struct sockaddr;
struct ratelimit;

/* A bucket's name: a kind byte plus a key id or an address. */
#define RATELIMIT_KEY_MAX 40
/* Entries per set; a lookup scans one set. */
#define RATELIMIT_WAYS 8

/* What callers of one kind may do: `limit` requests per `window_s`
 * seconds, with bursts up to `limit`. limit 0 means unlimited. */
struct ratelimit_rule {
    unsigned limit;
    unsigned window_s;
};

/* A network (an address and a prefix length); IPv4 is held as an
 * IPv4-mapped IPv6 address with prefix 96 + its IPv4 prefix. */
struct ratelimit_net {
    unsigned char addr[16];
    unsigned prefix;
};

/* The outcome of one look at a bucket, with the figures for the
 * RateLimit-* headers. */
struct ratelimit_result {
    bool allowed;           /* a token was there (and was spent, if asked) */
    unsigned limit;         /* RateLimit-Limit */
    unsigned remaining;     /* RateLimit-Remaining: whole tokens left */
    unsigned reset_s;       /* RateLimit-Reset: seconds until the bucket is
                               full again */
    unsigned retry_after_s; /* when refused: seconds until one token */
};

/* One request's charge: the bucket it was counted in and under which
 * rule, whether it spent a token (so a 304 can give it back), and the
 * figures for its RateLimit-* headers. Zeroed, it is "not counted". */
struct ratelimit_charge {
    struct ratelimit *rl; /* the table; NULL when limiting is off */
    const struct ratelimit_rule *rule;
    unsigned char key[RATELIMIT_KEY_MAX];
    size_t keylen; /* 0 until a bucket is named */
    bool spent;
    bool known; /* `result` holds figures to send */
    struct ratelimit_result result;
};

/* Makes a table of at least `entries` buckets (rounded up to a power of
 * two number of sets). Returns 0 and the table in *out (free it with
 * ratelimit_free()), or -1 when out of memory. */
int ratelimit_new(size_t entries, struct ratelimit **out);

void ratelimit_free(struct ratelimit *rl);

/* Refills bucket `key` (keylen bytes, at most RATELIMIT_KEY_MAX) under
 * `rule` at time now_us (a monotonic clock in microseconds) and, when
 * `spend` is set, takes one token from it if one is there. Fills *out.
 * A rule with limit 0 always allows and touches nothing. */
void ratelimit_take(struct ratelimit *rl, const void *key, size_t keylen,
                    const struct ratelimit_rule *rule, long long now_us,
                    bool spend, struct ratelimit_result *out);

/* Gives one token back to bucket `key` (never above its limit), for a
 * request that turned out not to cost anything (a 304). Updates *res's
 * figures when res is not NULL. */
void ratelimit_refund(struct ratelimit *rl, const void *key, size_t keylen,
                      const struct ratelimit_rule *rule, long long now_us,
                      struct ratelimit_result *res);

/* Parses "N/W" where W is a whole number of seconds, minutes or hours
 * ("60/60s", "100/1m", "5000/1h"), or "off" (limit 0). N is 1 to 1000000
 * and the window 1 s to 24 h. Returns 0 and the rule, or -1. */
int ratelimit_parse_rule(const char *text, struct ratelimit_rule *out);

/* Parses one address or network ("10.0.0.1", "10.0.0.0/8", "::1",
 * "fd00::/8"). Returns 0 or -1. */
int ratelimit_parse_net(const char *text, struct ratelimit_net *out);

/* The address a request is counted under, as 16 bytes: the socket peer,
 * or, when the peer is one of the `ntrusted` trusted proxies, the
 * right-most address of X-Forwarded-For (`xff`, may be NULL) that is not
 * itself a trusted proxy. IPv4 becomes IPv4-mapped IPv6; an IPv6 address
 * keeps only its /64, which one host can fill on its own. Returns 0, or -1
 * when `peer` is neither IPv4 nor IPv6. */
int ratelimit_client_address(const struct sockaddr *peer, const char *xff,
                             const struct ratelimit_net *trusted,
                             size_t ntrusted, unsigned char out[16]);

#endif
