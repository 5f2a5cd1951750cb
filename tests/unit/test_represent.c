/* Unit tests for the direct JSON writer (handlers/represent.c): strings
 * are escaped exactly as jansson's json_dumps() escapes them (jansson is
 * the reference: the writes still go through it, and the bytes of one
 * state of a row must be one), and PostgreSQL's ISO timestamps become
 * what to_char gave (mq_ts, QB_TS). */
/* cmocka needs these before it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "../../internal/handlers/represent.h"

/* rep_buf_str's text of s[0..n) against json_dumps of the same string. */
static void check_string(const char *s, size_t n)
{
    struct rep_buf b;
    json_t *v = json_stringn(s, n);
    char *want;
    char *got;
    size_t len = 0;

    assert_non_null(v);
    want = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    assert_non_null(want);
    rep_buf_init(&b, 0);
    rep_buf_str(&b, s, n);
    got = rep_buf_take(&b, &len);
    assert_non_null(got);
    assert_int_equal(len, strlen(want));
    assert_string_equal(got, want);
    free(got);
    free(want);
    json_decref(v);
}

static void test_strings_escape_as_jansson(void **state)
{
    (void)state;
    static const char *cases[] = {
        "",
        "plain",
        "quote \" backslash \\ slash / end",
        "tab\tnewline\nreturn\rformfeed\fbackspace\b",
        "\x01\x02\x1f\x7f and DEL",
        "中文 — «unicode» \xe2\x80\xa8 line separator \xf0\x9f\x98\x80",
        "</script><!-- & ' -->",
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_string(cases[i], strlen(cases[i]));
    /* Every byte below 0x80 once, NUL included. */
    char all[128];
    for (int c = 0; c < 128; c++)
        all[c] = (char)c;
    check_string(all, sizeof(all));
}

static void test_buffer_grows_past_its_hint(void **state)
{
    (void)state;
    struct rep_buf b;
    char *text;
    size_t len = 0;

    rep_buf_init(&b, 4);
    for (int i = 0; i < 1000; i++)
        rep_buf_lit(&b, "0123456789");
    text = rep_buf_take(&b, &len);
    assert_non_null(text);
    assert_int_equal(len, 10000);
    assert_int_equal(strlen(text), 10000);
    free(text);
    rep_buf_free(&b);
}

static void check_ts(const char *pg, bool micro, const char *want)
{
    char out[REP_TS_MAX];
    int n = rep_ts(pg, micro, out);

    if (want == NULL) {
        assert_int_equal(n, -1);
        return;
    }
    assert_int_equal(n, (int)strlen(want));
    assert_string_equal(out, want);
}

/* to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') (and
 * .US) on the values PostgreSQL writes in DateStyle ISO: the fraction is
 * cut, not rounded, and trailing zeros PostgreSQL leaves out come back. */
static void test_timestamps_as_to_char(void **state)
{
    (void)state;
    check_ts("2025-12-31 23:59:01", false, "2025-12-31T23:59:01.000Z");
    check_ts("2025-12-31 23:59:01", true, "2025-12-31T23:59:01.000000Z");
    check_ts("2026-01-02 03:04:05.1", false, "2026-01-02T03:04:05.100Z");
    check_ts("2026-01-02 03:04:05.123456", false, "2026-01-02T03:04:05.123Z");
    check_ts("2026-01-02 03:04:05.999999", false, "2026-01-02T03:04:05.999Z");
    check_ts("2026-01-02 03:04:05.12345", true, "2026-01-02T03:04:05.123450Z");
    check_ts("0099-01-01 00:00:00", false, "0099-01-01T00:00:00.000Z");
    check_ts("12345-06-07 08:09:10.5", false, "12345-06-07T08:09:10.500Z");
    /* Not what REP_TS gives in DateStyle ISO: refused, never guessed. */
    check_ts("0044-03-15 12:00:00 BC", false, NULL);
    check_ts("2025-12-31 23:59:01+00", false, NULL);
    check_ts("12/31/2025 23:59:01", false, NULL);
    check_ts("Wed Dec 31 23:59:01 2025", false, NULL);
    check_ts("infinity", false, NULL);
    check_ts("2025-12-31 23:59:01.", false, NULL);
    check_ts("", false, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings_escape_as_jansson),
        cmocka_unit_test(test_buffer_grows_past_its_hint),
        cmocka_unit_test(test_timestamps_as_to_char),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
