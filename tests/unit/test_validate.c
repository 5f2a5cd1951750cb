/* Unit tests for internal/validate: every supported keyword with a passing
 * and a failing case, pointer building and escaping, $ref handling, the
 * depth guard and the error cap. */
/* cmocka.h relies on these being included first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include "medqa/validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A small OpenAPI-like document; the schemas under components are what the
 * $ref tests point at. */
static const char doc_text[] =
    "{"
    " \"openapi\": \"3.1.0\","
    " \"info\": {\"title\": \"t\", \"version\": \"1\"},"
    " \"paths\": {},"
    " \"components\": {\"schemas\": {"
    "  \"Asker\": {"
    "   \"type\": \"object\","
    "   \"required\": [\"age_band\"],"
    "   \"additionalProperties\": false,"
    "   \"properties\": {"
    "    \"age_band\": {\"type\": \"string\","
    "                   \"enum\": [\"0-9\", \"10-19\", \"20-29\"]},"
    "    \"sex\": {\"type\": [\"string\", \"null\"],"
    "              \"enum\": [\"female\", \"male\", null]}"
    "   }"
    "  },"
    "  \"Question\": {"
    "   \"type\": \"object\","
    "   \"description\": \"A question.\","
    "   \"required\": [\"title\", \"body\"],"
    "   \"additionalProperties\": false,"
    "   \"properties\": {"
    "    \"title\": {\"type\": \"string\", \"minLength\": 3,"
    "                \"maxLength\": 200},"
    "    \"body\": {\"type\": \"string\"},"
    "    \"topics\": {\"type\": \"array\", \"maxItems\": 5,"
    "                 \"uniqueItems\": true,"
    "                 \"items\": {\"type\": \"string\","
    "                             \"pattern\": \"^[a-z-]+$\"}},"
    "    \"asker\": {\"$ref\": \"#/components/schemas/Asker\"}"
    "   }"
    "  },"
    "  \"Code\": {\"type\": \"string\", \"pattern\": \"^[A-Z]{3}-\\\\d{2}$\"},"
    "  \"a/b~c\": {\"type\": \"integer\"},"
    "  \"Loop\": {\"$ref\": \"#/components/schemas/Loop\"},"
    "  \"PingA\": {\"$ref\": \"#/components/schemas/PingB\"},"
    "  \"PingB\": {\"allOf\": [{\"$ref\": \"#/components/schemas/PingA\"}]},"
    "  \"Tree\": {\"type\": \"object\","
    "            \"properties\": {"
    "             \"child\": {\"$ref\": \"#/components/schemas/Tree\"}}},"
    "  \"Id\": {\"type\": \"string\", \"format\": \"uuid\"}"
    " }}"
    "}";

struct fixture {
    json_t *doc;
    struct validator *v;
};

