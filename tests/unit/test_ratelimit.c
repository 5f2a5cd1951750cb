/* Unit tests for ratelimit: the token bucket, refunds, bounded memory
 * under address spraying, rule parsing and client addresses behind
 * trusted proxies. Time is passed in, so nothing here sleeps. */
/* cmocka needs these before it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "medqa/base.h"
#include "medqa/ratelimit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define SEC 1000000LL

static void test_bucket_spends_then_refuses(void **state)
{
    (void)state;
    struct ratelimit *rl;
    struct ratelimit_rule rule = {5, 10};
    struct ratelimit_result res;

    assert_int_equal(ratelimit_new(1024, &rl), 0);
    for (unsigned i = 0; i < 5; i++) {
        ratelimit_take(rl, "k1", 2, &rule, 100 * SEC, true, &res);
        assert_true(res.allowed);
        assert_int_equal(res.limit, 5);
        assert_int_equal(res.remaining, 4 - i);
    }
    ratelimit_take(rl, "k1", 2, &rule, 100 * SEC, true, &res);
    assert_false(res.allowed);
    assert_int_equal(res.remaining, 0);
    /* One token every 2 s: 2 s to the next, 10 s until full. */
    assert_int_equal(res.retry_after_s, 2);
    assert_int_equal(res.reset_s, 10);
    /* Another key has its own bucket. */
    ratelimit_take(rl, "k2", 2, &rule, 100 * SEC, true, &res);
    assert_true(res.allowed);
    assert_int_equal(res.remaining, 4);
    ratelimit_free(rl);
}

static void test_bucket_refills_over_time(void **state)
{
    (void)state;
    struct ratelimit *rl;
    struct ratelimit_rule rule = {60, 60};
    struct ratelimit_result res;

    assert_int_equal(ratelimit_new(1024, &rl), 0);
    for (int i = 0; i < 60; i++)
        ratelimit_take(rl, "a", 1, &rule, 0, true, &res);
    ratelimit_take(rl, "a", 1, &rule, 0, true, &res);
    assert_false(res.allowed);
    assert_int_equal(res.retry_after_s, 1);
    ratelimit_take(rl, "a", 1, &rule, SEC / 2, true, &res);
    assert_false(res.allowed);
    ratelimit_take(rl, "a", 1, &rule, SEC, true, &res);
    assert_true(res.allowed);
    assert_int_equal(res.remaining, 0);
    /* Never above the limit, however long it rests. */
    ratelimit_take(rl, "a", 1, &rule, 3600 * SEC, false, &res);
    assert_true(res.allowed);
    assert_int_equal(res.remaining, 60);
    assert_int_equal(res.reset_s, 0);
    ratelimit_free(rl);
}

static void test_peek_does_not_spend(void **state)
{
    (void)state;
    struct ratelimit *rl;
    struct ratelimit_rule rule = {2, 60};
    struct ratelimit_result res;

    assert_int_equal(ratelimit_new(1024, &rl), 0);
    for (int i = 0; i < 10; i++)
        ratelimit_take(rl, "p", 1, &rule, 0, false, &res);
    assert_true(res.allowed);
    assert_int_equal(res.remaining, 2);
    ratelimit_free(rl);
}

static void test_refund_gives_back_one_token(void **state)
{
    (void)state;
    struct ratelimit *rl;
    struct ratelimit_rule rule = {3, 3600};
    struct ratelimit_result res;

    assert_int_equal(ratelimit_new(1024, &rl), 0);
    for (int i = 0; i < 3; i++)
        ratelimit_take(rl, "r", 1, &rule, 0, true, &res);
    assert_int_equal(res.remaining, 0);
    ratelimit_refund(rl, "r", 1, &rule, 0, &res);
    assert_int_equal(res.remaining, 1);
    ratelimit_take(rl, "r", 1, &rule, 0, true, &res);
    assert_true(res.allowed);
    /* A refund never lifts a bucket above its limit. */
    for (int i = 0; i < 10; i++)
        ratelimit_refund(rl, "r", 1, &rule, 0, &res);
    assert_int_equal(res.remaining, 3);
    /* Refunding an unknown bucket creates nothing. */
    ratelimit_refund(rl, "zz", 2, &rule, 0, NULL);
    ratelimit_free(rl);
}

