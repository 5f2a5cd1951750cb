/* Unit tests for spec loading (YAML to operations) and the router. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "medqa/auth.h"
#include "medqa/base.h"
#include "medqa/router.h"
#include "medqa/spec.h"

#include <string.h>

static const char doc[] =
    "openapi: 3.1.0\n"
    "info: {title: t, version: '1'}\n"
    "paths:\n"
    "  /questions:\n"
    "    get:\n"
    "      operationId: listQuestions\n"
    "      parameters:\n"
    "        - {name: limit, in: query, schema: {type: integer}}\n"
    "        - {name: include, in: query, schema: {type: array, items: "
    "{type: string}}}\n"
    "      responses: {'200': {description: ok}, '429': {description: no}}\n"
    "    post:\n"
    "      operationId: createQuestion\n"
    "      security: [{bearerAuth: [app, editor]}]\n"
    "      requestBody:\n"
    "        required: true\n"
    "        content: {application/json: {schema: {type: object}}}\n"
    "      responses: {'201': {description: ok}}\n"
    "  /questions/{id}:\n"
    "    parameters:\n"
    "      - {name: id, in: path, required: true, schema: {type: string}}\n"
    "    get:\n"
    "      operationId: getQuestion\n"
    "      responses: {'200': {description: ok}}\n"
    "    delete:\n"
    "      operationId: deleteQuestion\n"
    "      responses: {'204': {description: ok}}\n"
    "  /questions/search:\n"
    "    get:\n"
    "      operationId: searchQuestions\n"
    "      responses: {'200': {description: ok}}\n"
    "  /:\n"
    "    get:\n"
    "      operationId: root\n"
    "      responses: {'200': {description: ok}}\n"
    "security: [{}, {bearerAuth: []}]\n";

static int setup(void **state)
{
    char err[256];
    struct spec *s = NULL;
    int rc = spec_load(doc, strlen(doc), &s, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "%s\n", err);
    *state = s;
    return rc;
}

static int teardown(void **state)
{
    spec_free(*state);
    return 0;
}

static void test_operations_built(void **state)
{
    struct spec *s = *state;
    assert_int_equal(s->nops, 6);
    struct spec_operation *op = spec_find_operation(s, "listQuestions");
    assert_non_null(op);
    assert_int_equal(op->nparams, 2);
    assert_int_equal(op->params[0].kind, SPEC_KIND_INTEGER);
    assert_int_equal(op->params[1].kind, SPEC_KIND_ARRAY);
    assert_int_equal(op->roles, 0);
    /* Derived once at load: a declared 429 makes it rate limited. */
    assert_true(op->rate_limited);
    assert_false(spec_find_operation(s, "root")->rate_limited);
    op = spec_find_operation(s, "createQuestion");
    assert_non_null(op->body_schema);
    assert_true(op->body_required);
    assert_int_equal(op->roles, AUTH_ROLE_APP | AUTH_ROLE_EDITOR);
    op = spec_find_operation(s, "getQuestion");
    assert_int_equal(op->nparams, 1);
    assert_int_equal(op->params[0].in, SPEC_IN_PATH);
}

static void test_match_and_params(void **state)
{
    struct route_match m;
    assert_int_equal(router_match(*state, "GET", "/questions/abc", &m),
                     ROUTER_OK);
    assert_string_equal(m.op->operation_id, "getQuestion");
    assert_int_equal(m.nvalues, 1);
    assert_string_equal(m.names[0], "id");
    assert_string_equal(m.values[0], "abc");
    assert_int_equal(router_match(*state, "HEAD", "/questions", &m), ROUTER_OK);
    assert_string_equal(m.op->operation_id, "listQuestions");
    assert_int_equal(router_match(*state, "GET", "/", &m), ROUTER_OK);
    assert_string_equal(m.op->operation_id, "root");
}

static void test_literal_beats_param(void **state)
{
    struct route_match m;
    assert_int_equal(router_match(*state, "GET", "/questions/search", &m),
                     ROUTER_OK);
    assert_string_equal(m.op->operation_id, "searchQuestions");
}

static void test_not_found_and_not_allowed(void **state)
{
    struct route_match m;
    assert_int_equal(router_match(*state, "GET", "/nope", &m),
                     ROUTER_NOT_FOUND);
    assert_int_equal(router_match(*state, "GET", "/questions/a/b", &m),
                     ROUTER_NOT_FOUND);
    assert_int_equal(router_match(*state, "GET", "//questions", &m),
                     ROUTER_NOT_FOUND);
    assert_int_equal(router_match(*state, "PUT", "/questions/abc", &m),
                     ROUTER_METHOD_NOT_ALLOWED);
    assert_non_null(strstr(m.allow, "GET"));
    assert_non_null(strstr(m.allow, "DELETE"));
    assert_non_null(strstr(m.allow, "HEAD"));
    assert_null(strstr(m.allow, "POST"));
    assert_int_equal(router_match(*state, "GET", "questions", &m),
                     ROUTER_BAD_PATH);
    char longpath[ROUTER_MAX_PATH + 10];
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    assert_int_equal(router_match(*state, "GET", longpath, &m),
                     ROUTER_BAD_PATH);
}

