/* periodic — a background thread that runs one job every so often.
 *
 * The IDF refresh (internal/related/worker.c), the contact expiry sweep
 * (internal/contacts/contacts.c) and the stored Similar Q&A refresh (also
 * internal/related/worker.c) each run a job on a thread of their own,
 * sleep an interval and stop promptly on shutdown; this is that loop,
 * once. The
 * struct is the caller's (static storage), initialised with
 * PERIODIC_INIT. */
#ifndef MEDQA_PERIODIC_H
#define MEDQA_PERIODIC_H

#include <pthread.h>
#include <stdbool.h>

/* One pass of the job. Returns true to run again at once (there is more
 * work), false to sleep the interval first. */
typedef bool (*periodic_fn)(void *arg);

struct periodic {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool running;
    bool stop;
    unsigned interval_ms;
    periodic_fn fn;
    void *arg;
};

#define PERIODIC_INIT                                                          \
    {                                                                          \
        .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER    \
    }

/* Starts p's thread: fn(arg) at once, then again after every interval_ms
 * (at once when it returned true). Returns 0, or -1 if the thread could
 * not start. */
int periodic_start(struct periodic *p, unsigned interval_ms, periodic_fn fn,
                   void *arg);

/* Stops p's thread and waits for it: a pass in progress finishes first.
 * Safe when it was never started. */
void periodic_stop(struct periodic *p);

/* Whether p was asked to stop: a long pass may check it between steps. */
bool periodic_stopping(struct periodic *p);

#endif
