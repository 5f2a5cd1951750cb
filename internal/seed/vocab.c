/* seed/vocab — the synthetic generator's vocabulary, read from JSON
 * (internal/seed/vocabulary.json, embedded at build time) into the
 * structs the generator walks.
 *
 * Everything the generator takes for granted is checked here once, so a
 * vocabulary edit that breaks it stops the load with a message naming the
 * entry, instead of indexing past an array a million rows later: no list
 * is empty, topic and age-band indexes are in range, a zh-TW condition
 * names a department that exists. The strings stay inside the parsed
 * document; the structs only point at them. */
#include "synthetic_internal.h"

#include "medqa/base.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vocab__ctx {
    struct syn_vocab *v;
    size_t used, cap; /* of v->strings */
    char *errbuf;
    size_t errlen;
};

static int vocab__bad(struct vocab__ctx *c, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(c->errbuf, c->errlen, "vocabulary: ");

    if (n < 0 || (size_t)n >= c->errlen)
        return -1;
    va_start(ap, fmt);
    vsnprintf(c->errbuf + n, c->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* The number of strings anywhere in j: the size of the list pool. */
static size_t vocab__count_strings(json_t *j)
{
    const char *key;
    json_t *x;
    size_t i, n = 0;

    if (json_is_string(j))
        return 1;
    if (json_is_array(j))
        json_array_foreach(j, i, x)
            n += vocab__count_strings(x);
    else if (json_is_object(j))
        json_object_foreach(j, key, x)
            n += vocab__count_strings(x);
    return n;
}

/* A zeroed array for the elements of arr, a JSON array that must not be
 * empty; NULL with the reason in c->errbuf. */
static void *vocab__array(struct vocab__ctx *c, const json_t *arr, size_t size,
                          const char *where)
{
    void *out;

    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        vocab__bad(c, "%s must not be empty", where);
        return NULL;
    }
    out = calloc(json_array_size(arr), size);
    if (out == NULL)
        vocab__bad(c, "out of memory");
    return out;
}

static int vocab__str(struct vocab__ctx *c, const json_t *o, const char *key,
                      const char **out, const char *where)
{
    const json_t *s = json_object_get(o, key);

    if (!json_is_string(s) || json_string_length(s) == 0)
        return vocab__bad(c, "%s: \"%s\" must be a non-empty string", where,
                          key);
    *out = json_string_value(s);
    return 0;
}

/* A non-empty array of non-empty strings, copied into the pool. */
static int vocab__list(struct vocab__ctx *c, const json_t *arr,
                       struct syn_list *l, const char *where)
{
    json_t *x;
    size_t i;

    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return vocab__bad(c, "%s must be a non-empty list of strings", where);
    l->v = c->v->strings + c->used;
    l->n = (unsigned)json_array_size(arr);
    json_array_foreach(arr, i, x) {
        if (!json_is_string(x) || json_string_length(x) == 0 ||
            c->used == c->cap)
            return vocab__bad(c, "%s[%zu] must be a non-empty string", where,
                              i);
        c->v->strings[c->used++] = json_string_value(x);
    }
    return 0;
}

/* [["part", "-ing verb"], …]: 1 to SYN_MAXPARTS pairs. */
static int vocab__parts(struct vocab__ctx *c, const json_t *arr,
                        struct syn_part *parts, unsigned *n, const char *where)
{
    json_t *x;
    size_t i;

    if (!json_is_array(arr) || json_array_size(arr) == 0 ||
        json_array_size(arr) > SYN_MAXPARTS)
        return vocab__bad(c, "%s.parts must hold 1 to %d [part, verb] pairs",
                          where, SYN_MAXPARTS);
    json_array_foreach(arr, i, x) {
        const json_t *p = json_array_get(x, 0), *v = json_array_get(x, 1);
        if (json_array_size(x) != 2 || !json_is_string(p) ||
            !json_is_string(v) || json_string_length(p) == 0)
            return vocab__bad(c, "%s.parts[%zu] must be [part, verb]", where,
                              i);
        parts[i].part = json_string_value(p);
        parts[i].ing = json_string_value(v);
    }
    *n = (unsigned)json_array_size(arr);
    return 0;
}

/* 1 to max 1-based indexes into a department's ntopics topics. */
static int vocab__topics(struct vocab__ctx *c, const json_t *arr,
                         unsigned char *out, unsigned max, unsigned ntopics,
                         const char *where)
{
    json_t *x;
    size_t i;

    if (!json_is_array(arr) || json_array_size(arr) == 0 ||
        json_array_size(arr) > max)
        return vocab__bad(c, "%s.topics must hold 1 to %u topic numbers", where,
                          max);
    json_array_foreach(arr, i, x) {
        json_int_t t = json_integer_value(x);
        if (!json_is_integer(x) || t < 1 || t > (json_int_t)ntopics)
            return vocab__bad(c,
                              "%s.topics[%zu] must be 1 to %u (a topic of "
                              "its department)",
                              where, i, ntopics);
        out[i] = (unsigned char)t;
    }
    return 0;
}

static int vocab__condition(struct vocab__ctx *c, const json_t *o,
                            const struct syn_department *d,
                            struct syn_condition *k, const char *where)
{
    char sub[192];
    const json_t *sex = json_object_get(o, "sex");
    const json_t *ages = json_object_get(o, "age_bands");
    static const struct {
        const char *key;
        size_t off;
    } lists[] = {
        {"extras", offsetof(struct syn_condition, extras)},
        {"triggers", offsetof(struct syn_condition, triggers)},
        {"advice", offsetof(struct syn_condition, advice)},
        {"tests", offsetof(struct syn_condition, tests)},
    };

    if (vocab__str(c, o, "lay", &k->lay, where) != 0 ||
        vocab__str(c, o, "medical", &k->medical, where) != 0 ||
        vocab__str(c, o, "explain", &k->explain, where) != 0 ||
        vocab__str(c, o, "differential", &k->differential, where) != 0 ||
        vocab__str(c, o, "red_flag", &k->red_flag, where) != 0 ||
        vocab__parts(c, json_object_get(o, "parts"), k->parts, &k->nparts,
                     where) != 0 ||
        vocab__topics(c, json_object_get(o, "topics"), k->topics, SYN_NTOPICS,
                      d->ntopics, where) != 0)
        return -1;
    for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
        snprintf(sub, sizeof(sub), "%s.%s", where, lists[i].key);
        if (vocab__list(c, json_object_get(o, lists[i].key),
                        (struct syn_list *)((char *)k + lists[i].off),
                        sub) != 0)
            return -1;
    }
    k->chronic = json_is_true(json_object_get(o, "chronic"));
    if (sex != NULL) {
        const char *s = json_string_value(sex);
        if (s == NULL || (strcmp(s, "f") != 0 && strcmp(s, "m") != 0))
            return vocab__bad(c, "%s.sex must be \"f\" or \"m\"", where);
        k->sex = s[0];
    }
    if (ages != NULL) {
        json_int_t lo = json_integer_value(json_array_get(ages, 0));
        json_int_t hi = json_integer_value(json_array_get(ages, 1));
        if (json_array_size(ages) != 2 || lo < 0 || hi < lo || hi < 1 ||
            hi >= SYN_NBANDS)
            return vocab__bad(c,
                              "%s.age_bands must be [lo, hi] with 0 <= lo "
                              "<= hi, 1 <= hi <= %d",
                              where, SYN_NBANDS - 1);
        k->age_lo = (unsigned char)lo;
        k->age_hi = (unsigned char)hi;
    }
    return 0;
}

