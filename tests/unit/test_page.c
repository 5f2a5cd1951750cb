/* Unit tests for opening a list's page (handlers/page.c): cursors that
 * the previous release issued still open to the same keys (a client may
 * hold one across an upgrade, so their format and their binding to the
 * query must never change), a cursor from another list or other filters
 * is a 400, and the keyset tail carries the cursor's keys. The cursors
 * below were issued by the release before page.c, with the secret below,
 * for GET /topics?limit=2 and GET /questions?department=family-medicine. */
/* cmocka needs these before it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medqa/config.h"
#include "medqa/spec.h"

#include "../../internal/handlers/page.h"

static const char secret[] = "spotcheck-secret-0123456789abcdef0123456789";

static const char topics_cursor[] =
    "djEKbmFtZQo0NzhmNGMxNTczMDU0MmM5ZmY2YTYwZDc2MGVmNzZjYQphY25l."
    "qBmMsB4wGx5sI43mkA8FeA";
static const char questions_cursor[] =
    "djEKbmV3ZXN0CmE0MjMxZTcxMjdmNmQ4OWY1NDZiZGY1ZmZiMjQyNTk3CjIwMjUtMDQtMD"
    "hUMTM6MTk6MjAuMDAwMDAwWgpkY2VjOWRhYy05NWNiLTQyNTQtYjcwZi1kOTE3MmE5ZjU0"
    "ZTE.dkDo5VFBCINS4etFqNhCSQ";

static const struct page_list topics = {
    .sort = "name",
    .keyset = {.ncolumns = 2,
               .columns = {{"t.name", NULL}, {"t.slug", NULL}},
               .lookup = "(SELECT name FROM topics WHERE slug = $%d)"},
};
static const struct page_list newest = {
    .sort = "newest",
    .keyset = {.shape = 'n',
               .desc = true,
               .ncolumns = 2,
               .columns = {{"q.asked_at", "timestamptz"}, {"q.id", "uuid"}}},
};

/* A request as the server hands it to a handler, as far as opening a
 * page reads it. */
struct fixture {
    char secret[64];
    char base_url[32];
    char operation_id[32];
    struct config cfg;
    struct spec_operation op;
    struct request r;
};

static void fixture_init(struct fixture *f, const char *operation_id,
                         json_t *params)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->secret, sizeof(f->secret), "%s", secret);
    snprintf(f->base_url, sizeof(f->base_url), "http://localhost:8080");
    snprintf(f->operation_id, sizeof(f->operation_id), "%s", operation_id);
    f->cfg.cursor_secret = f->secret;
    f->cfg.public_base_url = f->base_url;
    f->op.operation_id = f->operation_id;
    f->r.cfg = &f->cfg;
    f->r.op = &f->op;
    f->r.params = params;
}

static void fixture_cleanup(struct fixture *f)
{
    json_decref(f->r.params);
    free(f->r.owned_out);
}

static void test_previous_release_cursors_open(void **state)
{
    (void)state;
    struct fixture f;
    struct page pg;

    fixture_init(&f, "listTopics",
                 json_pack("{s:i, s:s}", "limit", 2, "cursor", topics_cursor));
    assert_int_equal(page_open_or_reply(&f.r, &topics, &pg), REPLY_NONE);
    assert_int_equal(pg.limit, 2);
    assert_int_equal(pg.after.nkeys, 1);
    assert_string_equal(pg.after.keys[0], "acne");
    assert_int_equal(f.r.status, 0);
    fixture_cleanup(&f);

    fixture_init(&f, "listQuestions",
                 json_pack("{s:s, s:s}", "department", "family-medicine",
                           "cursor", questions_cursor));
    assert_int_equal(page_open_or_reply(&f.r, &newest, &pg), REPLY_NONE);
    assert_int_equal(pg.limit, 20);
    assert_int_equal(pg.after.nkeys, 2);
    assert_string_equal(pg.after.keys[0], "2025-04-08T13:19:20.000000Z");
    assert_string_equal(pg.after.keys[1],
                        "dcec9dac-95cb-4254-b70f-d9172a9f54e1");

    struct querybuf b;
    qb_init(&b, "ql");
    qb_add(&b, "SELECT x FROM questions q WHERE true");
    page_keyset(&pg, &b);
    assert_string_equal(b.sql, "SELECT x FROM questions q WHERE true AND "
                               "(q.asked_at, q.id) < ($1::timestamptz, "
                               "$2::uuid) ORDER BY q.asked_at DESC, q.id "
                               "DESC LIMIT 21");
    assert_string_equal(b.params[0], "2025-04-08T13:19:20.000000Z");
    fixture_cleanup(&f);
}

/* The 400 a refused cursor gets, with the detail that says why. */
static void assert_refused(struct fixture *f, const struct page_list *list,
                           const char *detail)
{
    struct page pg;

    assert_int_equal(page_open_or_reply(&f->r, list, &pg), REPLY_QUEUED);
    assert_int_equal(f->r.status, 400);
    assert_string_equal(f->r.content_type, "application/problem+json");
    assert_non_null(f->r.body_out);
    assert_non_null(strstr(f->r.body_out, "\"parameter\":\"cursor\""));
    assert_non_null(strstr(f->r.body_out, detail));
}

static void test_cursor_of_another_query_refused(void **state)
{
    (void)state;
    struct fixture f;

    /* /doctors sorts by name too: the operation is part of the binding. */
    fixture_init(&f, "listDoctors",
                 json_pack("{s:s}", "cursor", topics_cursor));
    assert_refused(&f, &topics, "another sort or other filters");
    fixture_cleanup(&f);

    fixture_init(&f, "listQuestions",
                 json_pack("{s:s, s:s}", "department", "cardiology", "cursor",
                           questions_cursor));
    assert_refused(&f, &newest, "another sort or other filters");
    fixture_cleanup(&f);

    fixture_init(&f, "listTopics",
                 json_pack("{s:s}", "cursor", "not.a-cursor"));
    assert_refused(&f, &topics, "is not a cursor this API issued");
    fixture_cleanup(&f);

    fixture_init(&f, "listTopics", json_pack("{s:s}", "cursor", topics_cursor));
    snprintf(f.secret, sizeof(f.secret), "another-secret-another-secret-xx");
    assert_refused(&f, &topics, "is not a cursor this API issued");
    fixture_cleanup(&f);
}

static void test_first_page_has_no_cursor(void **state)
{
    (void)state;
    struct fixture f;
    struct page pg;
    struct querybuf b;

    fixture_init(&f, "listTopics", json_pack("{s:i}", "limit", 5));
    assert_int_equal(page_open_or_reply(&f.r, &topics, &pg), REPLY_NONE);
    assert_int_equal(pg.after.nkeys, 0);
    qb_init(&b, "tl");
    qb_add(&b, "SELECT x FROM topics t WHERE true");
    page_keyset(&pg, &b);
    assert_string_equal(b.sql, "SELECT x FROM topics t WHERE true ORDER BY "
                               "t.name, t.slug LIMIT 6");
    assert_int_equal(b.nparams, 0);
    fixture_cleanup(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_previous_release_cursors_open),
        cmocka_unit_test(test_cursor_of_another_query_refused),
        cmocka_unit_test(test_first_page_has_no_cursor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
