/* metrics — per-operation request counts by status class and latency
 * sums, plus requests in flight. Operators scrape GET /metrics. The
 * figures are this instance's own, like any Prometheus target's. */
#include "medqa/metrics.h"

#include "medqa/spec.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Status classes 1xx..5xx; index 0 counts requests that ended
 * unanswered (status 0). */
#define METRICS_CLASSES 6

struct metrics__op {
    atomic_ullong count[METRICS_CLASSES];
    atomic_ullong micros;
};

static struct metrics__op *metrics__ops; /* nops + 1: the last is "none" */
static size_t metrics__nops;
static atomic_int metrics__in_flight;
/* webhooks */
static atomic_ullong metrics__wh_attempts[METRICS_WH__COUNT];
static atomic_llong metrics__wh_depth;
static _Atomic double metrics__wh_oldest_s;
static atomic_ullong metrics__key_touches;

int metrics_init(const struct spec *s)
{
    metrics__ops = calloc(s->nops + 1, sizeof(*metrics__ops));
    if (metrics__ops == NULL)
        return -1;
    metrics__nops = s->nops;
    return 0;
}

void metrics_free(void)
{
    free(metrics__ops);
    metrics__ops = NULL;
    metrics__nops = 0;
}

void metrics_observe(long op, unsigned status, long long micros)
{
    if (metrics__ops == NULL)
        return;
    size_t i =
        (op >= 0 && (size_t)op < metrics__nops) ? (size_t)op : metrics__nops;
    unsigned c = status / 100;
    if (c >= METRICS_CLASSES)
        c = 5;
    atomic_fetch_add_explicit(&metrics__ops[i].count[c], 1,
                              memory_order_relaxed);
    /* Time spent answering: a request the client left, or that
     * BODY_TIMEOUT cut, was not being answered for most of its time, and
     * would make the mean of the answered ones look seconds slower. */
    if (micros > 0 && c != 0)
        atomic_fetch_add_explicit(&metrics__ops[i].micros,
                                  (unsigned long long)micros,
                                  memory_order_relaxed);
}

void metrics_in_flight(int delta)
{
    atomic_fetch_add_explicit(&metrics__in_flight, delta, memory_order_relaxed);
}

void metrics_webhook_attempt(enum metrics_webhook_outcome o)
{
    if ((unsigned)o < METRICS_WH__COUNT)
        atomic_fetch_add_explicit(&metrics__wh_attempts[o], 1,
                                  memory_order_relaxed);
}

void metrics_webhook_queue(long long depth, double oldest_seconds)
{
    atomic_store(&metrics__wh_depth, depth);
    atomic_store(&metrics__wh_oldest_s, oldest_seconds);
}

static void metrics__render_webhooks(FILE *f)
{
    static const char *const names[METRICS_WH__COUNT] = {
        "succeeded", "retrying", "failed", "gone", "interrupted"};

    fputs("# HELP medqa_webhook_deliveries_total Webhook delivery attempts "
          "made by this instance, by outcome.\n"
          "# TYPE medqa_webhook_deliveries_total counter\n",
          f);
    for (unsigned i = 0; i < METRICS_WH__COUNT; i++)
        fprintf(f, "medqa_webhook_deliveries_total{outcome=\"%s\"} %llu\n",
                names[i], atomic_load(&metrics__wh_attempts[i]));
    fprintf(f,
            "# HELP medqa_webhook_queue_depth Pending webhook deliveries "
            "of enabled endpoints.\n"
            "# TYPE medqa_webhook_queue_depth gauge\n"
            "medqa_webhook_queue_depth %lld\n"
            "# HELP medqa_webhook_oldest_pending_seconds Age of the oldest "
            "pending webhook delivery.\n"
            "# TYPE medqa_webhook_oldest_pending_seconds gauge\n"
            "medqa_webhook_oldest_pending_seconds %.3f\n",
            atomic_load(&metrics__wh_depth),
            atomic_load(&metrics__wh_oldest_s));
}

void metrics_key_touched(void)
{
    atomic_fetch_add_explicit(&metrics__key_touches, 1, memory_order_relaxed);
}

int metrics_render(const struct spec *s, char **out, size_t *len)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);

    if (f == NULL || metrics__ops == NULL) {
        if (f != NULL)
            fclose(f);
        free(buf);
        return -1;
    }
    fputs("# HELP medqa_http_requests_total Requests answered, by operation "
          "and status class.\n"
          "# TYPE medqa_http_requests_total counter\n",
          f);
    for (size_t i = 0; i <= metrics__nops; i++) {
        const char *name = i < metrics__nops ? s->ops[i].operation_id : "none";
        for (unsigned c = 1; c < METRICS_CLASSES; c++) {
            unsigned long long n = atomic_load(&metrics__ops[i].count[c]);
            if (n > 0)
                fprintf(f,
                        "medqa_http_requests_total{operation=\"%s\","
                        "code=\"%uxx\"} %llu\n",
                        name, c, n);
        }
    }
    unsigned long long unanswered = 0;
    for (size_t i = 0; i <= metrics__nops; i++)
        unanswered += atomic_load(&metrics__ops[i].count[0]);
    fprintf(f,
            "# HELP medqa_http_requests_unanswered_total Requests whose "
            "connection ended before an answer: the client went away, or "
            "BODY_TIMEOUT cut its body.\n"
            "# TYPE medqa_http_requests_unanswered_total counter\n"
            "medqa_http_requests_unanswered_total %llu\n",
            unanswered);
    fputs("# HELP medqa_http_request_duration_seconds_sum Time spent "
          "answering, by operation.\n"
          "# TYPE medqa_http_request_duration_seconds_sum counter\n",
          f);
    for (size_t i = 0; i <= metrics__nops; i++) {
        unsigned long long us = atomic_load(&metrics__ops[i].micros);
        if (us > 0)
            fprintf(f,
                    "medqa_http_request_duration_seconds_sum{operation="
                    "\"%s\"} %.6f\n",
                    i < metrics__nops ? s->ops[i].operation_id : "none",
                    (double)us / 1e6);
    }
    fprintf(f,
            "# HELP medqa_http_requests_in_flight Requests being "
            "answered now.\n"
            "# TYPE medqa_http_requests_in_flight gauge\n"
            "medqa_http_requests_in_flight %d\n",
            atomic_load(&metrics__in_flight));
    metrics__render_webhooks(f);
    fprintf(f,
            "# HELP medqa_api_key_last_used_writes_total Writes of an API "
            "key's last_used_at (at most one a minute per key).\n"
            "# TYPE medqa_api_key_last_used_writes_total counter\n"
            "medqa_api_key_last_used_writes_total %llu\n",
            atomic_load(&metrics__key_touches));
    if (fclose(f) != 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = size;
    return 0;
}