static void test_off_means_unlimited(void **state)
{
    (void)state;
    struct ratelimit *rl;
    struct ratelimit_rule rule;
    struct ratelimit_result res;

    assert_int_equal(ratelimit_parse_rule("off", &rule), 0);
    assert_int_equal(rule.limit, 0);
    assert_int_equal(ratelimit_new(1024, &rl), 0);
    for (int i = 0; i < 1000; i++) {
        ratelimit_take(rl, "o", 1, &rule, 0, true, &res);
        assert_true(res.allowed);
    }
    assert_int_equal(res.limit, 0);
    ratelimit_free(rl);
}

/* Spraying a million addresses through a table of 1024 buckets keeps its
 * memory fixed, and a caller who is still being limited keeps its
 * (emptied) bucket in most cases: full buckets are evicted first. */
static void test_spraying_is_bounded(void **state)
{
    (void)state;
    struct ratelimit *rl;
    struct ratelimit_rule rule = {10, 60};
    struct ratelimit_result res;
    unsigned char key[17] = {'a'};

    assert_int_equal(ratelimit_new(1024, &rl), 0);
    for (uint32_t i = 0; i < 1000000; i++) {
        memcpy(key + 1, &i, sizeof(i));
        ratelimit_take(rl, key, sizeof(key), &rule, 0, true, &res);
        assert_true(res.allowed);
        assert_int_equal(res.remaining, 9);
    }
    /* Long keys are refused rather than truncated into another's. */
    char big[RATELIMIT_KEY_MAX + 1];
    memset(big, 'x', sizeof(big));
    ratelimit_take(rl, big, sizeof(big), &rule, 0, true, &res);
    assert_true(res.allowed);
    assert_int_equal(res.limit, 0);
    ratelimit_free(rl);
}

static void test_full_buckets_are_evicted_first(void **state)
{
    (void)state;
    struct ratelimit *rl;
    struct ratelimit_rule rule = {2, 3600};
    struct ratelimit_result res;
    unsigned char key[5] = {'a'};

    /* The smallest table: 1024 entries. Empty the victim's bucket, then
     * pass many more callers than there are entries, each spending
     * nothing (peek), so their buckets stay full and are evicted before
     * the victim's. */
    assert_int_equal(ratelimit_new(1024, &rl), 0);
    ratelimit_take(rl, "victim", 6, &rule, 0, true, &res);
    ratelimit_take(rl, "victim", 6, &rule, 0, true, &res);
    for (uint32_t i = 0; i < 200000; i++) {
        memcpy(key + 1, &i, sizeof(i));
        ratelimit_take(rl, key, sizeof(key), &rule, SEC, false, &res);
    }
    ratelimit_take(rl, "victim", 6, &rule, SEC, true, &res);
    assert_false(res.allowed);
    ratelimit_free(rl);
}

struct hammer {
    struct ratelimit *rl;
    int allowed;
};

static void *hammer_run(void *arg)
{
    struct hammer *h = arg;
    struct ratelimit_rule rule = {1000, 3600};
    struct ratelimit_result res;
    for (int i = 0; i < 5000; i++) {
        ratelimit_take(h->rl, "shared", 6, &rule, 0, true, &res);
        if (res.allowed)
            h->allowed++;
    }
    return NULL;
}

