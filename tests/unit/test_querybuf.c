/* Unit tests for the list-query builder (handlers/querybuf.c): the keyset
 * tail every list ends in must render the same SQL the lists ran before
 * it existed (those strings are copied here from the old handlers), bind
 * the cursor's keys as parameters in order, and end in the constant
 * LIMIT. */
/* cmocka needs these before it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "medqa/base.h"

#include "../../internal/handlers/querybuf.h"

static const struct qb_keyset topics = {
    .ncolumns = 2,
    .columns = {{"t.name", NULL}, {"t.slug", NULL}},
    .lookup = "(SELECT name FROM topics WHERE slug = $%d)",
};

static void test_lookup_keyset_with_cursor(void **state)
{
    (void)state;
    struct querybuf b;
    const char *after[1] = {"acne"};

    qb_init(&b, "tl");
    qb_add(&b, "SELECT x FROM topics t WHERE t.deleted_at IS NULL");
    qb_filter(&b, " AND t.department_slug = $%d", "cardiology");
    qb_shape(&b, 'd');
    assert_int_equal(qb_keyset_keys(&topics), 1);
    qb_keyset(&b, &topics, after, 20);
    assert_false(b.overflow);
    assert_string_equal(b.sql, "SELECT x FROM topics t WHERE t.deleted_at IS "
                               "NULL AND t.department_slug = $1 AND (t.name, "
                               "t.slug) > ((SELECT name FROM topics WHERE "
                               "slug = $2), $2) ORDER BY t.name, t.slug "
                               "LIMIT 21");
    assert_string_equal(b.name, "tl_dc#B");
    assert_int_equal(b.nparams, 2);
    assert_string_equal(b.params[0], "cardiology");
    assert_string_equal(b.params[1], "acne");
}

static void test_lookup_keyset_with_cast(void **state)
{
    (void)state;
    static const struct qb_keyset doctors = {
        .ncolumns = 2,
        .columns = {{"d.name", NULL}, {"d.id", "uuid"}},
        .lookup = "(SELECT name FROM doctors WHERE id = $%d::uuid)",
    };
    struct querybuf b;
    const char *after[1] = {"69722d70-3037-46b5-bee6-c680cd395567"};

    qb_init(&b, "dl");
    qb_add(&b, "SELECT x FROM doctors d WHERE true");
    qb_keyset(&b, &doctors, after, 5);
    assert_string_equal(b.sql,
                        "SELECT x FROM doctors d WHERE true AND (d.name, d.id) "
                        "> ((SELECT name FROM doctors WHERE id = $1::uuid), "
                        "$1::uuid) ORDER BY d.name, d.id LIMIT 6");
    assert_string_equal(b.name, "dl_c#5");
}

static void test_descending_two_columns(void **state)
{
    (void)state;
    static const struct qb_keyset newest = {
        .shape = 'n',
        .desc = true,
        .ncolumns = 2,
        .columns = {{"q.asked_at", "timestamptz"}, {"q.id", "uuid"}},
    };
    struct querybuf b;
    const char *after[2] = {"2025-04-08T13:19:20.000000Z",
                            "dcec9dac-95cb-4254-b70f-d9172a9f54e1"};

    qb_init(&b, "ql");
    qb_param(&b, "http://base");
    qb_add(&b, "SELECT x FROM questions q WHERE q.deleted_at IS NULL");
    qb_keyset(&b, &newest, after, 1);
    assert_string_equal(b.sql,
                        "SELECT x FROM questions q WHERE q.deleted_at IS NULL "
                        "AND (q.asked_at, q.id) < ($2::timestamptz, $3::uuid) "
                        "ORDER BY q.asked_at DESC, q.id DESC LIMIT 2");
    assert_string_equal(b.name, "ql__nc#1");
    assert_int_equal(b.nparams, 3);
    assert_string_equal(b.params[1], after[0]);
    assert_string_equal(b.params[2], after[1]);
}

static void test_ascending_one_column_first_page(void **state)
{
    (void)state;
    static const struct qb_keyset seq = {
        .ncolumns = 1,
        .columns = {{"c.seq", "bigint"}},
    };
    struct querybuf b;
    const char *after[1] = {"42"};

    qb_init(&b, "cl");
    qb_add(&b, "SELECT x FROM changes c WHERE true");
    qb_keyset(&b, &seq, NULL, 20);
    assert_string_equal(b.sql, "SELECT x FROM changes c WHERE true ORDER BY "
                               "c.seq LIMIT 21");
    assert_string_equal(b.name, "cl_#B");
    assert_int_equal(b.nparams, 0);

    qb_init(&b, "cl");
    qb_add(&b, "SELECT x FROM changes c WHERE true");
    qb_keyset(&b, &seq, after, 20);
    assert_string_equal(b.sql, "SELECT x FROM changes c WHERE true AND c.seq "
                               "> $1::bigint ORDER BY c.seq LIMIT 21");
}

/* The topics prefix filter, as the old handler wrote it with snprintf:
 * "%%" is a literal percent sign, every "%d" the parameter's number. */