static int vocab__department(struct vocab__ctx *c, const json_t *o,
                             struct syn_department *d, const char *where)
{
    static const char *const who[] = {
        [SYN_ADULT] = "adult", [SYN_CHILD] = "child", [SYN_FEMALE] = "female"};
    const json_t *topics = json_object_get(o, "topics");
    const json_t *conds = json_object_get(o, "conditions");
    const json_t *weight = json_object_get(o, "weight");
    const char *w = json_string_value(json_object_get(o, "who"));
    char sub[128];
    json_t *x;
    size_t i;

    if (vocab__str(c, o, "slug", &d->slug, where) != 0 ||
        vocab__str(c, o, "clinic", &d->clinic, where) != 0 ||
        vocab__str(c, o, "specialist", &d->specialist, where) != 0)
        return -1;
    if (!json_is_integer(weight) || json_integer_value(weight) < 1 ||
        json_integer_value(weight) > 1000)
        return vocab__bad(c, "%s.weight must be 1 to 1000", where);
    d->weight = (unsigned)json_integer_value(weight);
    for (d->who = 0; d->who < ARRAY_SIZE(who); d->who++)
        if (w != NULL && strcmp(w, who[d->who]) == 0)
            break;
    if (d->who == ARRAY_SIZE(who))
        return vocab__bad(c, "%s.who must be adult, child or female", where);
    if (!json_is_array(topics) || json_array_size(topics) == 0 ||
        json_array_size(topics) > SYN_MAXTOPICS)
        return vocab__bad(c, "%s.topics must hold 1 to %d topics", where,
                          SYN_MAXTOPICS);
    json_array_foreach(topics, i, x) {
        snprintf(sub, sizeof(sub), "%s.topics[%zu]", where, i);
        if (vocab__str(c, x, "slug", &d->topics[i].slug, sub) != 0 ||
            vocab__str(c, x, "name", &d->topics[i].name, sub) != 0)
            return -1;
    }
    d->ntopics = (unsigned)json_array_size(topics);
    snprintf(sub, sizeof(sub), "%s.conditions", where);
    d->conds = vocab__array(c, conds, sizeof(*d->conds), sub);
    if (d->conds == NULL)
        return -1;
    json_array_foreach(conds, i, x) {
        snprintf(sub, sizeof(sub), "%s.conditions[%zu]", where, i);
        if (vocab__condition(c, x, d, &d->conds[i], sub) != 0)
            return -1;
        d->nconds++;
    }
    return 0;
}

static int vocab__zh(struct vocab__ctx *c, const json_t *o,
                     struct syn_zh_condition *z, const char *where)
{
    const char *dept = NULL;
    char sub[128];

