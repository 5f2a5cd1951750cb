/* Unit tests for the periodic worker loop (base/periodic.c) shared by the
 * IDF refresh, the contact expiry sweep and the Similar Q&A refresh: a
 * job that has more work runs again at once, one that has none sleeps the
 * interval, and stop interrupts that sleep and waits for the thread. */
/* cmocka needs these before it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "medqa/base.h"
#include "medqa/periodic.h"

struct job {
    atomic_int calls;
    int busy; /* passes that report more work */
};

static bool job_pass(void *arg)
{
    struct job *j = arg;
    int n = atomic_fetch_add(&j->calls, 1) + 1;
    return n <= j->busy;
}

static void wait_calls(struct job *j, int n)
{
    int64_t end = base_now_ms() + 10000;
    struct timespec ms = {0, 1000000};

    while (atomic_load(&j->calls) < n && base_now_ms() < end)
        nanosleep(&ms, NULL);
}

/* Work left: the next pass at once, not after the (one-hour) interval. */
static void test_more_work_runs_again_at_once(void **state)
{
    (void)state;
    static struct periodic p = PERIODIC_INIT;
    struct job j = {.busy = 5};

    assert_int_equal(periodic_start(&p, 3600 * 1000u, job_pass, &j), 0);
    wait_calls(&j, 6);
    int64_t t0 = base_now_ms();
    periodic_stop(&p);
    /* Six passes: five with work, the sixth found none and slept, which
     * stop cut short. */
    assert_int_equal(atomic_load(&j.calls), 6);
    assert_true(base_now_ms() - t0 < 5000);
}

/* No work: one pass per interval. */
static void test_idle_sleeps_the_interval(void **state)
{
    (void)state;
    static struct periodic p = PERIODIC_INIT;
    struct job j = {.busy = 0};

    int64_t t0 = base_now_ms();
    assert_int_equal(periodic_start(&p, 200, job_pass, &j), 0);
    wait_calls(&j, 3);
    int64_t took = base_now_ms() - t0;
    periodic_stop(&p);
    /* Passes at 0, 200 and 400 ms at the earliest. */
    assert_true(took >= 390);
    assert_false(p.running);
}

/* Stop before start, and twice, is harmless. */
static void test_stop_without_start(void **state)
{
    (void)state;
    static struct periodic p = PERIODIC_INIT;

    periodic_stop(&p);
    periodic_stop(&p);
    assert_false(p.running);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_more_work_runs_again_at_once),
        cmocka_unit_test(test_idle_sleeps_the_interval),
        cmocka_unit_test(test_stop_without_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