static int group_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char errbuf[256];
    json_error_t jerr;

    if (f == NULL)
        return -1;
    f->doc = json_loads(doc_text, 0, &jerr);
    if (f->doc == NULL) {
        fprintf(stderr, "doc: %s (line %d col %d)\n", jerr.text, jerr.line,
                jerr.column);
        free(f);
        return -1;
    }
    if (validate_new(f->doc, &f->v, errbuf, sizeof(errbuf)) != 0) {
        fprintf(stderr, "validate_new: %s\n", errbuf);
        json_decref(f->doc);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int group_teardown(void **state)
{
    struct fixture *f = *state;
    validate_free(f->v);
    json_decref(f->doc);
    free(f);
    return 0;
}

static json_t *load(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (j == NULL)
        fail_msg("bad test JSON %s: %s", text, jerr.text);
    return j;
}

/* Validates instance text against schema text and returns the errors
 * array (owned by the caller); *rc gets validate_json()'s result. */
static json_t *run(void **state, const char *schema, const char *inst,
                   const char *prefix, int *rc)
{
    struct fixture *f = *state;
    json_t *s = load(schema);
    json_t *i = load(inst);
    json_t *errors = json_array();

    *rc = validate_json(f->v, s, i, prefix, errors);
    json_decref(s);
    json_decref(i);
    return errors;
}

static const char *pointer_at(const json_t *errors, size_t i)
{
    return json_string_value(
        json_object_get(json_array_get(errors, i), "pointer"));
}

static const char *detail_at(const json_t *errors, size_t i)
{
    return json_string_value(
        json_object_get(json_array_get(errors, i), "detail"));
}

/* Expects exactly `n` errors; when n > 0 the first is at `pointer` and,
 * when `detail` is not NULL, says exactly that. */
static void expect(void **state, const char *schema, const char *inst, int n,
                   const char *pointer, const char *detail)
{
    int rc;
    json_t *errors = run(state, schema, inst, "", &rc);

    if (rc != n) {
        char *dump = json_dumps(errors, JSON_COMPACT);
        fprintf(stderr, "schema %s instance %s: got %d errors %s\n", schema,
                inst, rc, dump ? dump : "");
        free(dump);
    }
    assert_int_equal(rc, n);
    assert_int_equal(json_array_size(errors), (size_t)n);
    if (n > 0) {
        assert_string_equal(pointer_at(errors, 0), pointer);
        if (detail != NULL)
            assert_string_equal(detail_at(errors, 0), detail);
    }
    json_decref(errors);
}

static void expect_ok(void **state, const char *schema, const char *inst)
{
    expect(state, schema, inst, 0, NULL, NULL);
}

/* ---- type ---- */

static void test_type_string(void **state)
{
    expect_ok(state, "{\"type\":\"string\"}", "\"x\"");
    expect(state, "{\"type\":\"string\"}", "5", 1, "", "must be a string");
}

static void test_type_integer(void **state)
{
    const char *s = "{\"type\":\"integer\"}";
    expect_ok(state, s, "3");
    expect_ok(state, s, "3.0");
    expect_ok(state, s, "-40");
    expect(state, s, "3.5", 1, "", "must be an integer");
    expect(state, s, "\"3\"", 1, "", "must be an integer");
}

static void test_type_number(void **state)
{
    const char *s = "{\"type\":\"number\"}";
    expect_ok(state, s, "3");
    expect_ok(state, s, "3.5");
    expect(state, s, "true", 1, "", "must be a number");
}

static void test_type_boolean_null(void **state)
{
    expect_ok(state, "{\"type\":\"boolean\"}", "false");
    expect(state, "{\"type\":\"boolean\"}", "0", 1, "", "must be a boolean");
    expect_ok(state, "{\"type\":\"null\"}", "null");
    expect(state, "{\"type\":\"null\"}", "\"\"", 1, "", "must be null");
}

static void test_type_object_array(void **state)
{
    expect_ok(state, "{\"type\":\"object\"}", "{}");
    expect(state, "{\"type\":\"object\"}", "[]", 1, "", "must be an object");
    expect_ok(state, "{\"type\":\"array\"}", "[]");
    expect(state, "{\"type\":\"array\"}", "{}", 1, "", "must be an array");
}

static void test_type_array_with_null(void **state)
{
    const char *s = "{\"type\":[\"string\",\"null\"]}";
    expect_ok(state, s, "null");
    expect_ok(state, s, "\"x\"");
    expect(state, s, "1", 1, "", "must be a string or null");
    expect(state, "{\"type\":[\"object\",\"array\",\"null\"]}", "1", 1, "",
           "must be an object, an array or null");
}

static void test_type_mismatch_suppresses_other_keywords(void **state)
{
    /* A number against a string schema with an enum: one error, not two. */
    expect(state, "{\"type\":\"string\",\"enum\":[\"a\"],\"minLength\":3}", "5",
           1, "", "must be a string");
}

/* ---- objects ---- */

static void test_properties(void **state)
{
    const char *s = "{\"properties\":{\"n\":{\"type\":\"integer\"},"
                    "\"o\":{\"properties\":{\"deep\":{\"type\":\"string\"}}}}}";
    expect_ok(state, s, "{\"n\":1,\"o\":{\"deep\":\"x\"},\"other\":true}");
    expect(state, s, "{\"n\":\"1\"}", 1, "/n", "must be an integer");
    expect(state, s, "{\"o\":{\"deep\":1}}", 1, "/o/deep", "must be a string");
}

static void test_required(void **state)
{
    const char *s = "{\"type\":\"object\",\"required\":[\"title\",\"body\"]}";
    expect_ok(state, s, "{\"title\":\"t\",\"body\":\"b\"}");
    expect(state, s, "{\"body\":\"b\"}", 1, "/title", "is required");

    int rc;
    json_t *errors = run(state, s, "{}", "", &rc);
    assert_int_equal(rc, 2);
    assert_string_equal(pointer_at(errors, 0), "/title");
    assert_string_equal(pointer_at(errors, 1), "/body");
    json_decref(errors);
}

static void test_additional_properties_false(void **state)
{
    const char *s =
        "{\"properties\":{\"a\":{}},\"additionalProperties\":false}";
    expect_ok(state, s, "{\"a\":1}");
    expect(state, s, "{\"a\":1,\"extra\":2}", 1, "/extra", "is not allowed");
}

static void test_additional_properties_schema(void **state)
{
    const char *s = "{\"properties\":{\"a\":{}},"
                    "\"additionalProperties\":{\"type\":\"integer\"}}";
    expect_ok(state, s, "{\"a\":\"any\",\"x\":1,\"y\":2}");
    expect(state, s, "{\"a\":\"any\",\"x\":\"no\"}", 1, "/x",
           "must be an integer");
}

static void test_additional_properties_true(void **state)
{
    expect_ok(state, "{\"properties\":{},\"additionalProperties\":true}",
              "{\"anything\":[1,2]}");
}

static void test_min_max_properties(void **state)
{
    const char *s = "{\"minProperties\":1,\"maxProperties\":2}";
    expect_ok(state, s, "{\"a\":1}");
    expect(state, s, "{}", 1, "", "must have at least 1 property");
    expect(state, s, "{\"a\":1,\"b\":2,\"c\":3}", 1, "",
           "must have at most 2 properties");
}

/* ---- enum and const ---- */

static void test_enum(void **state)
{
    const char *s = "{\"enum\":[\"0-9\",\"10-19\",\"20-29\"]}";
    expect_ok(state, s, "\"10-19\"");
    expect(state, s, "\"30-39\"", 1, "", "must be one of: 0-9, 10-19, 20-29");
    expect(state, "{\"enum\":[1,\"a\",null]}", "2", 1, "",
           "must be one of: 1, a, null");
}

static void test_enum_numbers_compare_by_value(void **state)
{
    expect_ok(state, "{\"enum\":[1,2]}", "1.0");
    expect_ok(state, "{\"enum\":[[1,{\"a\":2}]]}", "[1.0,{\"a\":2}]");
    expect(state, "{\"enum\":[[1,{\"a\":2}]]}", "[1,{\"a\":3}]", 1, "", NULL);
}

static void test_const(void **state)
{
    expect_ok(state, "{\"const\":\"yes\"}", "\"yes\"");
    expect(state, "{\"const\":\"yes\"}", "\"no\"", 1, "",
           "must be equal to yes");
    expect_ok(state, "{\"const\":{\"a\":[1]}}", "{\"a\":[1]}");
    expect(state, "{\"const\":{\"a\":[1]}}", "{\"a\":[2]}", 1, "",
           "must be equal to the expected value");
}

/* ---- strings ---- */

static void test_min_length(void **state)
{
    expect_ok(state, "{\"minLength\":3}", "\"abc\"");
    expect(state, "{\"minLength\":3}", "\"ab\"", 1, "",
           "must be at least 3 characters");
}

static void test_max_length(void **state)
{
    expect_ok(state, "{\"maxLength\":200}", "\"short\"");
    expect(state, "{\"maxLength\":2}", "\"abc\"", 1, "",
           "must be at most 2 characters");
    expect(state, "{\"maxLength\":1}", "\"ab\"", 1, "",
           "must be at most 1 character");
}

static void test_length_counts_code_points(void **state)
{
    /* "頭痛頭痛" is 4 code points but 12 bytes. */
    const char *inst = "\"\xE9\xA0\xAD\xE7\x97\x9B\xE9\xA0\xAD\xE7\x97\x9B\"";
    expect_ok(state, "{\"maxLength\":4}", inst);
    expect_ok(state, "{\"minLength\":4}", inst);
    expect(state, "{\"maxLength\":3}", inst, 1, "", NULL);
    expect(state, "{\"minLength\":5}", inst, 1, "", NULL);
    /* An emoji outside the BMP is one code point as well. */
    expect_ok(state, "{\"maxLength\":1}", "\"\\ud83d\\ude00\"");
}

static void test_pattern(void **state)
{
    const char *s = "{\"pattern\":\"^[a-z]+$\"}";
    expect_ok(state, s, "\"abc\"");
    expect(state, s, "\"ABC\"", 1, "", "must match the pattern ^[a-z]+$");
}

static void test_pattern_is_not_anchored(void **state)
{
    expect_ok(state, "{\"pattern\":\"b\"}", "\"abc\"");
    expect(state, "{\"pattern\":\"z\"}", "\"abc\"", 1, "", NULL);
}

static void test_pattern_is_utf8_aware(void **state)
{
    /* With PCRE2_UTF "." is one code point, so two kanji are two dots. */
    expect_ok(state, "{\"pattern\":\"^..$\"}", "\"\xE9\xA0\xAD\xE7\x97\x9B\"");
}

static void test_pattern_from_document(void **state)
{
    const char *s = "{\"$ref\":\"#/components/schemas/Code\"}";
    expect_ok(state, s, "\"ABC-12\"");
    expect(state, s, "\"abc-12\"", 1, "", NULL);
}

static void test_pattern_ignores_non_strings(void **state)
{
    expect_ok(state, "{\"pattern\":\"^a$\"}", "42");
}

/* ---- formats ---- */

static void test_format_uuid(void **state)
{
    const char *s = "{\"type\":\"string\",\"format\":\"uuid\"}";
    expect_ok(state, s, "\"123e4567-e89b-12d3-a456-426614174000\"");
    expect_ok(state, s, "\"123E4567-E89B-12D3-A456-426614174000\"");
    expect(state, s, "\"123e4567e89b12d3a456426614174000\"", 1, "",
           "must be a valid uuid");
    expect(state, s, "\"123e4567-e89b-12d3-a456-42661417400g\"", 1, "", NULL);
    expect(state, s, "\"123e4567-e89b-12d3-a456-4266141740001\"", 1, "", NULL);
}

static void test_format_date_time(void **state)
{
    const char *s = "{\"format\":\"date-time\"}";
    expect_ok(state, s, "\"2016-09-05T00:00:00Z\"");
    expect_ok(state, s, "\"2016-09-05T00:00:00.123+08:00\"");
    expect_ok(state, s, "\"2016-12-31t23:59:60z\"");
    expect_ok(state, s, "\"2024-02-29T12:30:00-05:30\"");
    expect(state, s, "\"2016-09-05T00:00:00\"", 1, "",
           "must be a valid date-time");
    expect(state, s, "\"2016-13-05T00:00:00Z\"", 1, "", NULL);
    expect(state, s, "\"2023-02-29T00:00:00Z\"", 1, "", NULL);
    expect(state, s, "\"2016-09-05T24:00:00Z\"", 1, "", NULL);
    expect(state, s, "\"2016-09-05T00:60:00Z\"", 1, "", NULL);
    expect(state, s, "\"2016-09-05T00:00:00.Z\"", 1, "", NULL);
    expect(state, s, "\"2016-09-05 00:00:00Z\"", 1, "", NULL);
    expect(state, s, "\"2016-09-05T00:00:00+8:00\"", 1, "", NULL);
}

static void test_format_date(void **state)
{
    const char *s = "{\"format\":\"date\"}";
    expect_ok(state, s, "\"2024-02-29\"");
    expect_ok(state, s, "\"2000-02-29\"");
    expect(state, s, "\"1900-02-29\"", 1, "", "must be a valid date");
    expect(state, s, "\"2024-04-31\"", 1, "", NULL);
    expect(state, s, "\"2024-4-01\"", 1, "", NULL);
    expect(state, s, "\"2024-04-01T00:00:00Z\"", 1, "", NULL);
}

static void test_format_email(void **state)
{
    const char *s = "{\"format\":\"email\"}";
    expect_ok(state, s, "\"a.b+c@example.co.jp\"");
    expect(state, s, "\"no-at.example.com\"", 1, "", "must be a valid email");
    expect(state, s, "\"@example.com\"", 1, "", NULL);
    expect(state, s, "\"a@b@example.com\"", 1, "", NULL);
    expect(state, s, "\"a@localhost\"", 1, "", NULL);
    expect(state, s, "\"a b@example.com\"", 1, "", NULL);
    expect(state, s, "\"a@example..com\"", 1, "", NULL);

    /* An address of 255 characters is one over the limit of 254. */
    char inst[300];
    for (size_t local = 242; local <= 243; local++) {
        inst[0] = '"';
        memset(inst + 1, 'a', local);
        snprintf(inst + 1 + local, sizeof(inst) - 1 - local, "@example.com\"");
        expect(state, s, inst, local == 242 ? 0 : 1, "", NULL);
    }
}

static void test_format_uri(void **state)
{
    const char *s = "{\"format\":\"uri\"}";
    expect_ok(state, s, "\"https://example.com/a?b=c\"");
    expect_ok(state, s, "\"urn:isbn:0451450523\"");
    expect_ok(state, s, "\"mailto:a@example.com\"");
    expect(state, s, "\"example.com/path\"", 1, "", "must be a valid uri");
    expect(state, s, "\"1http://x\"", 1, "", NULL);
    expect(state, s, "\"http://exa mple.com\"", 1, "", NULL);
    expect(state, s, "\"http:\"", 1, "", NULL);
}

static void test_format_unknown_or_non_string_ignored(void **state)
{
    expect_ok(state, "{\"format\":\"hostname-ish\"}", "\"!!\"");
    expect_ok(state, "{\"format\":\"uuid\"}", "42");
}

/* ---- numbers ---- */

static void test_minimum_maximum(void **state)
{
    const char *s = "{\"minimum\":1,\"maximum\":100}";
    expect_ok(state, s, "1");
    expect_ok(state, s, "100");
    expect_ok(state, s, "50.5");
    expect(state, s, "0", 1, "", "must be at least 1");
    expect(state, s, "100.5", 1, "", "must be at most 100");
}

static void test_exclusive_bounds(void **state)
{
    const char *s = "{\"exclusiveMinimum\":0,\"exclusiveMaximum\":1.5}";
    expect_ok(state, s, "0.5");
    expect(state, s, "0", 1, "", "must be greater than 0");
    expect(state, s, "1.5", 1, "", "must be less than 1.5");
}

static void test_exclusive_bounds_openapi30_style(void **state)
{
    const char *s = "{\"minimum\":0,\"exclusiveMinimum\":true}";
    expect_ok(state, s, "1");
    expect(state, s, "0", 1, "", "must be greater than 0");
}

static void test_multiple_of(void **state)
{
    expect_ok(state, "{\"multipleOf\":5}", "15");
    expect(state, "{\"multipleOf\":5}", "16", 1, "", "must be a multiple of 5");
    expect_ok(state, "{\"multipleOf\":0.1}", "0.3");
    expect_ok(state, "{\"multipleOf\":0.01}", "19.99");
    expect(state, "{\"multipleOf\":0.5}", "1.25", 1, "",
           "must be a multiple of 0.5");
    expect_ok(state, "{\"multipleOf\":2}", "4.0");
}

/* ---- arrays ---- */

static void test_items_and_nested_pointer(void **state)
{
    const char *s = "{\"properties\":{\"topics\":{\"type\":\"array\","
                    "\"items\":{\"type\":\"string\"}}}}";
    expect_ok(state, s, "{\"topics\":[\"a\",\"b\"]}");
    expect(state, s, "{\"topics\":[\"a\",\"b\",3]}", 1, "/topics/2",
           "must be a string");
}

static void test_arrays_of_arrays(void **state)
{
    const char *s = "{\"properties\":{\"m\":{\"items\":"
                    "{\"items\":{\"type\":\"integer\"}}}}}";
    expect(state, s, "{\"m\":[[1,2],[3,\"x\"]]}", 1, "/m/1/1", NULL);
}

static void test_min_max_items(void **state)
{
    const char *s = "{\"minItems\":1,\"maxItems\":2}";
    expect_ok(state, s, "[1]");
    expect(state, s, "[]", 1, "", "must have at least 1 item");
    expect(state, s, "[1,2,3]", 1, "", "must have at most 2 items");
}

static void test_unique_items(void **state)
{
    const char *s = "{\"uniqueItems\":true}";
    expect_ok(state, s, "[1,2,\"1\",{\"a\":1},{\"a\":2}]");
    expect(state, s, "[{\"a\":1},{\"a\":1}]", 1, "",
           "must not contain duplicate items");
    expect(state, s, "[1,1.0]", 1, "", NULL);
    expect_ok(state, "{\"uniqueItems\":false}", "[1,1]");
}

/* ---- $ref ---- */

static void test_ref_into_components(void **state)
{
    const char *s = "{\"$ref\":\"#/components/schemas/Question\"}";
    expect_ok(state, s,
              "{\"title\":\"Headache\",\"body\":\"b\","
              "\"topics\":[\"neuro\",\"pain\"],"
              "\"asker\":{\"age_band\":\"20-29\",\"sex\":null}}");
    expect(state, s,
           "{\"title\":\"Headache\",\"body\":\"b\","
           "\"asker\":{\"age_band\":\"99\"}}",
           1, "/asker/age_band", "must be one of: 0-9, 10-19, 20-29");
    expect(state, s, "{\"title\":\"Headache\",\"body\":\"b\",\"asker\":{}}", 1,
           "/asker/age_band", "is required");
    expect(state, s,
           "{\"title\":\"Headache\",\"body\":\"b\","
           "\"topics\":[\"ok\",\"ok-too\",\"Not Ok\"]}",
           1, "/topics/2", NULL);
}

static void test_ref_collects_several_errors(void **state)
{
    int rc;
    json_t *errors = run(state, "{\"$ref\":\"#/components/schemas/Question\"}",
                         "{\"title\":\"Hi\",\"extra\":1}", "", &rc);
    assert_int_equal(rc, 3);
    /* Order: required, then members in the instance's order. */
    assert_string_equal(pointer_at(errors, 0), "/body");
    assert_string_equal(pointer_at(errors, 1), "/title");
    assert_string_equal(detail_at(errors, 1), "must be at least 3 characters");
    assert_string_equal(pointer_at(errors, 2), "/extra");
    json_decref(errors);
}

static void test_ref_siblings_apply(void **state)
{
    const char *s = "{\"$ref\":\"#/components/schemas/Code\",\"maxLength\":6,"
                    "\"description\":\"ignored\"}";
    expect_ok(state, s, "\"ABC-12\"");
    expect(state,
           "{\"$ref\":\"#/components/schemas/Code\",\"enum\":"
           "[\"XYZ-99\"]}",
           "\"ABC-12\"", 1, "", "must be one of: XYZ-99");
}

static void test_ref_escaped_pointer(void **state)
{
    const char *s = "{\"$ref\":\"#/components/schemas/a~1b~0c\"}";
    expect_ok(state, s, "7");
    expect(state, s, "\"7\"", 1, "", "must be an integer");
    /* The same name percent-encoded, as a URI fragment may carry it. */
    expect_ok(state, "{\"$ref\":\"#/components/schemas/a~1b%7E0c\"}", "7");
}

static void test_ref_unresolvable_is_negative(void **state)
{
    struct fixture *f = *state;
    json_t *errors = json_array();
    json_t *s = load("{\"properties\":{\"a\":{\"type\":\"string\"},"
                     "\"b\":{\"$ref\":\"#/components/schemas/Nope\"}}}");
    json_t *i = load("{\"a\":1,\"b\":2}");

    json_array_append_new(errors, json_string("earlier"));
    assert_true(validate_json(f->v, s, i, "", errors) < 0);
    /* The caller's array is left as it was. */
    assert_int_equal(json_array_size(errors), 1);
    json_decref(s);
    s = load("{\"$ref\":\"other.yaml#/components/schemas/Asker\"}");
    assert_true(validate_json(f->v, s, i, "", errors) < 0);
    json_decref(s);
    json_decref(i);
    json_decref(errors);
}

static void test_ref_cycle_does_not_crash(void **state)
{
    int rc;
    json_t *errors =
        run(state, "{\"$ref\":\"#/components/schemas/Loop\"}", "{}", "", &rc);
    assert_true(rc < 0);
    json_decref(errors);
    errors =
        run(state, "{\"$ref\":\"#/components/schemas/PingA\"}", "1", "", &rc);
    assert_true(rc < 0);
    json_decref(errors);
}

static void test_deep_recursion_is_an_error(void **state)
{
    struct fixture *f = *state;
    json_t *s = load("{\"$ref\":\"#/components/schemas/Tree\"}");
    json_t *inst = json_object();
    json_t *cur = inst;

    /* 200 levels of {"child": {...}}: a legal instance of a recursive
     * schema, too deep to check without risking the stack. */
    for (int i = 0; i < 200; i++) {
        json_t *c = json_object();
        json_object_set_new(cur, "child", c);
        cur = c;
    }
    json_t *errors = json_array();
    int rc = validate_json(f->v, s, inst, "", errors);
    assert_int_equal(rc, 1);
    assert_string_equal(detail_at(errors, 0),
                        "is nested too deeply to validate");
    assert_int_equal(strncmp(pointer_at(errors, 0), "/child/child/", 13), 0);
    json_decref(errors);

    /* A shallow tree is fine. */
    errors = json_array();
    json_t *small = load("{\"child\":{\"child\":{}}}");
    assert_int_equal(validate_json(f->v, s, small, "", errors), 0);
    json_decref(small);
    json_decref(errors);
    json_decref(inst);
    json_decref(s);
}

static void test_resolve_ref(void **state)
{
    struct fixture *f = *state;
    const json_t *q = validate_resolve_ref(f->v, "#/components/schemas/Code");
    assert_non_null(q);
    assert_string_equal(json_string_value(json_object_get(q, "type")),
                        "string");
    assert_ptr_equal(validate_resolve_ref(f->v, "#"), f->doc);
    assert_non_null(
        validate_resolve_ref(f->v, "#/components/schemas/Question/required/1"));
    assert_null(validate_resolve_ref(f->v, "#/components/schemas/Nope"));
    assert_null(validate_resolve_ref(f->v, "#/components/schemas/a~2b"));
    assert_null(validate_resolve_ref(
        f->v, "#/components/schemas/Question/required/01"));
    assert_null(validate_resolve_ref(f->v, "other.yaml#/x"));
}

/* ---- combinators ---- */

static void test_all_of(void **state)
{
    const char *s = "{\"allOf\":[{\"type\":\"string\"},{\"minLength\":2},"
                    "{\"maxLength\":3}]}";
    expect_ok(state, s, "\"ab\"");
    expect(state, s, "\"a\"", 1, "", "must be at least 2 characters");
    expect(state, "{\"allOf\":[{\"minimum\":5},{\"multipleOf\":2}]}", "3", 2,
           "", "must be at least 5");
}

static void test_any_of(void **state)
{
    const char *s = "{\"anyOf\":[{\"type\":\"integer\"},"
                    "{\"type\":\"string\",\"format\":\"uuid\"}]}";
    expect_ok(state, s, "4");
    expect_ok(state, s, "\"123e4567-e89b-12d3-a456-426614174000\"");
    expect(state, s, "\"nope\"", 1, "",
           "must match at least one of the allowed shapes");
}

static void test_any_of_nullable_reports_the_real_branch(void **state)
{
    const char *s = "{\"properties\":{\"asker\":{\"anyOf\":["
                    "{\"$ref\":\"#/components/schemas/Asker\"},"
                    "{\"type\":\"null\"}]}}}";
    expect_ok(state, s, "{\"asker\":null}");
    expect_ok(state, s, "{\"asker\":{\"age_band\":\"0-9\"}}");
    expect(state, s, "{\"asker\":{\"age_band\":\"0-9\",\"x\":1}}", 1,
           "/asker/x", "is not allowed");
}

static void test_one_of(void **state)
{
    const char *s = "{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":10}]}";
    expect_ok(state, s, "3");    /* integer only */
    expect_ok(state, s, "10.5"); /* minimum only */
    expect(state, s, "12", 1, "",
           "must match exactly one of the allowed shapes"); /* both */
    expect(state, "{\"oneOf\":[{\"type\":\"integer\"},{\"type\":\"boolean\"}]}",
           "\"s\"", 1, "", "must match exactly one of the allowed shapes");
}

