/* Unit tests for the synthetic generator's parts (internal/seed/): the
 * PRNG, the embedded vocabulary and its checks, and "same seed, same
 * bytes": the plans and texts of 3,000 questions per seed hash to the
 * values the generator produced before its vocabulary became a data file
 * (taken from commit dbbb153's synthetic.c with this file's fingerprint
 * function), so any change to a draw, a template or the vocabulary's
 * order shows here before it shows in a database. */
/* cmocka needs these before it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../internal/seed/synthetic_internal.h"
#include "medqa/assets.h"
#include "medqa/base.h"

static uint64_t fp_fnv(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    return h;
}

/* FNV-1a over every field of the first n plans, their titles, bodies and
 * replies, with every topic id known (a fresh database). */
static uint64_t fingerprint(const struct syn_vocab *v, uint64_t seed, long n)
{
    struct syn_gen g = {.seed = seed, .v = v};
    struct syn_str *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
    struct syn_plan p;
    char line[512];
    uint64_t h = 0xcbf29ce484222325ULL;

    g.topic_ids = calloc(v->ndepts, sizeof(*g.topic_ids));
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(g.topic_ids);
    for (unsigned d = 0; d < v->ndepts; d++) {
        g.dept_weight_total += v->depts[d].weight;
        for (int t = 0; t < SYN_MAXTOPICS; t++)
            strcpy(g.topic_ids[d][t], "x");
    }
    for (long i = 0; i < n; i++) {
        syn__plan(&g, i, &p);
        int len =
            snprintf(line, sizeof(line), "%s %d %d %d %d %d %d %lld %lld %s|",
                     p.id, p.dept, p.cond, p.zh, p.gender, p.band, p.child_age,
                     p.asked, p.updated, p.asker);
        h = fp_fnv(h, line, (size_t)len);
        for (int k = 0; k < p.ntopics; k++) {
            len = snprintf(line, sizeof(line), "t%d", p.topics[k]);
            h = fp_fnv(h, line, (size_t)len);
        }
        syn__question_text(&g, i, &p, a, b);
        h = fp_fnv(h, a->s, a->len);
        h = fp_fnv(h, b->s, b->len);
        for (int k = 0; k < p.nreplies; k++) {
            len = snprintf(line, sizeof(line), "%s %d %d %lld|",
                           p.replies[k].id, (int)p.replies[k].kind,
                           p.replies[k].doctor, p.replies[k].at);
            h = fp_fnv(h, line, (size_t)len);
            syn__reply_text(&g, i, &p, k, a);
            h = fp_fnv(h, a->s, a->len);
        }
    }
    free(g.topic_ids);
    free(b);
    free(a);
    return h;
}

static void test_prng_streams_are_fixed(void **state)
{
    (void)state;
    struct syn_rng r = syn_stream(1, 0, SYN_P_PLAN);
    char id[37];

    assert_true(syn_next(&r) == 0x8b87b8146cf01ff9ULL);
    assert_true(syn_next(&r) == 0x58a3a10008b249f0ULL);
    r = syn_stream(7, 3, SYN_P_DOCTOR);
    syn_uuid(&r, id);
    assert_string_equal(id, "aa391baf-454d-46d6-8983-1da15f31f436");
    /* syn_below stays below its bound. */
    r = syn_stream(2, 9, SYN_P_QTEXT);
    for (int i = 0; i < 10000; i++)
        assert_true(syn_below(&r, 7) < 7);
}

static void test_same_seed_same_bytes(void **state)
{
    (void)state;
    struct syn_vocab v;
    char err[256];

    assert_int_equal(syn__vocab_parse((const char *)assets_vocabulary_json.data,
                                      assets_vocabulary_json.len, &v, err,
                                      sizeof(err)),
                     0);
    assert_int_equal(v.ndepts, 14);
    assert_int_equal(v.nzh, 7);
    assert_true(fingerprint(&v, 1, 3000) == 0xb7ababdf31e3dfdcULL);
    assert_true(fingerprint(&v, 42, 3000) == 0x355c3dda22cb8891ULL);
    syn__vocab_free(&v);
}

/* A question's label (seed --labels, for tests/eval) names the id and
 * the condition of the plan the load writes, with or without topic ids
 * known: topics are drawn after the condition and skip without a draw. */
static void test_labels_follow_the_plan(void **state)
{
    (void)state;
    struct syn_vocab v;
    char err[256], line[512], want[512];

    assert_int_equal(syn__vocab_parse((const char *)assets_vocabulary_json.data,
                                      assets_vocabulary_json.len, &v, err,
                                      sizeof(err)),
                     0);
    struct syn_gen with = {.seed = 7, .v = &v}, without = {.seed = 7, .v = &v};
    with.topic_ids = calloc(v.ndepts, sizeof(*with.topic_ids));
    without.topic_ids = calloc(v.ndepts, sizeof(*without.topic_ids));
    assert_non_null(with.topic_ids);
    assert_non_null(without.topic_ids);
    for (unsigned d = 0; d < v.ndepts; d++) {
        with.dept_weight_total += v.depts[d].weight;
        without.dept_weight_total += v.depts[d].weight;
        for (int t = 0; t < SYN_MAXTOPICS; t++)
            strcpy(with.topic_ids[d][t], "x");
    }
    int zh = 0;
    for (long i = 0; i < 2000; i++) {
        struct syn_plan p;
        syn__plan(&with, i, &p);
        if (p.zh) {
            zh++;
            snprintf(want, sizeof(want), "%s\tzh/%s\t%s", p.id,
                     v.zh[p.cond].lay, v.zh[p.cond].medical);
        } else {
            snprintf(want, sizeof(want), "%s\t%s/%s\t%s", p.id,
                     v.depts[p.dept].slug, v.depts[p.dept].conds[p.cond].lay,
                     v.depts[p.dept].conds[p.cond].medical);
        }
        syn__label(&without, i, line, sizeof(line));
        assert_string_equal(line, want);
    }
    assert_true(zh > 20 && zh < 120); /* ~3% zh-TW */
    free(with.topic_ids);
    free(without.topic_ids);
    syn__vocab_free(&v);
}

