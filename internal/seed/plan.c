/* seed/plan — the plan of one synthetic question: its id, department,
 * condition, asker, times, topics and replies, everything except its
 * text. Every pass of the load recomputes it from (seed, i), so nothing
 * per question is kept in memory. */
#include "synthetic_internal.h"

#include "medqa/base.h"

#include <stdio.h>
#include <string.h>

const char *const syn__genders[4] = {"female", "male", "other", "undisclosed"};

static int syn_pick_gender(struct syn_rng *r, char sex)
{
    unsigned x = syn_below(r, 100);

    if (sex == 'f')
        return x < 96 ? 0 : 3;
    if (sex == 'm')
        return x < 96 ? 1 : 3;
    return x < 50 ? 0 : x < 92 ? 1 : x < 94 ? 2 : 3;
}

static int syn_pick_band(struct syn_rng *r, const struct syn_department *d,
                         unsigned lo, unsigned hi)
{
    /* Weights per band for adult askers: most are 20 to 59. */
    static const unsigned adult[9] = {0, 4, 20, 24, 20, 14, 10, 6, 2};

    if (hi > 0)
        return (int)(lo + syn_below(r, hi - lo + 1));
    if (d->who == SYN_CHILD)
        return syn_below(r, 100) < 75 ? 0 : 1;
    unsigned x = syn_below(r, 100), acc = 0;
    for (int i = 0; i < 9; i++) {
        acc += adult[i];
        if (x < acc)
            return i;
    }
    return 8;
}

static int syn_pick_dept(struct syn_rng *r, const struct syn_gen *g)
{
    unsigned x = syn_below(r, g->dept_weight_total), acc = 0;
    int n = (int)g->v->ndepts;

    for (int i = 0; i < n; i++) {
        acc += g->v->depts[i].weight;
        if (x < acc)
            return i;
    }
    return n - 1;
}

static void syn_asker(struct syn_rng *r, const struct syn_vocab *v,
                      struct syn_plan *p)
{
    static const char *const adult_f[] = {"小姐", "太太", "女士"};
    static const char *const parent_s[] = {"媽媽", "爸爸"};
    static const struct syn_list zh_adult_f = {adult_f, ARRAY_SIZE(adult_f)};
    static const struct syn_list zh_parent = {parent_s, ARRAY_SIZE(parent_s)};
    bool parent = v->depts[p->dept].who == SYN_CHILD;
    unsigned x = syn_below(r, 100);
    const char *sur = syn_pick(r, &v->ph.surnames);
    char i1 = (char)('A' + syn_below(r, 26));
    char i2 = (char)('A' + syn_below(r, 26));

    if (p->zh) {
        const char *zs = syn_pick(r, &v->ph.zh_surnames);
        const char *suffix = parent           ? syn_pick(r, &zh_parent)
                             : p->gender == 0 ? syn_pick(r, &zh_adult_f)
                             : p->gender == 1 ? "先生"
                                              : "同學";
        if (x < 10)
            snprintf(p->asker, sizeof(p->asker), "匿名");
        else
            snprintf(p->asker, sizeof(p->asker), "%s%s", zs, suffix);
        return;
    }
    if (x < 30) {
        snprintf(p->asker, sizeof(p->asker), "%c. %s", i1, sur);
    } else if (x < 45) {
        snprintf(p->asker, sizeof(p->asker), "%c %s", i1, sur);
    } else if (x < 55) {
        snprintf(p->asker, sizeof(p->asker), "%c.%c.", i1, i2);
    } else if (x < 67 && !parent && p->gender < 2) {
        snprintf(p->asker, sizeof(p->asker), "%s %s",
                 p->gender == 0 ? "Ms." : "Mr.", sur);
    } else if (x < 80) {
        snprintf(p->asker, sizeof(p->asker), "%s",
                 syn_pick(r, parent ? &v->ph.nick_parent : &v->ph.nick_adult));
    } else if (x < 90) {
        snprintf(p->asker, sizeof(p->asker), "Anonymous");
    } else {
        snprintf(p->asker, sizeof(p->asker), "reader%04u", syn_below(r, 10000));
    }
}

/* A delay in seconds that looks like a busy volunteer clinic: most answers
 * within a day or three, a tail up to two weeks. */