static void test_one_of_nullable(void **state)
{
    const char *s = "{\"oneOf\":[{\"type\":\"null\"},"
                    "{\"type\":\"string\",\"maxLength\":2}]}";
    expect_ok(state, s, "null");
    expect(state, s, "\"abc\"", 1, "", "must be at most 2 characters");
}

static void test_not(void **state)
{
    const char *s = "{\"not\":{\"type\":\"string\"}}";
    expect_ok(state, s, "1");
    expect(state, s, "\"s\"", 1, "", "must not match the disallowed shape");
}

/* ---- pointers and prefix ---- */

static void test_pointer_escaping(void **state)
{
    const char *s = "{\"additionalProperties\":false}";
    expect(state, s, "{\"a/b\":1}", 1, "/a~1b", "is not allowed");
    expect(state, s, "{\"m~n\":1}", 1, "/m~0n", NULL);
    expect(state, s, "{\"~/\":1}", 1, "/~0~1", NULL);
    expect(state, "{\"required\":[\"x/y\"]}", "{}", 1, "/x~1y", "is required");
    expect(state, "{\"properties\":{\"\":{\"type\":\"string\"}}}", "{\"\":1}",
           1, "/", NULL);
}

static void test_prefix(void **state)
{
    int rc;
    json_t *errors = run(state, "{\"type\":\"integer\",\"maximum\":100}", "500",
                         "/limit", &rc);
    assert_int_equal(rc, 1);
    assert_string_equal(pointer_at(errors, 0), "/limit");
    json_decref(errors);

    errors = run(state, "{\"items\":{\"type\":\"integer\"}}", "[1,\"x\"]",
                 "/ids", &rc);
    assert_int_equal(rc, 1);
    assert_string_equal(pointer_at(errors, 0), "/ids/1");
    json_decref(errors);
}