/* A broken vocabulary is refused with a message naming the entry. */
static void test_vocabulary_checks(void **state)
{
    (void)state;
    static const char base[] =
        "{\"departments\": [{\"slug\": \"neurology\", \"clinic\": \"n\", "
        "\"specialist\": \"a neurologist\", \"weight\": 1, \"who\": "
        "\"adult\", \"topics\": [{\"slug\": \"t\", \"name\": \"T\"}], "
        "\"conditions\": [{\"lay\": \"l\", \"medical\": \"m\", "
        "\"explain\": \"e\", \"differential\": \"d\", \"red_flag\": \"r\", "
        "\"parts\": [[\"eyes\", \"burning\"]], \"extras\": [\"x\"], "
        "\"triggers\": [\"t\"], \"advice\": [\"a\"], \"tests\": [\"s\"], "
        "\"topics\": [TOPIC], \"chronic\": false AGES}]}], "
        "\"zh_conditions\": [{\"department\": \"DEPT\", \"lay\": \"l\", "
        "\"medical\": \"m\", \"advice\": \"a\", \"red_flag\": \"r\", "
        "\"clinic\": \"c\", \"parts\": [[\"p\", \"i\"]], \"triggers\": "
        "[\"t\"], \"topics\": [1]}], \"phrases\": PHRASES}";
    static const char *const keys[] = {"acute_durations",
                                       "chronic_durations",
                                       "zh_durations",
                                       "age_bands",
                                       "age_words",
                                       "titles",
                                       "openings",
                                       "firsts",
                                       "extras",
                                       "trigger_lines",
                                       "context_adult",
                                       "context_child",
                                       "questions",
                                       "greets",
                                       "cores",
                                       "diffs",
                                       "advices",
                                       "tests",
                                       "reds",
                                       "closes",
                                       "zh_titles",
                                       "surnames",
                                       "syllables",
                                       "nick_adult",
                                       "nick_parent",
                                       "zh_surnames"};
    static const struct {
        const char *topic, *ages, *dept, *omit, *message;
    } cases[] = {
        {"1", "", "neurology", NULL, NULL},
        {"2", "", "neurology", NULL,
         "vocabulary: departments[0].conditions[0].topics[0] must be 1 to 1 "
         "(a topic of its department)"},
        {"1", ", \"age_bands\": [2, 9]", "neurology", NULL,
         "vocabulary: departments[0].conditions[0].age_bands must be [lo, "
         "hi] with 0 <= lo <= hi, 1 <= hi <= 8"},
        {"1", "", "cardiology", NULL,
         "vocabulary: zh_conditions[0].department: no department "
         "\"cardiology\""},
        {"1", "", "neurology", "closes",
         "vocabulary: phrases.closes must be a non-empty list of strings"},
    };
    char phrases[4096], doc[8192], err[256];

    for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
        size_t n = (size_t)snprintf(phrases, sizeof(phrases), "{");
        for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
            bool bands = strcmp(keys[k], "age_bands") == 0 ||
                         strcmp(keys[k], "age_words") == 0;
            if (cases[c].omit != NULL && strcmp(cases[c].omit, keys[k]) == 0)
                continue;
            n += (size_t)snprintf(
                phrases + n, sizeof(phrases) - n, "%s\"%s\": %s",
                n > 1 ? ", " : "", keys[k],
                bands ? "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\","
                        "\"i\"]"
                      : "[\"p\"]");
        }
        snprintf(phrases + n, sizeof(phrases) - n, "}");
        /* Fill the placeholders of base. */
        const char *from[] = {"TOPIC", "AGES", "DEPT", "PHRASES"};
        const char *to[] = {cases[c].topic, cases[c].ages, cases[c].dept,
                            phrases};
        size_t out = 0;
        for (const char *s = base; *s != '\0';) {
            size_t k = 0;
            while (k < 4 && strncmp(s, from[k], strlen(from[k])) != 0)
                k++;
            if (k < 4) {
                out +=
                    (size_t)snprintf(doc + out, sizeof(doc) - out, "%s", to[k]);
                s += strlen(from[k]);
            } else {
                doc[out++] = *s++;
            }
        }
        doc[out] = '\0';

        struct syn_vocab v;
        int rc = syn__vocab_parse(doc, out, &v, err, sizeof(err));
        if (cases[c].message == NULL) {
            if (rc != 0)
                fail_msg("case %zu: %s", c, err);
            assert_true(v.depts[0].conds[0].parts[0].part[0] == 'e');
        } else {
            assert_int_equal(rc, -1);
            assert_string_equal(err, cases[c].message);
        }
        syn__vocab_free(&v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prng_streams_are_fixed),
        cmocka_unit_test(test_same_seed_same_bytes),
        cmocka_unit_test(test_vocabulary_checks),
        cmocka_unit_test(test_labels_follow_the_plan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
