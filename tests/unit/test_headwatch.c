/* Unit tests for the request deadlines' decisions (http/headwatch.c):
 * when bytes of a head began to arrive, and when a head or a body is
 * overdue. Time is
 * passed in, so nothing here sleeps or opens a socket. */
/* cmocka needs these before it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>

#include "../../internal/http/http_internal.h"

#define T0 1000000LL

/* A connection that receives nothing is CONNECTION_TIMEOUT's business. */
static void test_idle_connection_is_never_overdue(void **state)
{
    (void)state;
    struct http__head_clock c = {0};

    for (long long t = T0; t < T0 + 60000; t += 500)
        assert_int_equal(
            http__head_overdue(&c, T0, t, t - T0 + 5000, false, 2000), 0);
    assert_int_equal(c.first_ms, 0);
}

static void test_trickled_head_is_overdue_after_timeout(void **state)
{
    (void)state;
    struct http__head_clock c = {0};

    /* Waiting since T0; bytes arrive from T0 + 3000 on, every 500 ms. */
    assert_int_equal(http__head_overdue(&c, T0, T0 + 2500, 2500, false, 2000),
                     0);
    assert_int_equal(http__head_overdue(&c, T0, T0 + 3100, 100, false, 2000),
                     0);
    assert_int_equal(c.first_ms, T0 + 3000);
    /* Known now: the kernel is not asked again (-1). */
    assert_int_equal(http__head_overdue(&c, T0, T0 + 4900, -1, false, 2000), 0);
    assert_int_equal(http__head_overdue(&c, T0, T0 + 5000, -1, false, 2000), 1);
}

/* Data within the margin after the wait began may be the previous
 * request's last segment. */
static void test_data_just_after_wait_is_not_a_head(void **state)
{
    (void)state;
    struct http__head_clock c = {0};

    assert_int_equal(http__head_overdue(&c, T0, T0 + 10, 0, false, 2000), 0);
    assert_int_equal(c.first_ms, 0);
    assert_int_equal(http__head_overdue(&c, T0, T0 + 3000, 2990, false, 2000),
                     0);
    assert_int_equal(c.first_ms, 0);
}

/* A request that came in (since 0) and a new wait reset the clock. */
static void test_new_wait_resets_the_clock(void **state)
{
    (void)state;
    struct http__head_clock c = {0};

    assert_int_equal(http__head_overdue(&c, T0, T0 + 1000, 0, false, 2000), 0);
    assert_int_equal(c.first_ms, T0 + 1000);
    assert_int_equal(http__head_overdue(&c, 0, T0 + 1500, -1, false, 2000), 0);
    assert_int_equal(c.first_ms, 0);
    assert_int_equal(
        http__head_overdue(&c, T0 + 1600, T0 + 4000, -1, false, 2000), 0);
    assert_int_equal(
        http__head_overdue(&c, T0 + 1600, T0 + 9000, 7400, false, 2000), 0);
    assert_int_equal(c.since_ms, T0 + 1600);
    /* Without passing through 0: the sweeper missed the request. */
    assert_int_equal(
        http__head_overdue(&c, T0 + 1600, T0 + 9500, 0, false, 2000), 0);
    assert_int_equal(
        http__head_overdue(&c, T0 + 9600, T0 + 20000, -1, false, 2000), 0);
    assert_int_equal(c.first_ms, 0);
}

/* A new connection that has received any byte began its head when it
 * opened, even if those bytes came before it was accepted. */
static void test_first_head_counts_from_the_start(void **state)
{
    (void)state;
    struct http__head_clock c = {0};

    assert_int_equal(http__head_overdue(&c, T0, T0 + 1000, 1000, true, 2000),
                     0);
    assert_int_equal(c.first_ms, T0);
    assert_int_equal(http__head_overdue(&c, T0, T0 + 2000, -1, false, 2000), 1);
}

/* The kernel cannot tell (not TCP): never cut. */
static void test_unknown_quiet_time_never_cuts(void **state)
{
    (void)state;
    struct http__head_clock c = {0};

    assert_int_equal(http__head_overdue(&c, T0, T0 + 60000, -1, false, 2000),
                     0);
}

/* A body is timed from the end of its head; none arriving (0), never. */
static void test_body_is_overdue_after_timeout(void **state)
{
    (void)state;

    assert_int_equal(http__body_overdue(0, T0 + 60000, 3000), 0);
    assert_int_equal(http__body_overdue(T0, T0, 3000), 0);
    assert_int_equal(http__body_overdue(T0, T0 + 2999, 3000), 0);
    assert_int_equal(http__body_overdue(T0, T0 + 3000, 3000), 1);
    assert_int_equal(http__body_overdue(T0, T0 + 60000, 3000), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_connection_is_never_overdue),
        cmocka_unit_test(test_trickled_head_is_overdue_after_timeout),
        cmocka_unit_test(test_data_just_after_wait_is_not_a_head),
        cmocka_unit_test(test_new_wait_resets_the_clock),
        cmocka_unit_test(test_first_head_counts_from_the_start),
        cmocka_unit_test(test_unknown_quiet_time_never_cuts),
        cmocka_unit_test(test_body_is_overdue_after_timeout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