static void test_count_is_per_call(void **state)
{
    struct fixture *f = *state;
    json_t *errors = json_array();
    json_t *s = load("{\"type\":\"string\"}");
    json_t *i = load("1");

    assert_int_equal(validate_json(f->v, s, i, "/a", errors), 1);
    assert_int_equal(validate_json(f->v, s, i, "/b", errors), 1);
    assert_int_equal(json_array_size(errors), 2);
    assert_string_equal(pointer_at(errors, 1), "/b");
    json_decref(s);
    json_decref(i);
    json_decref(errors);
}

/* ---- limits, schema forms, misc ---- */

static void test_max_errors_cap(void **state)
{
    struct fixture *f = *state;
    json_t *s = load("{\"additionalProperties\":false}");
    json_t *inst = json_object();
    json_t *errors = json_array();
    char key[16];

    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        json_object_set_new(inst, key, json_true());
    }
    assert_int_equal(validate_json(f->v, s, inst, "", errors),
                     VALIDATE_MAX_ERRORS);
    assert_int_equal(json_array_size(errors), VALIDATE_MAX_ERRORS);
    json_decref(errors);
    json_decref(inst);
    json_decref(s);
}

static void test_boolean_schemas(void **state)
{
    expect_ok(state, "true", "{\"x\":1}");
    expect(state, "false", "1", 1, "", "is not allowed");
    expect(state, "{\"items\":false}", "[1]", 1, "/0", "is not allowed");
    expect_ok(state, "{\"items\":false}", "[]");
}

