/* http/limit — rate-limit policy for one request: which bucket it is
 * counted in (its address, its key, or its address's failed-key bucket),
 * the 429, the token a 304 gives back, and the RateLimit-* headers. The
 * buckets themselves are internal/ratelimit's; everything this file
 * decides about one request lives in r->limit (struct ratelimit_charge). */
#include "http_internal.h"

#include "medqa/auth.h"
#include "medqa/base.h"
#include "medqa/config.h"

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The last X-Forwarded-For header: a proxy that adds a line of its own
 * rather than appending to the client's puts it last. */
static enum MHD_Result limit__last_xff(void *cls, enum MHD_ValueKind kind,
                                       const char *key, const char *value)
{
    (void)kind;
    if (strcasecmp(key, "X-Forwarded-For") == 0 && value != NULL)
        *(const char **)cls = value;
    return MHD_YES;
}

/* Names r's address bucket ("a" or, for failed keys, "f" + 16 bytes) in
 * r->limit. Returns 0, or -1 when the peer has no IP address. */
static int limit__address_key(struct request *r, char kind)
{
    struct ratelimit_charge *ch = &r->limit;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const char *xff = NULL;

    if (ci == NULL)
        return -1;
    if (r->cfg->trusted_count > 0)
        MHD_get_connection_values(r->conn, MHD_HEADER_KIND, limit__last_xff,
                                  (void *)&xff);
    ch->key[0] = (unsigned char)kind;
    if (ratelimit_client_address(ci->client_addr, xff, r->cfg->trusted_proxies,
                                 r->cfg->trusted_count, ch->key + 1) != 0)
        return -1;
    ch->keylen = 17;
    return 0;
}

/* Counts r in the bucket r->limit names under `rule`: spends a token when
 * `spend` is set, otherwise only looks. Returns 1 when the bucket was
 * empty. */
static int limit__count(struct request *r, const struct ratelimit_rule *rule,
                        bool spend)
{
    struct ratelimit_charge *ch = &r->limit;
    struct ratelimit_result res;

    if (ch->rl == NULL || ch->keylen == 0)
        return 0;
    ratelimit_take(ch->rl, ch->key, ch->keylen, rule, base_now_us(), spend,
                   &res);
    ch->rule = rule;
    ch->known = rule->limit > 0;
    ch->result = res;
    ch->spent = spend && res.allowed && rule->limit > 0;
    return res.allowed ? 0 : 1;
}

/* Replies 429 from the figures limit__count() left. */
static int limit__too_many(struct request *r, const char *detail)
{
    char secs[16];

    snprintf(secs, sizeof(secs), "%u", r->limit.result.retry_after_s);
    request_add_header(r, "Retry-After", secs);
    return request_problem(r, PROBLEM_RATE_LIMITED, 0, detail, NULL);
}

static const struct ratelimit_rule *limit__role_rule(const struct config *c,
                                                     unsigned role)
{
    switch (role) {
    case AUTH_ROLE_PARTNER: return &c->rate_partner;
    case AUTH_ROLE_APP: return &c->rate_app;
    case AUTH_ROLE_DOCTOR: return &c->rate_doctor;
    case AUTH_ROLE_EDITOR: return &c->rate_editor;
    default: return &c->rate_anon;
    }
}

void http__limit_address(struct request *r, bool spend)
{
    if (limit__address_key(r, 'a') == 0)
        limit__count(r, &r->cfg->rate_anon, spend);
}

int http__limit_address_or_reply(struct request *r, bool limited, bool keyed)
{
    const struct config *c = r->cfg;

    if (limit__address_key(r, keyed && limited ? 'f' : 'a') != 0)
        return REPLY_NONE;
    if (!limited) {
        /* An operation the spec never answers 429 (liveness probes):
         * show the address's figures, spend nothing. */
        limit__count(r, &c->rate_anon, false);
        return REPLY_NONE;
    }
    if (limit__count(r, &c->rate_anon, !keyed) != 0)
        return limit__too_many(r, keyed ? "Too many failed API keys from this "
                                          "address; retry after the delay in "
                                          "Retry-After."
                                        : "Too many requests from this "
                                          "address; retry after the delay in "
                                          "Retry-After.");
    return REPLY_NONE;
}

int http__limit_key_or_reply(struct request *r, bool authenticated)
{
    struct ratelimit_charge *ch = &r->limit;

    if (r->key_id[0] != '\0') {
        size_t n = strlen(r->key_id);
        ch->key[0] = 'k';
        memcpy(ch->key + 1, r->key_id, n);
        ch->keylen = n + 1;
        if (limit__count(r, limit__role_rule(r->cfg, r->role), true) != 0 &&
            authenticated)
            return limit__too_many(r, "Too many requests for this key; retry "
                                      "after the delay in Retry-After.");
        return REPLY_NONE;
    }
    if (!authenticated && r->status == 401 && ch->keylen == 17 &&
        ch->key[0] == 'f')
        limit__count(r, &r->cfg->rate_anon, true);
    return REPLY_NONE;
}

/* A 304 costs the server no body, and a client revalidating politely
 * should not be punished for it, so its token goes back first. */
void http__limit_respond(struct request *r, unsigned status,
                         struct MHD_Response *resp)
{
    struct ratelimit_charge *ch = &r->limit;
    char v[16];

    if (status == 304 && ch->spent && ch->rl != NULL) {
        ratelimit_refund(ch->rl, ch->key, ch->keylen, ch->rule, base_now_us(),
                         &ch->result);
        ch->spent = false;
    }
    if (!ch->known)
        return;
    snprintf(v, sizeof(v), "%u", ch->result.limit);
    MHD_add_response_header(resp, "RateLimit-Limit", v);
    snprintf(v, sizeof(v), "%u", ch->result.remaining);
    MHD_add_response_header(resp, "RateLimit-Remaining", v);
    snprintf(v, sizeof(v), "%u", ch->result.reset_s);
    MHD_add_response_header(resp, "RateLimit-Reset", v);
}
