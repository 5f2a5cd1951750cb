/* Unit tests for cursor: round trip, tampering, binding to sort/filters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "medqa/cursor.h"

#include <string.h>

static const char *const secret = "0123456789abcdef0123456789abcdef";

static void test_round_trip(void **state)
{
    (void)state;
    char text[CURSOR_MAX_TEXT];
    const char *keys[2] = {"2016-09-05T00:00:00.000000Z",
                           "0b0c7a52-3f4e-4d59-9a51-6f1f2b8d9e10"};
    struct cursor c;

    assert_int_equal(cursor_encode(secret, "newest", "abc", keys, 2, text), 0);
    assert_null(strchr(text, '+'));
    assert_null(strchr(text, '/'));
    assert_null(strchr(text, '='));
    assert_int_equal(cursor_decode(secret, text, "newest", "abc", 2, &c),
                     CURSOR_OK);
    assert_int_equal(c.nkeys, 2);
    assert_string_equal(c.keys[0], keys[0]);
    assert_string_equal(c.keys[1], keys[1]);
}

static void test_other_sort_or_filters(void **state)
{
    (void)state;
    char text[CURSOR_MAX_TEXT];
    const char *keys[1] = {"42"};
    struct cursor c;

    assert_int_equal(cursor_encode(secret, "seq", "f1", keys, 1, text), 0);
    assert_int_equal(cursor_decode(secret, text, "newest", "f1", 1, &c),
                     CURSOR_EMISMATCH);
    assert_int_equal(cursor_decode(secret, text, "seq", "f2", 1, &c),
                     CURSOR_EMISMATCH);
    assert_int_equal(cursor_decode(secret, text, "seq", "f1", 2, &c),
                     CURSOR_EMISMATCH);
}

static void test_tampered_or_foreign(void **state)
{
    (void)state;
    char text[CURSOR_MAX_TEXT];
    const char *keys[1] = {"42"};
    struct cursor c;

    assert_int_equal(cursor_encode(secret, "seq", "f", keys, 1, text), 0);
    /* Flip one character of the payload. */
    text[3] = text[3] == 'A' ? 'B' : 'A';
    assert_int_equal(cursor_decode(secret, text, "seq", "f", 1, &c),
                     CURSOR_EMALFORMED);
    assert_int_equal(cursor_encode(secret, "seq", "f", keys, 1, text), 0);
    assert_int_equal(cursor_decode("another-secret-another-secret-xx", text,
                                   "seq", "f", 1, &c),
                     CURSOR_EMALFORMED);
    const char *bad[] = {"",        ".",     "abc",  "abc.def",
                         "!!!.###", "a.b.c", "YQ.YQ"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(cursor_decode(secret, bad[i], "seq", "f", 1, &c),
                         CURSOR_EMALFORMED);
    char longtext[2 * CURSOR_MAX_TEXT];
    memset(longtext, 'A', sizeof(longtext) - 1);
    longtext[sizeof(longtext) - 1] = '\0';
    assert_int_equal(cursor_decode(secret, longtext, "seq", "f", 1, &c),
                     CURSOR_EMALFORMED);
}

static void test_newline_in_key_refused(void **state)
{
    (void)state;
    char text[CURSOR_MAX_TEXT];
    const char *keys[1] = {"a\nb"};
    assert_int_equal(cursor_encode(secret, "seq", "f", keys, 1, text), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_other_sort_or_filters),
        cmocka_unit_test(test_tampered_or_foreign),
        cmocka_unit_test(test_newline_in_key_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
