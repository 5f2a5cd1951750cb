/* webhooks/worker — the delivery thread of `medqa serve`.
 *
 * Each turn: fan new `changes` out to the endpoints (store.c), claim the
 * due deliveries, send them one by one, record each outcome, and every so
 * often refresh the queue gauges and prune old deliveries. The thread has
 * its own database connection (db_acquire() is per thread). Any number of
 * instances may run it: fan-out and claims use SKIP LOCKED, and a claim
 * is a lease, so each attempt is made by one instance. */
#include "webhooks_internal.h"

#include "medqa/base.h"
#include "medqa/config.h"
#include "medqa/log.h"
#include "medqa/metrics.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Deliveries claimed per turn: few, so a batch's lease stays short and
 * other instances share the work. */
#define WEBHOOKS__BATCH 8
/* Events fanned out per statement. */
#define WEBHOOKS__FANOUT 500
#define WEBHOOKS__GAUGE_MS 1000
#define WEBHOOKS__PRUNE_MS (10 * 60 * 1000)

/* Standard Webhooks' schedule: the delay before attempt i + 1. */
static const long long webhooks__schedule_s[WEBHOOKS_MAX_ATTEMPTS] = {
    0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600};

long long webhooks_retry_delay_ms(int next, unsigned scale, double jitter01)
{
    if (next < 2 || next > WEBHOOKS_MAX_ATTEMPTS)
        return -1;
    if (scale == 0)
        scale = 1;
    long long ms = webhooks__schedule_s[next - 1] * 1000 / (long long)scale;
    /* Jitter spreads the retries of many deliveries that failed together
     * (a receiver's outage) instead of sending them back in one burst. */
    if (jitter01 < 0)
        jitter01 = 0;
    if (jitter01 >= 1)
        jitter01 = 0.999;
    return ms + (long long)((double)ms * 0.1 * jitter01);
}

long webhooks_parse_retry_after(const char *v, long long now)
{
    char *end = NULL;

    if (v == NULL)
        return -1;
    while (*v == ' ')
        v++;
    if (*v >= '0' && *v <= '9') {
        errno = 0;
        long s = strtol(v, &end, 10);
        while (end != NULL && *end == ' ')
            end++;
        if (errno != 0 || end == NULL || *end != '\0' || s < 0)
            return -1;
        /* A day at most: a receiver cannot park a delivery for longer
         * than the schedule itself would. */
        return s > 86400 ? 86400 : s;
    }
    time_t t = curl_getdate(v, NULL);
    if (t == (time_t)-1)
        return -1;
    long long d = (long long)t - now;
    return d < 0 ? 0 : (d > 86400 ? 86400 : (long)d);
}

static struct {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool running;
    atomic_bool stop;
    const struct config *cfg;
} webhooks__w = {.lock = PTHREAD_MUTEX_INITIALIZER,
                 .wake = PTHREAD_COND_INITIALIZER};

static double webhooks__jitter(void)
{
    unsigned char b[4];
    if (RAND_bytes(b, sizeof(b)) != 1)
        return 0.5;
    uint32_t v = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) |
                 ((uint32_t)b[2] << 8) | b[3];
    return (double)v / 4294967296.0;
}

/* Sleeps up to ms, or until stopped. */
static void webhooks__wait(long long ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)(ms / 1000);
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&webhooks__w.lock);
    int rc = 0;
    while (!atomic_load(&webhooks__w.stop) && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&webhooks__w.wake, &webhooks__w.lock,
                                    &until);
    pthread_mutex_unlock(&webhooks__w.lock);
}

/* Runs a worker statement and drops its result; logs a failure. */
static int webhooks__exec(struct db_conn *c, int st, const char *const *p)
{
    PGresult *res = NULL;
    int rc = db_query(c, &webhooks_worker_statements[st], p, false, &res);
    if (rc != DB_OK)
        log_msg(LOG_WARN, "webhook statement failed", "statement",
                webhooks_worker_statements[st].name, "error", db_last_error(c),
                LOG_END);
    PQclear(res);
    return rc;
}

