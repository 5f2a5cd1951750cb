/* base/periodic — see medqa/periodic.h. */
#include "medqa/periodic.h"

#include <errno.h>
#include <time.h>

static void *periodic__main(void *arg)
{
    struct periodic *p = arg;

    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        pthread_mutex_unlock(&p->lock);
        bool again = p->fn(p->arg);
        pthread_mutex_lock(&p->lock);
        if (again)
            continue;

        /* CLOCK_REALTIME: the condition variable's default clock. */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += (time_t)(p->interval_ms / 1000);
        until.tv_nsec += (long)(p->interval_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        int rc = 0;
        while (!p->stop && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&p->wake, &p->lock, &until);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int periodic_start(struct periodic *p, unsigned interval_ms, periodic_fn fn,
                   void *arg)
{
    p->interval_ms = interval_ms;
    p->fn = fn;
    p->arg = arg;
    p->stop = false;
    if (pthread_create(&p->thread, NULL, periodic__main, p) != 0)
        return -1;
    p->running = true;
    return 0;
}

void periodic_stop(struct periodic *p)
{
    if (!p->running)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    p->running = false;
}

bool periodic_stopping(struct periodic *p)
{
    pthread_mutex_lock(&p->lock);
    bool stop = p->stop;
    pthread_mutex_unlock(&p->lock);
    return stop;
}