static void test_annotations_and_unknown_keywords_ignored(void **state)
{
    expect_ok(state,
              "{\"type\":\"string\",\"description\":\"d\",\"title\":\"t\","
              "\"example\":5,\"examples\":[1],\"default\":{},"
              "\"readOnly\":true,\"writeOnly\":false,\"deprecated\":true,"
              "\"$comment\":\"c\",\"xml\":{\"name\":\"x\"},"
              "\"externalDocs\":{\"url\":\"u\"},\"x-vendor\":[1],"
              "\"contentEncoding\":\"base64\"}",
              "\"s\"");
}

static void test_detail_never_echoes_value(void **state)
{
    int rc;
    json_t *errors =
        run(state,
            "{\"properties\":{\"pw\":{\"type\":\"string\",\"maxLength\":3,"
            "\"format\":\"email\",\"pattern\":\"^x\"}}}",
            "{\"pw\":\"hunter2-secret\"}", "", &rc);
    assert_int_equal(rc, 3);
    for (size_t i = 0; i < json_array_size(errors); i++) {
        assert_string_equal(pointer_at(errors, i), "/pw");
        assert_null(strstr(detail_at(errors, i), "hunter2"));
    }
    json_decref(errors);
}

static void test_long_enum_detail_is_cut(void **state)
{
    char schema[4096];
    size_t n = (size_t)snprintf(schema, sizeof(schema), "{\"enum\":[");
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(schema + n, sizeof(schema) - n,
                              "%s\"value-number-%d\"", i ? "," : "", i);
    snprintf(schema + n, sizeof(schema) - n, "]}");

    int rc;
    json_t *errors = run(state, schema, "\"x\"", "", &rc);
    assert_int_equal(rc, 1);
    const char *d = detail_at(errors, 0);
    assert_true(strlen(d) < 520);
    assert_non_null(strstr(d, "\xE2\x80\xA6"));
    json_decref(errors);
}