static long long syn_delay(struct syn_rng *r)
{
    unsigned x = syn_below(r, 100);

    if (x < 40)
        return 1800 + syn_below(r, 12 * 3600);
    if (x < 75)
        return 12 * 3600 + syn_below(r, 3 * 86400);
    return 3 * 86400 + syn_below(r, 11 * 86400);
}

void syn__plan(const struct syn_gen *g, long i, struct syn_plan *p)
{
    const struct syn_vocab *v = g->v;
    struct syn_rng r = syn_stream(g->seed, (uint64_t)i, SYN_P_PLAN);
    const struct syn_department *d;
    const unsigned char *ctopics;
    unsigned nct; /* how many of ctopics to try: part of the seed's bytes */
    char sex;
    unsigned lo = 0, hi = 0;

    memset(p, 0, sizeof(*p));
    /* The id comes first so that question 0's id, used to recognise a seed
     * already loaded, never depends on the rest of the plan. */
    syn_uuid(&r, p->id);
    p->zh = syn_below(&r, 1000) < 30;
    if (p->zh) {
        p->cond = (int)syn_below(&r, v->nzh);
        p->dept = (int)v->zh[p->cond].dept;
        d = &v->depts[p->dept];
        ctopics = v->zh[p->cond].topics;
        nct = SYN_ZH_NTOPICS;
        sex = 0;
    } else {
        p->dept = syn_pick_dept(&r, g);
        d = &v->depts[p->dept];
        p->cond = (int)syn_below(&r, d->nconds);
        const struct syn_condition *c = &d->conds[p->cond];
        ctopics = c->topics;
        nct = SYN_NTOPICS;
        sex = c->sex;
        lo = c->age_lo;
        hi = c->age_hi;
    }
    if (d->who == SYN_FEMALE)
        sex = 'f';
    p->gender = syn_pick_gender(&r, sex);
    p->band = syn_pick_band(&r, d, lo, hi);
    p->child_age =
        p->band == 0 ? 1 + (int)syn_below(&r, 9) : 10 + (int)syn_below(&r, 8);
    syn_asker(&r, v, p);
    p->asked = SYN_T0 + (long long)(syn_next(&r) % (uint64_t)(SYN_T1 - SYN_T0));

    /* Topics: the condition's own first, then the department's others,
     * skipping any the database would not let us use. */
    unsigned want = syn_below(&r, 100);
    want = want < 55 ? 1 : want < 87 ? 2 : 3;
    unsigned ndt = d->ntopics;
    unsigned start = syn_below(&r, ndt > 0 ? ndt : 1);
    for (unsigned k = 0; k < nct + ndt && (unsigned)p->ntopics < want; k++) {
        int t = k < nct ? (int)ctopics[k] - 1 : (int)((start + k) % ndt);
        if (t < 0 || g->topic_ids[p->dept][t][0] == '\0')
            continue;
        bool dup = false;
        for (int j = 0; j < p->ntopics; j++)
            dup = dup || p->topics[j] == t;
        if (!dup)
            p->topics[p->ntopics++] = t;
    }

    /* Replies: 15% none, 55% one doctor, 30% two; about 6% of answered
     * questions also get an editorial note, ~1.2 replies on average. */
    unsigned x = syn_below(&r, 100);
    int ndoc = x < 15 ? 0 : x < 70 ? 1 : 2;
    int first = (int)syn_below(&r, SYN_DOCTORS);
    long long at = p->asked;
    for (int k = 0; k < ndoc; k++) {
        struct syn_reply *rep = &p->replies[p->nreplies++];
        syn_uuid(&r, rep->id);
        rep->kind = k == 0 ? SYN_DOCTOR_REPLY : SYN_SECOND_OPINION;
        int j = k == 0 ? first
                       : (first + 1 + (int)syn_below(&r, SYN_DOCTORS - 1)) %
                             SYN_DOCTORS;
        rep->doctor = p->dept * SYN_DOCTORS + j;
        at += syn_delay(&r);
        rep->at = at;
    }
    if (ndoc > 0 && syn_below(&r, 1000) < 59) {
        struct syn_reply *rep = &p->replies[p->nreplies++];
        syn_uuid(&r, rep->id);
        rep->kind = SYN_EDITORIAL;
        rep->doctor = -1;
        at += 86400 + syn_below(&r, 29 * 86400);
        rep->at = at;
    }
    p->updated = at;
}
