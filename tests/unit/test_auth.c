/* Unit tests for auth's verdicts that need no database: the header's
 * shape and the operation's roles decide them before any key is looked
 * up. (Keys found in the database are covered by the integration
 * suites.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "medqa/auth.h"

#include <string.h>

static void test_anonymous(void **state)
{
    struct auth_verdict v;
    (void)state;
    auth_authenticate(NULL, 0, &v);
    assert_int_equal(v.outcome, AUTH_ANONYMOUS);
    assert_int_equal(v.role, 0);
    assert_string_equal(v.key_id, "");
}

static void test_missing_key(void **state)
{
    struct auth_verdict v;
    (void)state;
    auth_authenticate(NULL, AUTH_ROLE_PARTNER, &v);
    assert_int_equal(v.outcome, AUTH_UNAUTHORIZED);
    assert_int_equal(v.reason, AUTH_REASON_MISSING);
}

static void test_scheme_and_shape(void **state)
{
    struct auth_verdict v;
    (void)state;
    /* A wrong scheme or a malformed key is refused even where anyone
     * may call: a key that was sent must be good. */
    auth_authenticate("Basic dXNlcjpwYXNz", 0, &v);
    assert_int_equal(v.outcome, AUTH_UNAUTHORIZED);
    assert_int_equal(v.reason, AUTH_REASON_SCHEME);
    auth_authenticate("Bearer mq_nope", 0, &v);
    assert_int_equal(v.outcome, AUTH_UNAUTHORIZED);
    assert_int_equal(v.reason, AUTH_REASON_MALFORMED);
    auth_authenticate("bearer    mq_0123456789ab_" /* 42 chars: short */
                      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                      AUTH_ROLE_EDITOR, &v);
    assert_int_equal(v.outcome, AUTH_UNAUTHORIZED);
    assert_int_equal(v.reason, AUTH_REASON_MALFORMED);
}

static void test_key_shape(void **state)
{
    char key[AUTH_KEY_LEN + 1], prefix[AUTH_PREFIX_LEN + 1], hash[65];
    char again[AUTH_PREFIX_LEN + 1], hash2[65];
    (void)state;
    assert_int_equal(auth_key_generate(key, prefix, hash), 0);
    assert_int_equal(strlen(key), AUTH_KEY_LEN);
    assert_int_equal(auth_key_prefix(key, again), 0);
    assert_string_equal(again, prefix);
    auth_key_hash(key, hash2);
    assert_string_equal(hash, hash2);
    assert_int_equal(strlen(hash), 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_anonymous),
        cmocka_unit_test(test_missing_key),
        cmocka_unit_test(test_scheme_and_shape),
        cmocka_unit_test(test_key_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