static void test_malformed_schema_is_negative(void **state)
{
    int rc;
    json_t *errors = run(state, "{\"type\":\"strnig\"}", "1", "", &rc);
    assert_true(rc < 0);
    json_decref(errors);
    errors = run(state, "{\"minLength\":\"3\"}", "\"a\"", "", &rc);
    assert_true(rc < 0);
    json_decref(errors);
}

static void test_invalid_pattern_fails_validate_new(void **state)
{
    (void)state;
    json_t *doc = load("{\"components\":{\"schemas\":{\"Bad\":"
                       "{\"type\":\"string\",\"pattern\":\"^(abc$\"}}}}");
    struct validator *v = NULL;
    char errbuf[256];

    assert_true(validate_new(doc, &v, errbuf, sizeof(errbuf)) < 0);
    assert_null(v);
    assert_non_null(strstr(errbuf, "^(abc$"));
    /* The caller's reference is untouched. */
    assert_int_equal(doc->refcount, 1);
    json_decref(doc);
}

static void test_pattern_outside_document(void **state)
{
    /* A schema built by the caller, not found in the document's table. */
    expect_ok(state, "{\"pattern\":\"^q+$\"}", "\"qqq\"");
    expect(state, "{\"pattern\":\"^q+$\"}", "\"qqx\"", 1, "", NULL);
    int rc;
    json_t *errors = run(state, "{\"pattern\":\"(\"}", "\"x\"", "", &rc);
    assert_true(rc < 0);
    json_decref(errors);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_string),
        cmocka_unit_test(test_type_integer),
        cmocka_unit_test(test_type_number),
        cmocka_unit_test(test_type_boolean_null),
        cmocka_unit_test(test_type_object_array),
        cmocka_unit_test(test_type_array_with_null),
        cmocka_unit_test(test_type_mismatch_suppresses_other_keywords),
        cmocka_unit_test(test_properties),
        cmocka_unit_test(test_required),
        cmocka_unit_test(test_additional_properties_false),
        cmocka_unit_test(test_additional_properties_schema),
        cmocka_unit_test(test_additional_properties_true),
        cmocka_unit_test(test_min_max_properties),
        cmocka_unit_test(test_enum),
        cmocka_unit_test(test_enum_numbers_compare_by_value),
        cmocka_unit_test(test_const),
        cmocka_unit_test(test_min_length),
        cmocka_unit_test(test_max_length),
        cmocka_unit_test(test_length_counts_code_points),
        cmocka_unit_test(test_pattern),
        cmocka_unit_test(test_pattern_is_not_anchored),
        cmocka_unit_test(test_pattern_is_utf8_aware),
        cmocka_unit_test(test_pattern_from_document),
        cmocka_unit_test(test_pattern_ignores_non_strings),
        cmocka_unit_test(test_format_uuid),
        cmocka_unit_test(test_format_date_time),
        cmocka_unit_test(test_format_date),
        cmocka_unit_test(test_format_email),
        cmocka_unit_test(test_format_uri),
        cmocka_unit_test(test_format_unknown_or_non_string_ignored),
        cmocka_unit_test(test_minimum_maximum),
        cmocka_unit_test(test_exclusive_bounds),
        cmocka_unit_test(test_exclusive_bounds_openapi30_style),
        cmocka_unit_test(test_multiple_of),
        cmocka_unit_test(test_items_and_nested_pointer),
        cmocka_unit_test(test_arrays_of_arrays),
        cmocka_unit_test(test_min_max_items),
        cmocka_unit_test(test_unique_items),
        cmocka_unit_test(test_ref_into_components),
        cmocka_unit_test(test_ref_collects_several_errors),
        cmocka_unit_test(test_ref_siblings_apply),
        cmocka_unit_test(test_ref_escaped_pointer),
        cmocka_unit_test(test_ref_unresolvable_is_negative),
        cmocka_unit_test(test_ref_cycle_does_not_crash),
        cmocka_unit_test(test_deep_recursion_is_an_error),
        cmocka_unit_test(test_resolve_ref),
        cmocka_unit_test(test_all_of),
        cmocka_unit_test(test_any_of),
        cmocka_unit_test(test_any_of_nullable_reports_the_real_branch),
        cmocka_unit_test(test_one_of),
        cmocka_unit_test(test_one_of_nullable),
        cmocka_unit_test(test_not),
        cmocka_unit_test(test_pointer_escaping),
        cmocka_unit_test(test_prefix),
        cmocka_unit_test(test_count_is_per_call),
        cmocka_unit_test(test_max_errors_cap),
        cmocka_unit_test(test_boolean_schemas),
        cmocka_unit_test(test_annotations_and_unknown_keywords_ignored),
        cmocka_unit_test(test_detail_never_echoes_value),
        cmocka_unit_test(test_long_enum_detail_is_cut),
        cmocka_unit_test(test_malformed_schema_is_negative),
        cmocka_unit_test(test_invalid_pattern_fails_validate_new),
        cmocka_unit_test(test_pattern_outside_document),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
