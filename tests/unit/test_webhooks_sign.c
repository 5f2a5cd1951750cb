/* Unit tests for webhooks/sign.c and the retry arithmetic of worker.c:
 * the Standard Webhooks signature against a vector made by the reference
 * implementation (the standardwebhooks npm package 1.3.0, Webhook.sign),
 * secrets' shape, sealing at rest, the retry schedule and Retry-After. */
/* cmocka needs these before it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <string.h>

#include "medqa/webhooks.h"

/* whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw0Eobjq+4P8c= decoded. */
static void vector_key(unsigned char key[32])
{
    unsigned char buf[48];
    assert_int_equal(
        EVP_DecodeBlock(buf,
                        (const unsigned char
                             *)"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw0Eobjq+4P8c=",
                        44),
        33);
    memcpy(key, buf, 32);
}

static void test_signature_matches_reference(void **state)
{
    (void)state;
    unsigned char key[32];
    char sig[WEBHOOKS_SIGNATURE_LEN];
    const char *body = "{\"test\": 2432232314}";

    vector_key(key);
    assert_int_equal(webhooks_sign(key, 32, "msg_p5jXN8AQM9LWM0D4loKWxJek",
                                   1614265330, body, strlen(body), sig),
                     0);
    assert_string_equal(sig, "v1,b6OuFly6qxDMcjpI1HRKHHYgpDiYo+VyUzUQ7/jHuRc=");
}

static void test_signature_covers_id_timestamp_and_body(void **state)
{
    (void)state;
    unsigned char key[32];
    char a[WEBHOOKS_SIGNATURE_LEN], b[WEBHOOKS_SIGNATURE_LEN];
    const char *body = "{\"test\": 2432232314}";

    vector_key(key);
    webhooks_sign(key, 32, "msg_1", 1614265330, body, strlen(body), a);
    webhooks_sign(key, 32, "msg_2", 1614265330, body, strlen(body), b);
    assert_string_not_equal(a, b);
    webhooks_sign(key, 32, "msg_1", 1614265331, body, strlen(body), b);
    assert_string_not_equal(a, b);
    webhooks_sign(key, 32, "msg_1", 1614265330, body, strlen(body) - 1, b);
    assert_string_not_equal(a, b);
    key[0] ^= 1;
    webhooks_sign(key, 32, "msg_1", 1614265330, body, strlen(body), b);
    assert_string_not_equal(a, b);
}

static void test_new_secrets_are_whsec_base64_of_32_bytes(void **state)
{
    (void)state;
    unsigned char k1[32], k2[32], back[48];
    char t1[WEBHOOKS_SECRET_TEXT_LEN], t2[WEBHOOKS_SECRET_TEXT_LEN];

    assert_int_equal(webhooks_secret_new(k1, t1), 0);
    assert_int_equal(webhooks_secret_new(k2, t2), 0);
    assert_int_equal(strlen(t1), 50);
    assert_memory_equal(t1, "whsec_", 6);
    assert_int_equal(t1[49], '=');
    assert_string_not_equal(t1, t2);
    assert_int_equal(EVP_DecodeBlock(back, (const unsigned char *)t1 + 6, 44),
                     33);
    assert_memory_equal(back, k1, 32);
}

static void
test_sealed_secret_opens_only_with_its_key_and_endpoint(void **state)
{
    (void)state;
    unsigned char master[32], other[32], secret[32], out[32];
    unsigned char sealed[WEBHOOKS_SEALED_LEN], again[WEBHOOKS_SEALED_LEN];
    const char *id = "6a0b2c4d-8e1f-4a3b-9c5d-7e9f1a2b3c4d";

    memset(master, 7, sizeof(master));
    memset(other, 8, sizeof(other));
    memset(secret, 42, sizeof(secret));
    assert_int_equal(webhooks_seal(master, id, secret, sealed), 0);
    assert_null(memmem(sealed, sizeof(sealed), secret, 8));
    assert_int_equal(webhooks_open(master, id, sealed, out), 0);
    assert_memory_equal(out, secret, 32);
    /* A fresh nonce each time. */
    assert_int_equal(webhooks_seal(master, id, secret, again), 0);
    assert_memory_not_equal(again, sealed, sizeof(sealed));
    assert_int_equal(webhooks_open(other, id, sealed, out), -1);
    assert_int_equal(webhooks_open(master,
                                   "6a0b2c4d-8e1f-4a3b-9c5d-7e9f1a2b3c4e",
                                   sealed, out),
                     -1);
    sealed[20] ^= 1;
    assert_int_equal(webhooks_open(master, id, sealed, out), -1);
}

static void test_retry_schedule_scaled_with_jitter(void **state)
{
    (void)state;
    static const long long s[] = {5, 300, 1800, 7200, 18000, 36000, 36000};

    assert_int_equal(webhooks_retry_delay_ms(1, 1, 0), -1);
    assert_int_equal(webhooks_retry_delay_ms(9, 1, 0), -1);
    for (int next = 2; next <= 8; next++) {
        long long base = s[next - 2] * 1000;
        assert_int_equal(webhooks_retry_delay_ms(next, 1, 0), base);
        long long j = webhooks_retry_delay_ms(next, 1, 0.999);
        assert_true(j > base && j <= base + base / 10);
        assert_int_equal(webhooks_retry_delay_ms(next, 1000, 0), base / 1000);
    }
}

static void test_retry_after_seconds_and_dates(void **state)
{
    (void)state;
    /* Sun, 06 Nov 1994 08:49:37 GMT, RFC 9110's example. */
    const long long t = 784111777;

    assert_int_equal(webhooks_parse_retry_after("2", t), 2);
    assert_int_equal(webhooks_parse_retry_after(" 120 ", t), 120);
    assert_int_equal(webhooks_parse_retry_after("99999999", t), 86400);
    assert_int_equal(webhooks_parse_retry_after("-1", t), -1);
    assert_int_equal(webhooks_parse_retry_after("2x", t), -1);
    assert_int_equal(webhooks_parse_retry_after("soon", t), -1);
    assert_int_equal(
        webhooks_parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", t), 10);
    assert_int_equal(
        webhooks_parse_retry_after("Sun, 06 Nov 1994 08:49:27 GMT", t), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signature_matches_reference),
        cmocka_unit_test(test_signature_covers_id_timestamp_and_body),
        cmocka_unit_test(test_new_secrets_are_whsec_base64_of_32_bytes),
        cmocka_unit_test(
            test_sealed_secret_opens_only_with_its_key_and_endpoint),
        cmocka_unit_test(test_retry_schedule_scaled_with_jitter),
        cmocka_unit_test(test_retry_after_seconds_and_dates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