/* Fans new changes out to every endpoint this instance could lock. */
static void webhooks__fanout(struct db_conn *c)
{
    PGresult *ids = NULL;
    char batch[16];
    int rc;

    snprintf(batch, sizeof(batch), "%d", WEBHOOKS__FANOUT);
    if (db_command(c, "BEGIN") != DB_OK)
        return;
    rc = db_query(c, &webhooks_worker_statements[WH_ST_FANOUT_LOCK], NULL,
                  false, &ids);
    for (int i = 0; rc == DB_OK && i < PQntuples(ids); i++) {
        const char *p[3] = {PQgetvalue(ids, i, 0),
                            webhooks__w.cfg->public_base_url, batch};
        for (;;) {
            PGresult *res = NULL;
            rc = db_query(c, &webhooks_worker_statements[WH_ST_FANOUT], p,
                          false, &res);
            if (rc != DB_OK)
                break;
            int seen = atoi(PQgetvalue(res, 0, 0));
            PQclear(res);
            if (seen < WEBHOOKS__FANOUT)
                break;
        }
    }
    PQclear(ids);
    if (rc == DB_OK)
        rc = db_command(c, "COMMIT");
    if (rc != DB_OK) {
        log_msg(LOG_WARN, "webhook fan-out failed", "error", db_last_error(c),
                LOG_END);
        if (rc != DB_EUNAVAILABLE)
            db_command(c, "ROLLBACK");
    }
}

/* Opens a sealed secret given as hex. Returns 0 or -1. */
static int webhooks__open_hex(const char *hex, const char *endpoint_id,
                              unsigned char key[WEBHOOKS_KEY_LEN])
{
    long len = 0;
    unsigned char *sealed = OPENSSL_hexstr2buf(hex, &len);
    int rc = -1;

    if (sealed != NULL && len == WEBHOOKS_SEALED_LEN)
        rc = webhooks_open(webhooks__w.cfg->webhook_key, endpoint_id, sealed,
                           key);
    OPENSSL_free(sealed);
    return rc;
}

enum webhooks__outcome { WH_OK, WH_RETRY, WH_FAILED, WH_GONE, WH_RELEASED };

/* Signs with the current secret and, during a rotation's overlap, the
 * previous one too: "v1,<new> v1,<old>", as the specification allows. */
static int webhooks__signatures(PGresult *res, int i, long long ts, char *out,
                                size_t outlen)
{
    const char *id = PQgetvalue(res, i, 1);
    const char *body = PQgetvalue(res, i, 3);
    size_t len = (size_t)PQgetlength(res, i, 3);
    unsigned char key[WEBHOOKS_KEY_LEN];
    char sig[WEBHOOKS_SIGNATURE_LEN];
    const char *msg_id = PQgetvalue(res, i, 7);
    int rc = -1;

    if (webhooks__open_hex(PQgetvalue(res, i, 5), id, key) != 0 ||
        webhooks_sign(key, sizeof(key), msg_id, ts, body, len, sig) != 0)
        goto out;
    snprintf(out, outlen, "%s", sig);
    if (!PQgetisnull(res, i, 6)) {
        if (webhooks__open_hex(PQgetvalue(res, i, 6), id, key) != 0 ||
            webhooks_sign(key, sizeof(key), msg_id, ts, body, len, sig) != 0)
            goto out;
        size_t used = strlen(out);
        snprintf(out + used, outlen - used, " %s", sig);
    }
    rc = 0;
out:
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(sig, sizeof(sig));
    return rc;
}

