/* related/worker — see medqa/related.h. */
#include "medqa/related.h"

#include "medqa/db.h"
#include "medqa/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

static const struct db_statement related__statements[] = {
    {"related_refresh_df", "SELECT mq_refresh_df_if_stale($1::int)", 1},
};

static struct {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool running;
    bool stop;
    unsigned interval_s;
} related__w = {.lock = PTHREAD_MUTEX_INITIALIZER,
                .wake = PTHREAD_COND_INITIALIZER};

int related_register_statements(void)
{
    return db_register(related__statements, sizeof(related__statements) /
                                                sizeof(related__statements[0]));
}

/* One check. Errors are logged and the next interval tries again: the
 * statistics only tune ranking, so a missed refresh is never fatal. */
static void related__refresh(void)
{
    struct db_conn *c = NULL;
    PGresult *res = NULL;
    char age[16];
    const char *params[1] = {age};

    snprintf(age, sizeof(age), "%u", related__w.interval_s);
    if (db_acquire(&c) != DB_OK) {
        log_msg(LOG_WARN, "idf refresh skipped", "reason",
                "database unavailable", LOG_END);
        return;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (db_query(c, &related__statements[0], params, true, &res) != DB_OK) {
        log_msg(LOG_WARN, "idf refresh failed", "error", db_last_error(c),
                LOG_END);
        return;
    }
    if (PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't') {
        char ms[24];
        clock_gettime(CLOCK_MONOTONIC, &t1);
        snprintf(ms, sizeof(ms), "%ld",
                 (long)((t1.tv_sec - t0.tv_sec) * 1000 +
                        (t1.tv_nsec - t0.tv_nsec) / 1000000));
        log_msg(LOG_INFO, "idf refreshed", "ms", ms, LOG_END);
    }
    PQclear(res);
}

static void *related__main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&related__w.lock);
    while (!related__w.stop) {
        pthread_mutex_unlock(&related__w.lock);
        related__refresh();
        pthread_mutex_lock(&related__w.lock);

        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += (time_t)related__w.interval_s;
        int rc = 0;
        while (!related__w.stop && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&related__w.wake, &related__w.lock,
                                        &until);
    }
    pthread_mutex_unlock(&related__w.lock);
    return NULL;
}

int related_worker_start(unsigned interval_s)
{
    if (interval_s == 0)
        return 0;
    related__w.interval_s = interval_s;
    related__w.stop = false;
    if (pthread_create(&related__w.thread, NULL, related__main, NULL) != 0)
        return -1;
    related__w.running = true;
    return 0;
}

void related_worker_stop(void)
{
    if (!related__w.running)
        return;
    pthread_mutex_lock(&related__w.lock);
    related__w.stop = true;
    pthread_cond_signal(&related__w.wake);
    pthread_mutex_unlock(&related__w.lock);
    pthread_join(related__w.thread, NULL);
    related__w.running = false;
}
