/* related/worker — see medqa/related.h. */
#include "medqa/related.h"

#include "medqa/base.h"
#include "medqa/db.h"
#include "medqa/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

const struct db_statement related_worker_statements[] = {
    {"related_refresh_df", "SELECT mq_refresh_df_if_stale($1::int)", 1},
};
const size_t related_worker_nstatements = ARRAY_SIZE(related_worker_statements);

static struct {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool running;
    bool stop;
    unsigned interval_s;
} related__w = {.lock = PTHREAD_MUTEX_INITIALIZER,
                .wake = PTHREAD_COND_INITIALIZER};

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
    int64_t t0 = base_now_ms();
    if (db_query(c, &related_worker_statements[0], params, true, &res) !=
        DB_OK) {
        log_msg(LOG_WARN, "idf refresh failed", "error", db_last_error(c),
                LOG_END);
        return;
    }
    if (PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't') {
        char ms[24];
        snprintf(ms, sizeof(ms), "%lld", (long long)(base_now_ms() - t0));
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