static void test_format_percent_and_numbers(void **state)
{
    (void)state;
    struct querybuf b;

    qb_init(&b, "tl");
    qb_param(&b, "a");
    qb_filter(&b,
              " AND lower(t.name) LIKE replace(replace(replace("
              "lower($%d), '\\', '\\\\'), '%%', '\\%%'), '_', '\\_') "
              "|| '%%'",
              "50%");
    qb_addf(&b, " AND f($%d, $%d)", 7);
    assert_false(b.overflow);
    assert_string_equal(b.sql,
                        " AND lower(t.name) LIKE replace(replace(replace("
                        "lower($2), '\\', '\\\\'), '%', '\\%'), '_', "
                        "'\\_') || '%' AND f($7, $7)");
    assert_string_equal(b.params[1], "50%");
}

/* Each page size maps to one constant LIMIT of at least size + 1. */
static void test_limit_is_a_constant_above_the_page(void **state)
{
    (void)state;
    static const struct {
        int limit;
        const char *sql;
    } cases[] = {
        {1, " LIMIT 2"},   {2, " LIMIT 6"},    {5, " LIMIT 6"},
        {7, " LIMIT 11"},  {10, " LIMIT 11"},  {20, " LIMIT 21"},
        {25, " LIMIT 26"}, {30, " LIMIT 31"},  {33, " LIMIT 51"},
        {50, " LIMIT 51"}, {60, " LIMIT 101"}, {100, " LIMIT 101"},
    };
    struct querybuf b;

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        qb_init(&b, "x");
        qb_limit(&b, cases[i].limit);
        assert_false(b.overflow);
        assert_string_equal(b.sql, cases[i].sql);
    }
    qb_init(&b, "x");
    qb_limit(&b, 101);
    assert_true(b.overflow);
}

static void test_overflow_is_reported_not_overrun(void **state)
{
    (void)state;
    struct querybuf b;
    char big[1000];

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    qb_init(&b, "x");
    for (int i = 0; i < 5; i++)
        qb_add(&b, big);
    assert_true(b.overflow);
    assert_true(b.len < sizeof(b.sql));

    qb_init(&b, "x");
    for (int i = 0; i < 4; i++)
        qb_add(&b, big);
    assert_false(b.overflow);
    qb_addf(&b, " AND a = $%d /* a long tail ... */ AND b = $%d", 1);
    assert_false(b.overflow);
    for (int i = 0; i < 3; i++)
        qb_addf(&b, " AND y = $%d /* padding padding padding padding */", 1);
    assert_true(b.overflow);
    assert_int_equal(strlen(b.sql), b.len);

    qb_init(&b, "x");
    for (int i = 0; i < QB_MAX_PARAMS; i++)
        qb_param(&b, "v");
    assert_false(b.overflow);
    qb_param(&b, "v");
    assert_true(b.overflow);
}

static void test_malformed_keyset_refused(void **state)
{
    (void)state;
    static const struct qb_keyset none = {.ncolumns = 0};
    static const struct qb_keyset lookup_only = {
        .ncolumns = 1,
        .columns = {{"t.name", NULL}},
        .lookup = "(SELECT 1 WHERE $%d IS NULL)",
    };
    struct querybuf b;

    qb_init(&b, "x");
    qb_keyset(&b, &none, NULL, 20);
    assert_true(b.overflow);
    qb_init(&b, "x");
    qb_keyset(&b, &lookup_only, NULL, 20);
    assert_true(b.overflow);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup_keyset_with_cursor),
        cmocka_unit_test(test_lookup_keyset_with_cast),
        cmocka_unit_test(test_descending_two_columns),
        cmocka_unit_test(test_ascending_one_column_first_page),
        cmocka_unit_test(test_format_percent_and_numbers),
        cmocka_unit_test(test_limit_is_a_constant_above_the_page),
        cmocka_unit_test(test_overflow_is_reported_not_overrun),
        cmocka_unit_test(test_malformed_keyset_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