/* A trailing slash never reaches the resource without it: the router
 * says so, and the server answers with a redirect. */
static void test_trailing_slash(void **state)
{
    static const struct {
        const char *method;
        const char *path;
        int rc;
    } cases[] = {
        {"GET", "/questions/", ROUTER_TRAILING_SLASH},
        {"POST", "/questions/", ROUTER_TRAILING_SLASH},
        {"GET", "/questions/abc/", ROUTER_TRAILING_SLASH},
        {"GET", "/questions/search/", ROUTER_TRAILING_SLASH},
        {"GET", "/nope/", ROUTER_NOT_FOUND},
        {"GET", "/questions//", ROUTER_NOT_FOUND},
        {"GET", "/", ROUTER_OK}, /* the root, not a trailing slash */
    };
    struct route_match m;

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        assert_int_equal(
            router_match(*state, cases[i].method, cases[i].path, &m),
            cases[i].rc);
        if (cases[i].rc != ROUTER_OK)
            assert_null(m.op);
    }
}

static void test_target_control(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "/questions/%00",         "/questions/%01", "/ques%1Ftions",
        "/ques%1ftions",          "/questions%7F",  "/questions%7f",
        "/questions/a%0Ab",       "/a\x01b",        "/a\x7f",
        "/questions/%00?limit=1",
    };
    static const char *const good[] = {
        "/questions",
        "/questions/%20",
        "/questions/%2500",
        "/questions/%7E",
        "/questions/%80",
        "/questions/%",
        "/questions/%0",
        "/questions/%G1",
        "/questions?q=%00",
        "/questions?q=\x01",
        "/",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        assert_int_equal(router_target_has_control(bad[i]), 1);
    for (size_t i = 0; i < ARRAY_SIZE(good); i++)
        assert_int_equal(router_target_has_control(good[i]), 0);
}

static void test_yaml_scalars(void **state)
{
    (void)state;
    const char y[] = "a: 1\nb: 1.5\nc: true\nd: ~\ne: '1'\nf: \"x\"\n"
                     "g: [1, two]\nh: -3\n";
    char err[128];
    json_t *v = NULL;
    assert_int_equal(spec_yaml_to_json(y, strlen(y), &v, err, sizeof(err)), 0);
    assert_true(json_is_integer(json_object_get(v, "a")));
    assert_true(json_is_real(json_object_get(v, "b")));
    assert_true(json_is_true(json_object_get(v, "c")));
    assert_true(json_is_null(json_object_get(v, "d")));
    assert_string_equal(json_string_value(json_object_get(v, "e")), "1");
    assert_string_equal(json_string_value(json_object_get(v, "f")), "x");
    assert_int_equal(json_array_size(json_object_get(v, "g")), 2);
    assert_int_equal(json_integer_value(json_object_get(v, "h")), -3);
    json_decref(v);
}

static void test_yaml_errors(void **state)
{
    (void)state;
    const char *bad[] = {"a: [1, 2", "a: *nowhere\n", "a: 1\na: 2\n", ""};
    char err[128];
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        json_t *v = NULL;
        assert_int_equal(
            spec_yaml_to_json(bad[i], strlen(bad[i]), &v, err, sizeof(err)),
            -1);
        assert_null(v);
        assert_true(strlen(err) > 0);
    }
}

static void test_yaml_aliases(void **state)
{
    (void)state;
    const char y[] = "a: &x {k: [1, 2]}\nb: *x\nc: &s hello\nd: *s\n";
    char err[128];
    json_t *v = NULL;
    assert_int_equal(spec_yaml_to_json(y, strlen(y), &v, err, sizeof(err)), 0);
    assert_true(json_equal(json_object_get(v, "a"), json_object_get(v, "b")));
    assert_string_equal(json_string_value(json_object_get(v, "d")), "hello");
    json_decref(v);
}

static void test_spec_errors(void **state)
{
    (void)state;
    const char *bad[] = {
        "openapi: 3.1.0\npaths:\n  /a:\n    get:\n      responses: {}\n",
        "openapi: 3.1.0\npaths:\n  /a/{id}:\n    get:\n      operationId: "
        "x\n",
        "openapi: 3.1.0\npaths:\n  /a:\n    get: {operationId: x}\n  /b:\n"
        "    get: {operationId: x}\n",
        "notopenapi: 1\n",
    };
    char err[256];
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct spec *s = NULL;
        assert_int_equal(
            spec_load(bad[i], strlen(bad[i]), &s, err, sizeof(err)), -1);
        assert_null(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_operations_built),
        cmocka_unit_test(test_match_and_params),
        cmocka_unit_test(test_literal_beats_param),
        cmocka_unit_test(test_not_found_and_not_allowed),
        cmocka_unit_test(test_yaml_scalars),
        cmocka_unit_test(test_yaml_errors),
        cmocka_unit_test(test_trailing_slash),
        cmocka_unit_test(test_target_control),
        cmocka_unit_test(test_yaml_aliases),
        cmocka_unit_test(test_spec_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
