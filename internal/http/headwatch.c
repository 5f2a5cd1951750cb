/* http/headwatch — closes connections that trickle a request head, or
 * its body.
 *
 * libmicrohttpd 0.9.75 restarts MHD_OPTION_CONNECTION_TIMEOUT on every
 * byte it receives, so a client sending one header byte every few seconds
 * (slowloris), or one body byte (a slow POST: a head announcing a large
 * body, then a trickle), holds its connection slot for as long as it
 * likes. Here each connection is registered when libmicrohttpd opens it,
 * marked when the access handler first sees a request (its head is
 * complete, its body begins), when the handler's last call comes (the body
 * is complete) and when the response is done (it waits for the next head);
 * a sweeper thread shuts down the socket of a connection whose head
 * started arriving more than HEADER_TIMEOUT seconds ago and is still not
 * complete, or whose body has been arriving for BODY_TIMEOUT seconds.
 * (libmicrohttpd 0.9.75 cannot answer in the middle of an upload, so
 * neither gets a response; no handler has run for either.)
 *
 * When did a head start arriving? libmicrohttpd does not say, and the
 * kernel has handed it the bytes already, so the sweeper asks the kernel
 * when the socket last received data (TCP_INFO's tcpi_last_data_recv). A
 * connection that receives nothing at all, a new one or an idle keep-alive
 * one between requests, is left to CONNECTION_TIMEOUT.
 *
 * The file descriptor is only touched under the registry's mutex, and an
 * entry leaves the registry in libmicrohttpd's MHD_CONNECTION_NOTIFY_CLOSED
 * callback, which it calls before it closes the socket: the sweeper can
 * never shut down a descriptor that has been closed and reused. */
#include "http_internal.h"

#include "medqa/base.h"
#include "medqa/log.h"

#include <netinet/in.h>
#include <linux/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

/* Data that reached the socket within this many milliseconds after the
 * connection began to wait is not told apart from the request before it:
 * tcpi_last_data_recv counts in jiffies (up to 10 ms each). A client that
 * goes on trickling is caught by its next byte, so the deadline can come
 * one of its pauses late, and a pause longer than CONNECTION_TIMEOUT ends
 * the connection anyway. A new connection has no request before its
 * first head: any byte it has received at all (tcpi_bytes_received, even
 * before libmicrohttpd accepted it) starts the deadline from its start. */
#define HEADWATCH_MARGIN_MS 20

struct http__watched {
    struct http__watched *prev, *next;
    int fd;
    /* Until the access handler first sees a request: the connection
     * waits for its first head. (Not since == the time it opened: a
     * first request can be answered within that millisecond.) */
    atomic_bool first_head;
    /* Written by the connection's worker thread: the monotonic time in ms
     * at which the connection began to wait for a request head, or 0 while
     * a request is in (its head complete). */
    atomic_llong waiting_since_ms;
    /* Likewise: when the current request's head was complete, while its
     * body is being received; 0 otherwise. */
    atomic_llong body_since_ms;
    /* The sweeper's own, under the mutex. */
    struct http__head_clock clock;
    bool cut;
};

struct http__headwatch {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    struct http__watched *head;
    long long head_timeout_ms; /* 0: heads are not watched */
    long long body_timeout_ms; /* 0: bodies are not watched */
    long long period_ms;
    bool stopping;
};

struct headwatch__probe {
    long long quiet_ms; /* since the socket last received data; -1 unknown */
    long long bytes_in; /* received on the socket in all; -1 unknown */
};
int http__head_overdue(struct http__head_clock *c, long long since_ms,
                       long long now_ms, long long quiet_ms, bool first_head,
                       long long timeout_ms)
{
    if (since_ms == 0) {
        c->since_ms = 0;
        c->first_ms = 0;
        return 0;
    }
    if (c->since_ms != since_ms) {
        c->since_ms = since_ms;
        c->first_ms = 0;
    }
    if (c->first_ms == 0 && first_head)
        c->first_ms = since_ms;
    if (c->first_ms == 0) {
        if (quiet_ms < 0 || now_ms - since_ms <= quiet_ms + HEADWATCH_MARGIN_MS)
            return 0;
        /* The last byte, not the first: the sweeper looks once a period,
         * so this is at most a period late. */
        c->first_ms = now_ms - quiet_ms;
    }
    return now_ms - c->first_ms >= timeout_ms;
}