/* Makes one attempt of claimed row i and records its outcome. */
static void webhooks__attempt(struct db_conn *c, PGresult *res, int i)
{
    const struct config *cfg = webhooks__w.cfg;
    const char *delivery = PQgetvalue(res, i, 0);
    const char *endpoint = PQgetvalue(res, i, 1);
    const char *url = PQgetvalue(res, i, 2);
    int attempt = atoi(PQgetvalue(res, i, 4));
    struct webhooks_target t;
    struct webhooks_result out;
    char reason[160], addr[64], sigs[2 * WEBHOOKS_SIGNATURE_LEN + 2];
    enum webhooks__outcome o = WH_RETRY;
    bool sent = false;

    memset(&out, 0, sizeof(out));
    out.retry_after_s = -1;
    long long ts = (long long)time(NULL);
    if (webhooks_url_check(url, cfg->webhook_allow_http,
                           cfg->webhook_allow_private, &t, reason,
                           sizeof(reason)) != 0) {
        snprintf(out.error, sizeof(out.error), "refused: %s", reason);
    } else if (!t.literal &&
               webhooks_resolve(&t, cfg->webhook_allow_private, addr,
                                sizeof(addr), reason, sizeof(reason)) != 0) {
        snprintf(out.error, sizeof(out.error), "refused: %s", reason);
    } else if (webhooks__signatures(res, i, ts, sigs, sizeof(sigs)) != 0) {
        /* The secret does not open: WEBHOOK_SECRET_KEY changed. Retrying
         * helps once the right key is back. */
        snprintf(out.error, sizeof(out.error),
                 "the signing secret cannot be opened with "
                 "WEBHOOK_SECRET_KEY");
    } else {
        struct webhooks_request rq = {
            .url = url,
            .target = &t,
            .pinned_addr = t.literal ? NULL : addr,
            .msg_id = PQgetvalue(res, i, 7),
            .timestamp = ts,
            .signature = sigs,
            .body = PQgetvalue(res, i, 3),
            .body_len = (size_t)PQgetlength(res, i, 3),
            .connect_timeout_s = cfg->webhook_connect_timeout_s,
            .timeout_s = cfg->webhook_timeout_s,
            .stop = &webhooks__w.stop,
        };
        webhooks_send(&rq, &out);
        OPENSSL_cleanse(sigs, sizeof(sigs));
        sent = true;
    }

    char status_text[24], delay_text[24], disable_text[16];
    const char *status_p = NULL, *delay_p = NULL;
    if (out.status > 0) {
        snprintf(status_text, sizeof(status_text), "%ld", out.status);
        status_p = status_text;
    }
    if (sent && out.interrupted) {
        o = WH_RELEASED;
        const char *p[1] = {delivery};
        webhooks__exec(c, WH_ST_RELEASE, p);
    } else if (out.status >= 200 && out.status <= 299) {
        o = WH_OK;
        const char *p[2] = {delivery, status_text};
        webhooks__exec(c, WH_ST_SUCCEEDED, p);
    } else if (out.status == 410) {
        o = WH_GONE;
        const char *p[1] = {delivery};
        webhooks__exec(c, WH_ST_GONE, p);
    } else {
        long long delay = webhooks_retry_delay_ms(
            attempt + 1, cfg->webhook_retry_scale, webhooks__jitter());
        if (delay >= 0 && (out.status == 429 || out.status == 503) &&
            out.retry_after_s >= 0 && out.retry_after_s * 1000LL > delay)
            delay = out.retry_after_s * 1000LL;
        if (delay >= 0) {
            snprintf(delay_text, sizeof(delay_text), "%lld", delay);
            delay_p = delay_text;
        } else {
            o = WH_FAILED;
        }
        snprintf(disable_text, sizeof(disable_text), "%u",
                 cfg->webhook_disable_after_s);
        const char *p[5] = {delivery, status_p, out.error, delay_p,
                            disable_text};
        PGresult *r = NULL;
        if (db_query(c, &webhooks_worker_statements[WH_ST_FAILED], p, false,
                     &r) == DB_OK &&
            PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "true") == 0)
            log_msg(LOG_WARN, "webhook endpoint disabled", "endpoint_id",
                    endpoint, "reason", "failing continuously", LOG_END);
        PQclear(r);
    }

    static const char *const names[] = {"succeeded", "retrying", "failed",
                                        "gone", "interrupted"};
    static const enum metrics_webhook_outcome kinds[] = {
        METRICS_WH_SUCCEEDED, METRICS_WH_RETRYING, METRICS_WH_FAILED,
        METRICS_WH_GONE, METRICS_WH_INTERRUPTED};
    metrics_webhook_attempt(kinds[o]);
    char us[24], att[16], st[24];
    snprintf(us, sizeof(us), "%lld", out.micros);
    snprintf(att, sizeof(att), "%d", attempt);
    snprintf(st, sizeof(st), "%ld", out.status);
    /* The access-log line of an attempt: never the secret, the signature
     * or the body. */
    log_msg(o == WH_OK ? LOG_INFO : LOG_WARN, "webhook attempt", "endpoint_id",
            endpoint, "delivery_id", delivery, "webhook_id",
            PQgetvalue(res, i, 7), "event", PQgetvalue(res, i, 8), "seq",
            PQgetvalue(res, i, 9), "attempt", att, "status", st, "outcome",
            names[o], "us", us, "error", out.error[0] ? out.error : NULL,
            LOG_END);
}