    if (vocab__str(c, o, "department", &dept, where) != 0 ||
        vocab__str(c, o, "lay", &z->lay, where) != 0 ||
        vocab__str(c, o, "medical", &z->medical, where) != 0 ||
        vocab__str(c, o, "advice", &z->advice, where) != 0 ||
        vocab__str(c, o, "red_flag", &z->red_flag, where) != 0 ||
        vocab__str(c, o, "clinic", &z->clinic, where) != 0)
        return -1;
    for (z->dept = 0; z->dept < c->v->ndepts; z->dept++)
        if (strcmp(c->v->depts[z->dept].slug, dept) == 0)
            break;
    if (z->dept == c->v->ndepts)
        return vocab__bad(c, "%s.department: no department \"%s\"", where,
                          dept);
    snprintf(sub, sizeof(sub), "%s.triggers", where);
    if (vocab__parts(c, json_object_get(o, "parts"), z->parts, &z->nparts,
                     where) != 0 ||
        vocab__list(c, json_object_get(o, "triggers"), &z->triggers, sub) !=
            0 ||
        vocab__topics(c, json_object_get(o, "topics"), z->topics,
                      SYN_ZH_NTOPICS, c->v->depts[z->dept].ntopics, where) != 0)
        return -1;
    return 0;
}

static int vocab__phrases(struct vocab__ctx *c, const json_t *o)
{
#define PHRASE(name)                                                           \
    {                                                                          \
#name, offsetof(struct syn_phrases, name)                              \
    }
    static const struct {
        const char *key;
        size_t off;
    } lists[] = {
        PHRASE(acute_durations),
        PHRASE(chronic_durations),
        PHRASE(zh_durations),
        PHRASE(age_bands),
        PHRASE(age_words),
        PHRASE(titles),
        PHRASE(openings),
        PHRASE(firsts),
        PHRASE(extras),
        PHRASE(trigger_lines),
        PHRASE(context_adult),
        PHRASE(context_child),
        PHRASE(questions),
        PHRASE(greets),
        PHRASE(cores),
        PHRASE(diffs),
        PHRASE(advices),
        PHRASE(tests),
        PHRASE(reds),
        PHRASE(closes),
        PHRASE(zh_titles),
        PHRASE(surnames),
        PHRASE(syllables),
        PHRASE(nick_adult),
        PHRASE(nick_parent),
        PHRASE(zh_surnames),
    };
#undef PHRASE
    char where[80];

    for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
        snprintf(where, sizeof(where), "phrases.%s", lists[i].key);
        if (vocab__list(c, json_object_get(o, lists[i].key),
                        (struct syn_list *)((char *)&c->v->ph + lists[i].off),
                        where) != 0)
            return -1;
    }
    if (c->v->ph.age_bands.n != SYN_NBANDS ||
        c->v->ph.age_words.n != SYN_NBANDS)
        return vocab__bad(c,
                          "phrases.age_bands and age_words must hold %d "
                          "entries each",
                          SYN_NBANDS);
    return 0;
}

int syn__vocab_parse(const char *json, size_t len, struct syn_vocab *v,
                     char *errbuf, size_t errlen)
{
    struct vocab__ctx c = {.v = v, .errbuf = errbuf, .errlen = errlen};
    json_error_t jerr;
    const json_t *depts, *zh;
    char where[64];
    json_t *x;
    size_t i;

    memset(v, 0, sizeof(*v));
    v->doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (v->doc == NULL)
        return vocab__bad(&c, "line %d: %s", jerr.line, jerr.text);
    c.cap = vocab__count_strings(v->doc);
    v->strings = calloc(c.cap > 0 ? c.cap : 1, sizeof(*v->strings));
    if (v->strings == NULL)
        return vocab__bad(&c, "out of memory");

    depts = json_object_get(v->doc, "departments");
    v->depts = vocab__array(&c, depts, sizeof(*v->depts), "departments");
    if (v->depts == NULL)
        return -1;
    json_array_foreach(depts, i, x) {
        snprintf(where, sizeof(where), "departments[%zu]", i);
        /* Counted as parsed, so syn__vocab_free() frees what exists. */
        v->ndepts++;
        if (vocab__department(&c, x, &v->depts[i], where) != 0)
            return -1;
    }

    zh = json_object_get(v->doc, "zh_conditions");
    v->zh = vocab__array(&c, zh, sizeof(*v->zh), "zh_conditions");
    if (v->zh == NULL)
        return -1;
    json_array_foreach(zh, i, x) {
        snprintf(where, sizeof(where), "zh_conditions[%zu]", i);
        if (vocab__zh(&c, x, &v->zh[i], where) != 0)
            return -1;
        v->nzh++;
    }
    return vocab__phrases(&c, json_object_get(v->doc, "phrases"));
}

void syn__vocab_free(struct syn_vocab *v)
{
    if (v == NULL)
        return;
    for (unsigned d = 0; d < v->ndepts; d++)
        free(v->depts[d].conds);
    free(v->depts);
    free(v->zh);
    free(v->strings);
    json_decref(v->doc);
    memset(v, 0, sizeof(*v));
}
