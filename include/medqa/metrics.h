/* metrics — request counters of this instance, for GET /metrics
 * (Prometheus text format). Counters are process-wide atomics: every
 * worker thread adds to them without a lock. */
#ifndef MEDQA_METRICS_H
#define MEDQA_METRICS_H

#include <stddef.h>

struct spec;

/* Sizes the counters for the spec's operations. Call once before serving.
 * Returns 0 or -1 (out of memory). */
int metrics_init(const struct spec *s);

void metrics_free(void);

/* Counts one finished request: `op` is the operation's index in the spec
 * (-1 when no operation matched), `status` its HTTP status. */
void metrics_observe(long op, unsigned status, long long micros);

/* Adds to / takes from the gauge of requests in flight. */
void metrics_in_flight(int delta);

/* webhooks: the outcome of each delivery attempt this instance made, and
 * the queue as its delivery worker last saw it (the whole database's
 * due-or-waiting deliveries of enabled endpoints, and the age of the
 * oldest). */
enum metrics_webhook_outcome {
    METRICS_WH_SUCCEEDED,   /* 2xx */
    METRICS_WH_RETRYING,    /* failed, another attempt is scheduled */
    METRICS_WH_FAILED,      /* failed, and it was the last attempt */
    METRICS_WH_GONE,        /* 410: the endpoint is disabled */
    METRICS_WH_INTERRUPTED, /* cut by shutdown, due again at once */
    METRICS_WH__COUNT
};
void metrics_webhook_attempt(enum metrics_webhook_outcome o);
void metrics_webhook_queue(long long depth, double oldest_seconds);
/* Counts one write of an API key's last_used_at (auth/keys.c). */
void metrics_key_touched(void);

/* Writes the Prometheus text exposition into a new buffer the caller
 * frees. Returns 0 or -1. */
int metrics_render(const struct spec *s, char **out, size_t *len);

#endif
