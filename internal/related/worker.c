/* related/worker — see medqa/related.h. */
#include "medqa/related.h"

#include "medqa/base.h"
#include "medqa/db.h"
#include "medqa/log.h"
#include "medqa/periodic.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

const struct db_statement related_worker_statements[] = {
    {"related_refresh_df", "SELECT mq_refresh_df_if_stale($1::int)", 1},
    /* The stored Similar Q&A (sql/related_store.sql). */
    {"related_store_configure", "SELECT mq_related_configure($1::int)", 1},
    {"related_store_claim",
     "SELECT question_id::text, mark::text FROM mq_related_claim($1::int, "
     "$2::int)",
     2},
    {"related_store_refresh", "SELECT mq_related_refresh($1::uuid, $2::bigint)",
     2},
    {"related_store_backfill",
     "SELECT mq_related_backfill($1::uuid, $2::int)::text", 2},
};
enum {
    RELATED_DF,
    RELATED_CONFIGURE,
    RELATED_CLAIM,
    RELATED_REFRESH,
    RELATED_BACKFILL
};
const size_t related_worker_nstatements = ARRAY_SIZE(related_worker_statements);

static struct periodic related__w = PERIODIC_INIT;
static unsigned related__interval_s;

/* One check. Errors are logged and the next interval tries again: the
 * statistics only tune ranking, so a missed refresh is never fatal. */
static bool related__refresh(void *arg)
{
    struct db_conn *c = NULL;
    PGresult *res = NULL;
    char age[16];
    const char *params[1] = {age};

    (void)arg;
    snprintf(age, sizeof(age), "%u", related__interval_s);
    if (db_acquire(&c) != DB_OK) {
        log_msg(LOG_WARN, "idf refresh skipped", "reason",
                "database unavailable", LOG_END);
        return false;
    }
    int64_t t0 = base_now_ms();
    if (db_query(c, &related_worker_statements[RELATED_DF], params, true,
                 &res) != DB_OK) {
        log_msg(LOG_WARN, "idf refresh failed", "error", db_last_error(c),
                LOG_END);
        return false;
    }
    if (PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't') {
        char ms[24];
        snprintf(ms, sizeof(ms), "%lld", (long long)(base_now_ms() - t0));
        log_msg(LOG_INFO, "idf refreshed", "ms", ms, LOG_END);
    }
    PQclear(res);
    return false;
}

int related_worker_start(unsigned interval_s)
{
    if (interval_s == 0)
        return 0;
    related__interval_s = interval_s;
    return periodic_start(&related__w, interval_s * 1000u, related__refresh,
                          NULL);
}

void related_worker_stop(void)
{
    periodic_stop(&related__w);
}

/* The stored Similar Q&A's refresh worker. Each pass claims a few queued
 * questions (RELATED_STORE_BATCH) and recomputes them one statement (one
 * transaction) each, so that no lock is held longer than one question's
 * ranking; it goes again at once while there is work, and polls every
 * RELATED_STORE_POLL_MS when there is none, so a new question is
 * computed within about a second. With nothing queued it walks the table
 * for questions without a stored result (loaded without triggers, by
 * `seed --synthetic`), RELATED_BACKFILL ids a pass, and after a whole
 * walk waits RELATED_STORE_SWEEP_PAUSE_MS before the next. */
#define RELATED_STORE_BATCH "8"
#define RELATED_STORE_LEASE_S "60"
#define RELATED_STORE_POLL_MS 1000u
#define RELATED_STORE_SWEEP_PAUSE_MS (600 * 1000)

static struct periodic related__store = PERIODIC_INIT;
static struct {
    unsigned staleness_s;
    char backfill[16]; /* ids a walk's step looks at; "0": no walk */
    bool configured;
    char after[40];      /* the backfill walk's last id; "" at the start */
    int64_t sweep_at_ms; /* no walk before this (monotonic ms) */
} related__st;

/* Recomputes the claimed rows of `res`. Returns how many it stored. */
static int related__store_refresh(struct db_conn *c, PGresult *claimed)
{
    int done = 0;

    for (int i = 0; i < PQntuples(claimed); i++) {
        const char *params[2] = {PQgetvalue(claimed, i, 0),
                                 PQgetvalue(claimed, i, 1)};
        PGresult *res = NULL;

        if (periodic_stopping(&related__store))
            break;
        /* Not retried on a broken connection (not idempotent by
         * db_query's rule); the lease hands it to the next claim. */
        if (db_query(c, &related_worker_statements[RELATED_REFRESH], params,
                     false, &res) != DB_OK) {
            log_msg(LOG_WARN, "related refresh failed", "question", params[0],
                    "error", db_last_error(c), LOG_END);
            continue;
        }
        done++;
        PQclear(res);
    }
    return done;
}

/* One step of the backfill walk. Returns true when the walk goes on. */
static bool related__store_backfill(struct db_conn *c)
{
    PGresult *res = NULL;
    const char *params[2] = {related__st.after[0] ? related__st.after : NULL,
                             related__st.backfill};

    if (strcmp(related__st.backfill, "0") == 0 ||
        base_now_ms() < related__st.sweep_at_ms)
        return false;
    if (db_query(c, &related_worker_statements[RELATED_BACKFILL], params, true,
                 &res) != DB_OK) {
        log_msg(LOG_WARN, "related backfill failed", "error", db_last_error(c),
                LOG_END);
        return false;
    }
    bool more = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0);
    if (more) {
        snprintf(related__st.after, sizeof(related__st.after), "%s",
                 PQgetvalue(res, 0, 0));
    } else {
        related__st.after[0] = '\0';
        related__st.sweep_at_ms = base_now_ms() + RELATED_STORE_SWEEP_PAUSE_MS;
    }
    PQclear(res);
    return more;
}

static bool related__store_pass(void *arg)
{
    struct db_conn *c = NULL;
    PGresult *res = NULL;
    bool again = false;

    (void)arg;
    if (db_acquire(&c) != DB_OK)
        return false;
    if (!related__st.configured) {
        char s[16];
        const char *params[1] = {s};
        snprintf(s, sizeof(s), "%u", related__st.staleness_s);
        if (db_query(c, &related_worker_statements[RELATED_CONFIGURE], params,
                     true, &res) != DB_OK) {
            log_msg(LOG_WARN, "related store not configured", "error",
                    db_last_error(c), LOG_END);
            return false;
        }
        PQclear(res);
        related__st.configured = true;
    }
    const char *params[2] = {RELATED_STORE_BATCH, RELATED_STORE_LEASE_S};
    if (db_query(c, &related_worker_statements[RELATED_CLAIM], params, false,
                 &res) != DB_OK) {
        log_msg(LOG_WARN, "related claim failed", "error", db_last_error(c),
                LOG_END);
        return false;
    }
    if (PQntuples(res) > 0) {
        related__store_refresh(c, res);
        again = true;
    } else {
        again = related__store_backfill(c);
    }
    PQclear(res);
    return again;
}

int related_store_worker_start(unsigned max_staleness_s, unsigned backfill)
{
    related__st.staleness_s = max_staleness_s;
    snprintf(related__st.backfill, sizeof(related__st.backfill), "%u",
             backfill);
    related__st.configured = false;
    related__st.after[0] = '\0';
    related__st.sweep_at_ms = 0;
    return periodic_start(&related__store, RELATED_STORE_POLL_MS,
                          related__store_pass, NULL);
}

void related_store_worker_stop(void)
{
    periodic_stop(&related__store);
}
