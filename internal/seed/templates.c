/* seed/templates — the text of a synthetic question and of its replies.
 *
 * A phrase of the vocabulary may name parts of the question with %-codes,
 * which syn_expand() fills from the question's context:
 *   %P possessive ("my", "my son's")  %Q its zh-TW title form
 *   %S subject  %H have/has  %B am/is/are
 *   %O the writer ("I", parents too)  %p part  %i its -ing verb
 *   %h %k %d has/keeps/does agreeing with the part
 *   %L lay name  %M medical name  %N explanation  %F differential
 *   %R red flag  %D duration  %T trigger  %X extra symptom  %A age
 *   %V %W two advice phrases  %E a test  %C clinic  %Z specialist
 * Each template starts a sentence, so its first letter is capitalised.
 *
 * The order of the draws below is part of what a seed means: moving one
 * changes every row generated after it. */
#include "synthetic_internal.h"

#include <stdio.h>
#include <string.h>

void syn__addn(struct syn_str *b, const char *s, size_t n)
{
    if (n > sizeof(b->s) - 1 - b->len)
        n = sizeof(b->s) - 1 - b->len;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void syn__add(struct syn_str *b, const char *s)
{
    syn__addn(b, s, strlen(s));
}

/* Everything a template may name, chosen once per question (or reply). */
struct syn_ctx {
    const char *poss, *subj, *have, *be, *observer, *title_poss;
    const char *part, *ing;
    bool plural;
    const char *lay, *medical, *explain, *diff, *red, *dur, *trig, *extra;
    const char *age, *advice, *advice2, *test, *clinic, *specialist;
};

static void syn_expand(struct syn_str *b, const char *tmpl,
                       const struct syn_ctx *c)
{
    size_t start = b->len;

    for (const char *t = tmpl; *t != '\0'; t++) {
        const char *pct = strchr(t, '%');
        if (pct == NULL || pct[1] == '\0') {
            syn__add(b, t);
            break;
        }
        syn__addn(b, t, (size_t)(pct - t));
        t = pct + 1;
        const char *v = "";
        switch (*t) {
        case 'P': v = c->poss; break;
        case 'Q': v = c->title_poss; break;
        case 'S': v = c->subj; break;
        case 'H': v = c->have; break;
        case 'B': v = c->be; break;
        case 'O': v = c->observer; break;
        case 'p': v = c->part; break;
        case 'i': v = c->ing; break;
        case 'h': v = c->plural ? "have" : "has"; break;
        case 'k': v = c->plural ? "keep" : "keeps"; break;
        case 'd': v = c->plural ? "do" : "does"; break;
        case 'L': v = c->lay; break;
        case 'M': v = c->medical; break;
        case 'N': v = c->explain; break;
        case 'F': v = c->diff; break;
        case 'R': v = c->red; break;
        case 'D': v = c->dur; break;
        case 'T': v = c->trig; break;
        case 'X': v = c->extra; break;
        case 'A': v = c->age; break;
        case 'V': v = c->advice; break;
        case 'W': v = c->advice2; break;
        case 'E': v = c->test; break;
        case 'C': v = c->clinic; break;
        case 'Z': v = c->specialist; break;
        case '%': v = "%"; break;
        default: break;
        }
        syn__add(b, v ? v : "");
    }
    if (b->len > start && b->s[start] >= 'a' && b->s[start] <= 'z')
        b->s[start] = (char)(b->s[start] - 'a' + 'A');
}

/* Appends one English sentence, separated from the previous one by a
 * space. (Chinese needs no separator: its full-width punctuation is one.) */
static void syn_sentence(struct syn_str *b, const char *tmpl,
                         const struct syn_ctx *c)
{
    if (b->len > 0)
        syn__add(b, " ");
    syn_expand(b, tmpl, c);
}

/* Fills what the question's and replies' templates share. */
static void syn_ctx_init(struct syn_ctx *c, struct syn_rng *r,
                         const struct syn_vocab *v, const struct syn_plan *p,
                         char *age, size_t agelen)
{
    const struct syn_department *d = &v->depts[p->dept];
    bool child = d->who == SYN_CHILD;

    memset(c, 0, sizeof(*c));
    c->clinic = d->clinic;
    c->specialist = d->specialist;
    if (p->zh) {
        const struct syn_zh_condition *z = &v->zh[p->cond];
        static const char *const kid[] = {"我女兒", "我兒子", "孩子", "孩子"};
        static const char *const kid_of[] = {"我女兒的", "我兒子的", "孩子的",
                                             "孩子的"};
        const struct syn_part *pt = &z->parts[syn_below(r, z->nparts)];
        c->title_poss = child ? kid[p->gender] : "";
        c->poss = child ? kid_of[p->gender] : "我的";
        c->part = pt->part;
        c->ing = pt->ing;
        c->lay = z->lay;
        c->medical = z->medical;
        c->advice = z->advice;
        c->red = z->red_flag;
        c->clinic = z->clinic;
        c->dur = syn_pick(r, &v->ph.zh_durations);
        c->trig = syn_pick(r, &z->triggers);
        return;
    }

    const struct syn_condition *k = &d->conds[p->cond];
    const struct syn_part *pt = &k->parts[syn_below(r, k->nparts)];
    c->part = pt->part;
    c->ing = pt->ing;
    c->plural = pt->part[strlen(pt->part) - 1] == 's';
    if (child) {
        static const char *const poss[] = {"my daughter's", "my son's",
                                           "my child's", "my child's"};
        static const char *const subj[] = {"she", "he", "they", "they"};
        bool they = p->gender >= 2;
        c->poss = poss[p->gender];
        c->subj = subj[p->gender];
        c->have = they ? "have" : "has";
        c->be = they ? "are" : "is";
        c->observer = "I"; /* the parent writes */
        snprintf(age, agelen, "my %d-year-old", p->child_age);
        c->age = age;
    } else {
        c->poss = "my";
        c->subj = "I";
        c->have = "have";
        c->be = "am";
        c->observer = "I";
        c->age = v->ph.age_words.v[p->band];
    }
    c->lay = k->lay;
    c->medical = k->medical;
    c->explain = k->explain;
    c->diff = k->differential;
    c->red = k->red_flag;
    c->dur = syn_pick(r, k->chronic ? &v->ph.chronic_durations
                                    : &v->ph.acute_durations);
    c->trig = syn_pick(r, &k->triggers);
    c->extra = syn_pick(r, &k->extras);
    c->advice = syn_pick(r, &k->advice);
    c->advice2 = syn_pick(r, &k->advice);
    for (int tries = 0; tries < 4 && c->advice2 == c->advice; tries++)
        c->advice2 = syn_pick(r, &k->advice);
    c->test = syn_pick(r, &k->tests);
}

void syn__question_text(const struct syn_gen *g, long i,
                        const struct syn_plan *p, struct syn_str *title,
                        struct syn_str *body)
{
    const struct syn_phrases *ph = &g->v->ph;
    struct syn_rng r = syn_stream(g->seed, (uint64_t)i, SYN_P_QTEXT);
    struct syn_ctx c;
    char age[32];

    title->len = body->len = 0;
    title->s[0] = body->s[0] = '\0';
    syn_ctx_init(&c, &r, g->v, p, age, sizeof(age));
    if (p->zh) {
        bool child = g->v->depts[p->dept].who == SYN_CHILD;
        syn_expand(title, syn_pick(&r, &ph->zh_titles), &c);
        syn__add(body, "醫生您好，");
        syn_expand(body, "這%D以來，%P%p常常%i。", &c);
        if (syn_below(&r, 100) < 70)
            syn_expand(body, "%T特別明顯。", &c);
        if (syn_below(&r, 100) < 50)
            syn__add(body, child ? "孩子平常活動力還不錯。"
                                 : "我平常身體還算健康，沒有長期吃藥。");
        syn__add(body, syn_below(&r, 2)
                           ? "請問這是什麼原因？需要做什麼檢查嗎？謝謝！"
                           : "請問需要看哪一科？會自己好嗎？謝謝醫生！");
        return;
    }

    bool child = g->v->depts[p->dept].who == SYN_CHILD;
    syn_expand(title, syn_pick(&r, &ph->titles), &c);
    if (title->len > 200) { /* never with today's vocabulary; stay valid */
        title->len = 0;
        title->s[0] = '\0';
        syn_expand(title, "%L", &c);
    }

    if (syn_below(&r, 100) < 60)
        syn__add(body, syn_pick(&r, &ph->openings));
    syn_sentence(body, syn_pick(&r, &ph->firsts), &c);
    /* 0 to 3 middle sentences, so bodies run 2 to 5 sentences long. */
    if (syn_below(&r, 100) < 55)
        syn_sentence(body, syn_pick(&r, &ph->extras), &c);
    if (syn_below(&r, 100) < 55)
        syn_sentence(body, syn_pick(&r, &ph->trigger_lines), &c);
    if (syn_below(&r, 100) < 40)
        syn_sentence(body,
                     child ? syn_pick(&r, &ph->context_child)
                           : syn_pick(&r, &ph->context_adult),
                     &c);
    syn_sentence(body, syn_pick(&r, &ph->questions), &c);
}

void syn__reply_text(const struct syn_gen *g, long i, const struct syn_plan *p,
                     int k, struct syn_str *body)
{
    const struct syn_phrases *ph = &g->v->ph;
    /* One stream per reply, so adding a reply never shifts the others. */
    struct syn_rng r =
        syn_stream(g->seed, (uint64_t)i * 4 + (uint64_t)k, SYN_P_RTEXT);
    const struct syn_reply *rep = &p->replies[k];
    struct syn_ctx c;
    char age[32];

    body->len = 0;
    body->s[0] = '\0';
    syn_ctx_init(&c, &r, g->v, p, age, sizeof(age));
    if (p->zh) {
        if (rep->kind == SYN_EDITORIAL) {
            syn_expand(body,
                       "編輯補充：%M多半可以透過生活調整改善，但症狀持續或加"
                       "重時，請到%C接受檢查。本回答僅供參考，不能取代當面診"
                       "察。",
                       &c);
            return;
        }
        syn__add(body, rep->kind == SYN_SECOND_OPINION
                           ? "同意前一位醫師的看法。"
                           : "您好，");
        syn_expand(body,
                   rep->kind == SYN_SECOND_OPINION ? "%M的可能性最高。"
                                                   : "依您的描述，比較像是%M。",
                   &c);
        syn_expand(body, "建議%V。", &c);
        if (syn_below(&r, 100) < 80)
            syn_expand(body, "若%R，請盡快到%C就診。", &c);
        if (syn_below(&r, 2))
            syn__add(body, "祝早日康復。");
        return;
    }

    if (rep->kind == SYN_EDITORIAL) {
        syn_sentence(body, "Editor's note: %M is %N.", &c);
        syn_sentence(body, "Simple measures help many people: %V.", &c);
        syn_sentence(body, "If the symptoms persist or get worse, see %Z.", &c);
        if (syn_below(&r, 100) < 50)
            syn_sentence(body, "Seek care promptly if %R.", &c);
        syn_sentence(body,
                     "This answer is general information and does not "
                     "replace an in-person consultation.",
                     &c);
        return;
    }
    if (rep->kind == SYN_SECOND_OPINION) {
        syn_sentence(body,
                     syn_below(&r, 2) ? "I agree with my colleague's answer."
                                      : "Let me add a second opinion.",
                     &c);
        syn_sentence(body,
                     "%M remains the most likely explanation, but %F should "
                     "be considered if things do not improve.",
                     &c);
        if (syn_below(&r, 100) < 60)
            syn_sentence(body, "%E would settle the question.", &c);
        syn_sentence(body, "Please also %V.", &c);
        return;
    }
    syn_sentence(body, syn_pick(&r, &ph->greets), &c);
    syn_sentence(body, syn_pick(&r, &ph->cores), &c);
    if (syn_below(&r, 100) < 50)
        syn_sentence(body, syn_pick(&r, &ph->diffs), &c);
    if (syn_below(&r, 100) < 80)
        syn_sentence(body, syn_pick(&r, &ph->advices), &c);
    if (syn_below(&r, 100) < 60)
        syn_sentence(body, syn_pick(&r, &ph->tests), &c);
    if (syn_below(&r, 100) < 75)
        syn_sentence(body, syn_pick(&r, &ph->reds), &c);
    if (syn_below(&r, 100) < 50)
        syn_sentence(body, syn_pick(&r, &ph->closes), &c);
}