/* Claims due deliveries and sends them. Returns how many were claimed. */
static int webhooks__send_due(struct db_conn *c)
{
    const struct config *cfg = webhooks__w.cfg;
    char batch[16], lease[16];
    PGresult *res = NULL;

    snprintf(batch, sizeof(batch), "%d", WEBHOOKS__BATCH);
    /* Long enough for every attempt of the batch to run to its timeout,
     * so no other instance takes one over while it is in flight. */
    snprintf(lease, sizeof(lease), "%u",
             WEBHOOKS__BATCH *
                     (cfg->webhook_connect_timeout_s + cfg->webhook_timeout_s) +
                 60);
    const char *p[2] = {batch, lease};
    if (db_query(c, &webhooks_worker_statements[WH_ST_CLAIM], p, false, &res) !=
        DB_OK) {
        log_msg(LOG_WARN, "webhook claim failed", "error", db_last_error(c),
                LOG_END);
        return 0;
    }
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        if (atomic_load(&webhooks__w.stop)) {
            /* Stopping: what was claimed but not started is due again
             * now, for the next start or another instance. */
            const char *rp[1] = {PQgetvalue(res, i, 0)};
            webhooks__exec(c, WH_ST_RELEASE, rp);
            continue;
        }
        webhooks__attempt(c, res, i);
    }
    PQclear(res);
    return n;
}

static void webhooks__gauges(struct db_conn *c)
{
    PGresult *res = NULL;
    if (db_query(c, &webhooks_worker_statements[WH_ST_GAUGES], NULL, true,
                 &res) == DB_OK &&
        PQntuples(res) == 1)
        metrics_webhook_queue(atoll(PQgetvalue(res, 0, 0)),
                              atof(PQgetvalue(res, 0, 1)));
    PQclear(res);
}

static void webhooks__prune(struct db_conn *c)
{
    char days[16];
    snprintf(days, sizeof(days), "%u", webhooks__w.cfg->webhook_retention_days);
    const char *p[1] = {days};
    webhooks__exec(c, WH_ST_PRUNE, p);
}

static void *webhooks__main(void *arg)
{
    long long last_gauge = 0, last_prune = 0;

    (void)arg;
    while (!atomic_load(&webhooks__w.stop)) {
        struct db_conn *c = NULL;
        if (db_acquire(&c) != DB_OK) {
            webhooks__wait(1000);
            continue;
        }
        webhooks__fanout(c);
        int claimed = webhooks__send_due(c);
        long long now = base_now_ms();
        if (now - last_gauge >= WEBHOOKS__GAUGE_MS) {
            webhooks__gauges(c);
            last_gauge = now;
        }
        if (last_prune == 0 || now - last_prune >= WEBHOOKS__PRUNE_MS) {
            webhooks__prune(c);
            last_prune = now;
        }
        if (claimed < WEBHOOKS__BATCH)
            webhooks__wait(webhooks__w.cfg->webhook_poll_ms);
    }
    return NULL;
}

int webhooks_worker_start(const struct config *cfg)
{
    if (!cfg->webhook_key_set) {
        log_msg(LOG_INFO, "webhooks off", "reason",
                "WEBHOOK_SECRET_KEY is not set", LOG_END);
        return 0;
    }
    webhooks__w.cfg = cfg;
    atomic_store(&webhooks__w.stop, false);
    if (pthread_create(&webhooks__w.thread, NULL, webhooks__main, NULL) != 0)
        return -1;
    /* Named, so top -H and the benchmark (scripts/bench.sh, which counts
     * the request threads' CPU without this one) can tell it apart. */
    pthread_setname_np(webhooks__w.thread, "mq-webhooks");
    webhooks__w.running = true;
    return 0;
}

void webhooks_worker_stop(void)
{
    if (!webhooks__w.running)
        return;
    pthread_mutex_lock(&webhooks__w.lock);
    atomic_store(&webhooks__w.stop, true);
    pthread_cond_signal(&webhooks__w.wake);
    pthread_mutex_unlock(&webhooks__w.lock);
    pthread_join(webhooks__w.thread, NULL);
    webhooks__w.running = false;
}