int http__body_overdue(long long body_since_ms, long long now_ms,
                       long long timeout_ms)
{
    return body_since_ms != 0 && now_ms - body_since_ms >= timeout_ms;
}

/* What the kernel knows of `fd`'s received data; -1s when it cannot tell
 * (not TCP, or too old a kernel for tcpi_bytes_received). */
static struct headwatch__probe headwatch__probe(int fd)
{
    struct headwatch__probe p = {-1, -1};
    struct tcp_info ti;
    socklen_t len = sizeof(ti);

    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
        return p;
    if (len >= offsetof(struct tcp_info, tcpi_last_data_recv) +
                   sizeof(ti.tcpi_last_data_recv))
        p.quiet_ms = (long long)ti.tcpi_last_data_recv;
    if (len >= offsetof(struct tcp_info, tcpi_bytes_received) +
                   sizeof(ti.tcpi_bytes_received))
        p.bytes_in = (long long)ti.tcpi_bytes_received;
    return p;
}

struct headwatch__cuts {
    unsigned heads, bodies;
};

/* libmicrohttpd sees the end of the stream and closes the connection
 * itself, calling back http__headwatch_remove(). */
static void headwatch__cut(struct http__watched *w)
{
    shutdown(w->fd, SHUT_RDWR);
    w->cut = true;
}

/* One pass over the registry, under the lock. Returns how many
 * connections it cut, and why. */
static struct headwatch__cuts headwatch__sweep(struct http__headwatch *hw)
{
    long long now = base_now_ms();
    struct headwatch__cuts cuts = {0, 0};

    for (struct http__watched *w = hw->head; w != NULL; w = w->next) {
        long long since = atomic_load(&w->waiting_since_ms);
        struct headwatch__probe p = {-1, -1};

        if (w->cut)
            continue;
        if (hw->body_timeout_ms > 0 &&
            http__body_overdue(atomic_load(&w->body_since_ms), now,
                               hw->body_timeout_ms)) {
            headwatch__cut(w);
            cuts.bodies++;
            continue;
        }
        if (hw->head_timeout_ms == 0)
            continue;
        /* Once the head's first byte is known the kernel need not be
         * asked again until the connection waits for another head. */
        if (since != 0 &&
            (w->clock.since_ms != since || w->clock.first_ms == 0))
            p = headwatch__probe(w->fd);
        bool first = atomic_load(&w->first_head) && p.bytes_in > 0;
        if (!http__head_overdue(&w->clock, since, now, p.quiet_ms, first,
                                hw->head_timeout_ms))
            continue;
        headwatch__cut(w);
        cuts.heads++;
    }
    return cuts;
}

static void headwatch__log(const char *msg, unsigned n)
{
    char count[16];

    if (n == 0)
        return;
    snprintf(count, sizeof(count), "%u", n);
    log_msg(LOG_INFO, msg, "connections", count, LOG_END);
}

static void *headwatch__main(void *arg)
{
    struct http__headwatch *hw = arg;

    pthread_mutex_lock(&hw->lock);
    while (!hw->stopping) {
        struct headwatch__cuts cuts = headwatch__sweep(hw);
        if (cuts.heads + cuts.bodies > 0) {
            pthread_mutex_unlock(&hw->lock);
            headwatch__log("request head too slow; connection closed",
                           cuts.heads);
            headwatch__log("request body too slow; connection closed",
                           cuts.bodies);
            pthread_mutex_lock(&hw->lock);
        }
        long long until = base_now_ms() + hw->period_ms;
        struct timespec ts = {.tv_sec = until / 1000,
                              .tv_nsec = (until % 1000) * 1000000};
        /* 0 is a signal or a spurious wake-up: wait on to the same
         * time unless stopping. */
        while (!hw->stopping &&
               pthread_cond_timedwait(&hw->wake, &hw->lock, &ts) == 0)
            ;
    }
    pthread_mutex_unlock(&hw->lock);
    return NULL;
}