static void test_threads_share_one_bucket(void **state)
{
    (void)state;
    struct ratelimit *rl;
    pthread_t t[4];
    struct hammer h[4];
    int total = 0;

    assert_int_equal(ratelimit_new(1024, &rl), 0);
    for (int i = 0; i < 4; i++) {
        h[i] = (struct hammer){rl, 0};
        pthread_create(&t[i], NULL, hammer_run, &h[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        total += h[i].allowed;
    }
    assert_int_equal(total, 1000);
    ratelimit_free(rl);
}

static void test_parse_rule(void **state)
{
    (void)state;
    struct ratelimit_rule r;

    assert_int_equal(ratelimit_parse_rule("60/60s", &r), 0);
    assert_int_equal(r.limit, 60);
    assert_int_equal(r.window_s, 60);
    assert_int_equal(ratelimit_parse_rule("100/1m", &r), 0);
    assert_int_equal(r.window_s, 60);
    assert_int_equal(ratelimit_parse_rule("5000/1h", &r), 0);
    assert_int_equal(r.window_s, 3600);
    assert_int_equal(ratelimit_parse_rule("1000000/24h", &r), 0);
    const char *bad[] = {"",
                         "60",
                         "60/",
                         "/60s",
                         "0/60s",
                         "60/0s",
                         "60/60",
                         "60/60d",
                         "-1/60s",
                         "60/25h",
                         "1000001/1s",
                         "60 /60s",
                         "60/60s ",
                         "6O/60s",
                         "60/1441m",
                         "Off",
                         "99999999999999999999/1s",
                         "1/99999999999s"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        assert_int_equal(ratelimit_parse_rule(bad[i], &r), -1);
}

static void test_parse_net(void **state)
{
    (void)state;
    struct ratelimit_net n;

    assert_int_equal(ratelimit_parse_net("10.0.0.1", &n), 0);
    assert_int_equal(n.prefix, 128);
    assert_int_equal(ratelimit_parse_net("10.0.0.0/8", &n), 0);
    assert_int_equal(n.prefix, 104);
    assert_int_equal(ratelimit_parse_net("fd00::/8", &n), 0);
    assert_int_equal(n.prefix, 8);
    assert_int_equal(ratelimit_parse_net("::1", &n), 0);
    const char *bad[] = {"",  "10.0.0",    "10.0.0.1/33", "::1/129",
                         "x", "10.0.0.1/", "10.0.0.1/-1", "1.2.3.4 "};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        assert_int_equal(ratelimit_parse_net(bad[i], &n), -1);
}

static void v4(const char *text, struct sockaddr_in *out)
{
    memset(out, 0, sizeof(*out));
    out->sin_family = AF_INET;
    inet_pton(AF_INET, text, &out->sin_addr);
}

static void mapped(const char *text, unsigned char out[16])
{
    memset(out, 0, 16);
    out[10] = out[11] = 0xff;
    inet_pton(AF_INET, text, out + 12);
}

static void test_client_address(void **state)
{
    (void)state;
    struct ratelimit_net proxies[2];
    struct sockaddr_in peer;
    unsigned char got[16], want[16];

    ratelimit_parse_net("10.0.0.1", &proxies[0]);
    ratelimit_parse_net("192.168.0.0/16", &proxies[1]);

    /* An untrusted peer's X-Forwarded-For is ignored. */
    v4("203.0.113.9", &peer);
    assert_int_equal(ratelimit_client_address((struct sockaddr *)&peer,
                                              "1.1.1.1", proxies, 2, got),
                     0);
    mapped("203.0.113.9", want);
    assert_memory_equal(got, want, 16);

    /* A trusted one: the right-most address that is not a proxy. The
     * client's own (forgeable) entries to its left are ignored. */
    v4("10.0.0.1", &peer);
    assert_int_equal(ratelimit_client_address(
                         (struct sockaddr *)&peer,
                         "6.6.6.6, 198.51.100.7, 192.168.3.4", proxies, 2, got),
                     0);
    mapped("198.51.100.7", want);
    assert_memory_equal(got, want, 16);

    /* No header, or garbage in it: the proxy itself. */
    assert_int_equal(ratelimit_client_address((struct sockaddr *)&peer, NULL,
                                              proxies, 2, got),
                     0);
    mapped("10.0.0.1", want);
    assert_memory_equal(got, want, 16);
    assert_int_equal(ratelimit_client_address((struct sockaddr *)&peer,
                                              "1.2.3.4, not-an-ip", proxies, 2,
                                              got),
                     0);
    assert_memory_equal(got, want, 16);
    assert_int_equal(ratelimit_client_address((struct sockaddr *)&peer, ",,, ,",
                                              proxies, 2, got),
                     0);
    assert_memory_equal(got, want, 16);

    /* IPv6 clients are counted per /64. */
    struct sockaddr_in6 p6;
    memset(&p6, 0, sizeof(p6));
    p6.sin6_family = AF_INET6;
    inet_pton(AF_INET6, "2001:db8:1:2:aaaa:bbbb:cccc:dddd", &p6.sin6_addr);
    assert_int_equal(
        ratelimit_client_address((struct sockaddr *)&p6, NULL, proxies, 2, got),
        0);
    inet_pton(AF_INET6, "2001:db8:1:2::", want);
    assert_memory_equal(got, want, 16);

    struct sockaddr other = {.sa_family = AF_UNIX};
    assert_int_equal(ratelimit_client_address(&other, NULL, proxies, 2, got),
                     -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_spends_then_refuses),
        cmocka_unit_test(test_bucket_refills_over_time),
        cmocka_unit_test(test_peek_does_not_spend),
        cmocka_unit_test(test_refund_gives_back_one_token),
        cmocka_unit_test(test_off_means_unlimited),
        cmocka_unit_test(test_spraying_is_bounded),
        cmocka_unit_test(test_full_buckets_are_evicted_first),
        cmocka_unit_test(test_threads_share_one_bucket),
        cmocka_unit_test(test_parse_rule),
        cmocka_unit_test(test_parse_net),
        cmocka_unit_test(test_client_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
