/* Unit tests for webhooks/ssrf.c: which endpoint URLs are accepted and
 * which addresses a delivery may connect to. Nothing here resolves a
 * name or opens a socket. */
/* cmocka needs these before it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "medqa/webhooks.h"

static bool forbidden(const char *text)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *in = (struct sockaddr_in *)(void *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)&ss;
    if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
    } else {
        assert_int_equal(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
        in6->sin6_family = AF_INET6;
    }
    return webhooks_addr_forbidden((const struct sockaddr *)&ss);
}

static void test_refused_addresses(void **state)
{
    (void)state;
    static const char *const refused[] = {
        "0.0.0.0",
        "127.0.0.1",
        "127.255.0.9",
        "10.0.0.1",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "224.0.0.1",
        "239.255.255.250",
        "255.255.255.255",
        "::",
        "::1",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.1.2.3",
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",
        "::127.0.0.1",
        "2001:db8::1",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        if (!forbidden(refused[i]))
            fail_msg("%s should be refused", refused[i]);
}

static void test_public_addresses(void **state)
{
    (void)state;
    static const char *const allowed[] = {
        "93.184.216.34",    "8.8.8.8",           "172.32.0.1",
        "11.0.0.1",         "2606:4700::1111",   "::ffff:93.184.216.34",
        "64:ff9b::808:808", "2a00:1450:4001::1",
    };
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        if (forbidden(allowed[i]))
            fail_msg("%s should be allowed", allowed[i]);
}

static int check(const char *url, bool http, bool priv,
                 struct webhooks_target *t)
{
    char reason[200];
    return webhooks_url_check(url, http, priv, t, reason, sizeof(reason));
}

static void test_urls(void **state)
{
    (void)state;
    struct webhooks_target t;

    assert_int_equal(
        check("https://partner.example.org/hook?x=1", false, false, &t), 0);
    assert_string_equal(t.host, "partner.example.org");
    assert_int_equal(t.port, 443);
    assert_true(t.https);
    assert_false(t.literal);
    assert_int_equal(check("https://[2606:4700::1111]:8443/", false, false, &t),
                     0);
    assert_string_equal(t.host, "2606:4700::1111");
    assert_int_equal(t.port, 8443);
    assert_true(t.literal);

    /* Scheme. */
    assert_int_equal(check("http://partner.example.org/", false, false, &t),
                     -1);
    assert_int_equal(check("http://partner.example.org/", true, false, &t), 0);
    assert_int_equal(t.port, 80);
    assert_int_equal(check("ftp://partner.example.org/", true, true, &t), -1);
    assert_int_equal(check("partner.example.org/hook", true, true, &t), -1);
    assert_int_equal(check("https://", true, true, &t), -1);
    /* Addresses. */
    assert_int_equal(check("https://127.0.0.1/", false, false, &t), -1);
    assert_int_equal(check("https://[::1]/", false, false, &t), -1);
    assert_int_equal(check("https://10.0.0.1/", false, false, &t), -1);
    assert_int_equal(check("https://169.254.169.254/latest", false, false, &t),
                     -1);
    assert_int_equal(check("https://[::ffff:7f00:1]/", false, false, &t), -1);
    assert_int_equal(check("https://localhost/", false, false, &t), -1);
    assert_int_equal(check("https://a.localhost/", false, false, &t), -1);
    assert_int_equal(check("https://127.0.0.1:9/", true, true, &t), 0);
    assert_int_equal(check("http://localhost:9/", true, true, &t), 0);
    /* Credentials and fragments. */
    assert_int_equal(
        check("https://u:p@partner.example.org/", false, false, &t), -1);
    assert_int_equal(check("https://partner.example.org/#x", false, false, &t),
                     -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_addresses),
        cmocka_unit_test(test_public_addresses),
        cmocka_unit_test(test_urls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