int http__headwatch_start(unsigned head_timeout_s, unsigned body_timeout_s,
                          struct http__headwatch **out)
{
    struct http__headwatch *hw = calloc(1, sizeof(*hw));
    pthread_condattr_t attr;

    *out = NULL;
    if (hw == NULL)
        return -1;
    hw->head_timeout_ms = (long long)head_timeout_s * 1000;
    hw->body_timeout_ms = (long long)body_timeout_s * 1000;
    /* The cut comes at most a period after the deadline. */
    long long shortest = hw->head_timeout_ms;
    if (shortest == 0 ||
        (hw->body_timeout_ms > 0 && hw->body_timeout_ms < shortest))
        shortest = hw->body_timeout_ms;
    hw->period_ms = shortest / 4;
    if (hw->period_ms < 100)
        hw->period_ms = 100;
    if (hw->period_ms > 1000)
        hw->period_ms = 1000;
    if (pthread_condattr_init(&attr) != 0)
        goto fail_free;
    if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&hw->wake, &attr) != 0)
        goto fail_attr;
    if (pthread_mutex_init(&hw->lock, NULL) != 0)
        goto fail_cond;
    if (pthread_create(&hw->thread, NULL, headwatch__main, hw) != 0)
        goto fail_mutex;
    pthread_condattr_destroy(&attr);
    *out = hw;
    return 0;

fail_mutex:
    pthread_mutex_destroy(&hw->lock);
fail_cond:
    pthread_cond_destroy(&hw->wake);
fail_attr:
    pthread_condattr_destroy(&attr);
fail_free:
    free(hw);
    return -1;
}

void http__headwatch_stop(struct http__headwatch *hw)
{
    if (hw == NULL)
        return;
    pthread_mutex_lock(&hw->lock);
    hw->stopping = true;
    pthread_cond_signal(&hw->wake);
    pthread_mutex_unlock(&hw->lock);
    pthread_join(hw->thread, NULL);
    /* MHD_stop_daemon has closed every connection, each through
     * http__headwatch_remove(); anything left would be a bug in that
     * pairing, but is not leaked for it. */
    while (hw->head != NULL) {
        struct http__watched *w = hw->head;
        hw->head = w->next;
        free(w);
    }
    pthread_mutex_destroy(&hw->lock);
    pthread_cond_destroy(&hw->wake);
    free(hw);
}

struct http__watched *http__headwatch_add(struct http__headwatch *hw, int fd)
{
    struct http__watched *w = calloc(1, sizeof(*w));

    if (w == NULL)
        return NULL;
    w->fd = fd;
    atomic_init(&w->waiting_since_ms, 0);
    atomic_init(&w->body_since_ms, 0);
    http__headwatch_wait(w, base_now_ms());
    atomic_init(&w->first_head, true);
    pthread_mutex_lock(&hw->lock);
    w->next = hw->head;
    if (hw->head != NULL)
        hw->head->prev = w;
    hw->head = w;
    pthread_mutex_unlock(&hw->lock);
    return w;
}

void http__headwatch_remove(struct http__headwatch *hw, struct http__watched *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&hw->lock);
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        hw->head = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    pthread_mutex_unlock(&hw->lock);
    free(w);
}

void http__headwatch_head_in(struct http__watched *w, long long now_ms)
{
    if (w == NULL)
        return;
    atomic_store(&w->first_head, false);
    atomic_store(&w->waiting_since_ms, 0);
    atomic_store(&w->body_since_ms, now_ms > 0 ? now_ms : 1);
}

void http__headwatch_body_in(struct http__watched *w)
{
    if (w != NULL)
        atomic_store(&w->body_since_ms, 0);
}

void http__headwatch_wait(struct http__watched *w, long long now_ms)
{
    if (w == NULL)
        return;
    atomic_store(&w->body_since_ms, 0);
    atomic_store(&w->waiting_since_ms, now_ms > 0 ? now_ms : 1);
}
