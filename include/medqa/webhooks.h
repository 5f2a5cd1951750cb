/* webhooks — signed push deliveries to partners (Standard Webhooks 1.0).
 *
 * Partners register endpoints (internal/handlers/webhooks.c); a worker
 * thread in `medqa serve` fans the `changes` feed out into per-endpoint
 * deliveries and sends them with libcurl, signed with each endpoint's
 * secret, retrying on the specification's schedule. The pieces here are
 * what the handlers and the worker share, each usable (and unit-tested)
 * on its own: signing and sealing (sign.c), the URL and address policy
 * (ssrf.c), one HTTP attempt (deliver.c), the schedule and the thread
 * (worker.c). */
#ifndef MEDQA_WEBHOOKS_H
#define MEDQA_WEBHOOKS_H

#include "medqa/db.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct config;

/* ---- sign.c ------------------------------------------------------------ */

#define WEBHOOKS_KEY_LEN 32    /* secret and sealing key bytes */
#define WEBHOOKS_SEALED_LEN 60 /* nonce 12 + ciphertext 32 + tag 16 */
/* "whsec_" + base64 of 32 bytes (44) + NUL */
#define WEBHOOKS_SECRET_TEXT_LEN 51
/* "v1," + base64 of a SHA-256 (44) + NUL */
#define WEBHOOKS_SIGNATURE_LEN 48

/* A new random secret (OpenSSL's CSPRNG): its 32 bytes in `key` and its
 * text "whsec_<base64>" in `text`. Returns 0 or -1. */
int webhooks_secret_new(unsigned char key[WEBHOOKS_KEY_LEN],
                        char text[WEBHOOKS_SECRET_TEXT_LEN]);

/* The Standard Webhooks signature "v1,<base64 HMAC-SHA256 of
 * msg_id.timestamp.body>" under `key`, written into `out`. Returns 0 or
 * -1. */
int webhooks_sign(const unsigned char *key, size_t keylen, const char *msg_id,
                  long long timestamp, const char *body, size_t len,
                  char out[WEBHOOKS_SIGNATURE_LEN]);

/* Seals a secret with AES-256-GCM under `master`, with `endpoint_id` as
 * associated data. Returns 0 or -1. */
int webhooks_seal(const unsigned char master[WEBHOOKS_KEY_LEN],
                  const char *endpoint_id,
                  const unsigned char secret[WEBHOOKS_KEY_LEN],
                  unsigned char out[WEBHOOKS_SEALED_LEN]);

/* Opens what webhooks_seal() made. Returns 0, or -1 when the tag does not
 * verify (another key, another endpoint, a changed byte). */
int webhooks_open(const unsigned char master[WEBHOOKS_KEY_LEN],
                  const char *endpoint_id,
                  const unsigned char sealed[WEBHOOKS_SEALED_LEN],
                  unsigned char secret[WEBHOOKS_KEY_LEN]);

/* ---- ssrf.c ------------------------------------------------------------ */

/* True when a delivery must not connect to `sa` (AF_INET or AF_INET6):
 * loopback, private, shared (CGNAT), link-local, multicast, unspecified,
 * reserved or broadcast, IPv4-mapped and NAT64 forms of those included. */
bool webhooks_addr_forbidden(const struct sockaddr *sa);

/* The parts of an endpoint URL a delivery needs. */
struct webhooks_target {
    char host[256]; /* without brackets for an IPv6 literal */
    unsigned port;
    bool https;
    bool literal; /* the host is an IP address */
};

/* Checks an endpoint URL against the policy: an absolute https:// URL
 * (http:// too with allow_http) without credentials or fragment, whose
 * host, when it is an address, is allowed (any address with
 * allow_private). Fills `t`. Returns 0, or -1 with a sentence for the
 * client in `reason`. Resolves nothing. */
int webhooks_url_check(const char *url, bool allow_http, bool allow_private,
                       struct webhooks_target *t, char *reason, size_t len);

/* Resolves `t` and picks the first allowed address (any with
 * allow_private), as text for CURLOPT_RESOLVE (IPv6 in brackets) in
 * `addr`. Returns 0, 1 when the name resolves but only to refused
 * addresses, -1 when it does not resolve; `reason` says which. */
int webhooks_resolve(const struct webhooks_target *t, bool allow_private,
                     char *addr, size_t addrlen, char *reason, size_t len);

/* ---- deliver.c --------------------------------------------------------- */

struct webhooks_request {
    const char *url;
    const struct webhooks_target *target;
    const char *pinned_addr; /* from webhooks_resolve(); NULL for literals */
    const char *msg_id;
    long long timestamp;
    const char *signature; /* one or more "v1,…" separated by spaces */
    const char *body;
    size_t body_len;
    unsigned connect_timeout_s;
    unsigned timeout_s;
    const atomic_bool *stop; /* the transfer is abandoned when it turns true */
};

struct webhooks_result {
    long status;        /* HTTP status, 0 when none came */
    long retry_after_s; /* Retry-After in seconds, -1 when absent */
    bool interrupted;   /* cut by *stop, not by the receiver */
    long long micros;   /* time the attempt took */
    char error[200];    /* why it failed, for the delivery log */
};

/* Once per process, before any thread sends (curl_global_init). */
int webhooks_http_init(void);
void webhooks_http_cleanup(void);

/* One POST of the body with the Standard Webhooks headers: TLS verified,
 * no redirect followed, no proxy, the connection pinned to pinned_addr,
 * at most 64 KiB of the answer read. Returns 0 when an HTTP status came
 * back (any status), -1 otherwise (res->error says why). */
int webhooks_send(const struct webhooks_request *rq,
                  struct webhooks_result *res);

/* ---- worker.c ---------------------------------------------------------- */

#define WEBHOOKS_MAX_ATTEMPTS 8

/* The delay before attempt `next` (2…8) in milliseconds: the Standard
 * Webhooks schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h) divided
 * by `scale`, plus jitter of up to a tenth (`jitter01` in [0, 1)). -1
 * when `next` is past the last attempt. */
long long webhooks_retry_delay_ms(int next, unsigned scale, double jitter01);

/* Parses a Retry-After value: delta-seconds or an HTTP date (relative to
 * `now`, unix seconds). Returns the seconds to wait (0 for a past date),
 * or -1 when the value is neither. */
long webhooks_parse_retry_after(const char *v, long long now);

/* The worker's statements (store.c), registered with every module's by
 * handlers_register_statements() (medqa/handlers.h). */
extern const struct db_statement webhooks_worker_statements[];
extern const size_t webhooks_worker_nstatements;

/* Starts the delivery thread (it makes its own database connection). Does
 * nothing, returning 0, without WEBHOOK_SECRET_KEY. Returns -1 when the
 * thread could not start. `cfg` must outlive the worker. */
int webhooks_worker_start(const struct config *cfg);

/* Stops the worker: transfers in flight are cut, their deliveries put
 * back as due (not counted as attempts) for the next start or another
 * instance, and the thread joined. Safe when none was started. */
void webhooks_worker_stop(void);

#endif
