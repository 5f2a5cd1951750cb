/* handlers/represent — see represent.h. */
#include "represent.h"

#include "content.h"

#include "medqa/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* {"k1": v1[, "k2": v2]}, with v2 left out when NULL. A new reference, or
 * NULL. */
static json_t *rep__pair(const char *k1, const char *v1, const char *k2,
                         const char *v2)
{
    json_t *o = json_object();

    if (o == NULL || json_object_set_new(o, k1, json_string(v1)) != 0 ||
        (v2 != NULL && json_object_set_new(o, k2, json_string(v2)) != 0)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int rep_add_fields(const struct config *cfg, enum rep_kind kind, json_t *o)
{
    const char *qid = json_string_value(
        json_object_get(o, kind == REP_REPLY ? "question_id" : "id"));
    const char *id = json_string_value(json_object_get(o, "id"));
    char page[CONTENT_URL_MAX];
    bool has_page;

    if (qid == NULL || id == NULL)
        return -1;
    has_page = content_canonical_url(cfg, qid, page, sizeof(page));
    if (has_page && kind == REP_REPLY) {
        /* The reply on its question's page, as the JSON-LD names it. */
        size_t n = strlen(page);
        int w = snprintf(page + n, sizeof(page) - n, "#reply-%s", id);
        has_page = w > 0 && (size_t)w < sizeof(page) - n;
    }
    if (has_page &&
        json_object_set_new(o, "canonical_url", json_string(page)) != 0)
        return -1;
    if (json_object_set_new(o, "license",
                            rep__pair("name", cfg->license_name, "url",
                                      cfg->license_url)) != 0 ||
        json_object_set_new(o, "attribution",
                            rep__pair("text", cfg->site_name, "url",
                                      has_page ? page : NULL)) != 0 ||
        json_object_set_new(o, "disclaimer",
                            rep__pair("text", cfg->disclaimer_text, "url",
                                      cfg->disclaimer_url)) != 0)
        return -1;
    return 0;
}

char *rep_dump(const json_t *v, size_t *len)
{
    char *text = json_dumps(v, JSON_COMPACT);

    *len = text != NULL ? strlen(text) : 0;
    return text;
}

char *rep_finish_text(const struct config *cfg, enum rep_kind kind,
                      const char *text, size_t len, size_t *out_len)
{
    json_t *o = json_loadb(text, len, 0, NULL);
    char *out = NULL;

    *out_len = 0;
    if (json_is_object(o) && rep_add_fields(cfg, kind, o) == 0)
        out = rep_dump(o, out_len);
    json_decref(o);
    return out;
}

/* ---- The direct writer. */

void rep_buf_init(struct rep_buf *b, size_t hint)
{
    b->s = NULL;
    b->len = 0;
    b->cap = hint;
    b->failed = false;
}

/* Makes room for n more bytes and a NUL. Returns false after a failed
 * allocation (and from then on). */
static bool rep__room(struct rep_buf *b, size_t n)
{
    size_t cap;
    char *grown;

    if (b->failed)
        return false;
    if (b->s != NULL && b->len + n < b->cap)
        return true;
    cap = b->cap > 256 ? b->cap : 256;
    while (b->len + n >= cap)
        cap *= 2;
    grown = realloc(b->s, cap);
    if (grown == NULL) {
        b->failed = true;
        return false;
    }
    b->s = grown;
    b->cap = cap;
    return true;
}

void rep_buf_raw(struct rep_buf *b, const char *s, size_t n)
{
    if (!rep__room(b, n))
        return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

/* What json_dumps writes for a byte of a string: 0 itself, 1 a
 * two-character escape (rep__short), 2 \u00XX. */
static const unsigned char rep__esc[256] = {
    ['\0'] = 2, [1] = 2,    [2] = 2,    [3] = 2,    [4] = 2,    [5] = 2,
    [6] = 2,    [7] = 2,    ['\b'] = 1, ['\t'] = 1, ['\n'] = 1, [11] = 2,
    ['\f'] = 1, ['\r'] = 1, [14] = 2,   [15] = 2,   [16] = 2,   [17] = 2,
    [18] = 2,   [19] = 2,   [20] = 2,   [21] = 2,   [22] = 2,   [23] = 2,
    [24] = 2,   [25] = 2,   [26] = 2,   [27] = 2,   [28] = 2,   [29] = 2,
    [30] = 2,   [31] = 2,   ['"'] = 1,  ['\\'] = 1,
};

static char rep__short(unsigned char c)
{
    switch (c) {
    case '\b': return 'b';
    case '\t': return 't';
    case '\n': return 'n';
    case '\f': return 'f';
    case '\r': return 'r';
    default: return (char)c; /* '"' and '\\' */
    }
}

void rep_buf_str(struct rep_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    /* The worst case, every byte \u00XX, reserved once. */
    if (!rep__room(b, 6 * n + 2))
        return;
    char *o = b->s + b->len;
    *o++ = '"';
    while (i < n) {
        size_t run = i;
        while (run < n && rep__esc[p[run]] == 0)
            run++;
        memcpy(o, p + i, run - i);
        o += run - i;
        if (run == n)
            break;
        *o++ = '\\';
        if (rep__esc[p[run]] == 1) {
            *o++ = rep__short(p[run]);
        } else {
            memcpy(o, "u00", 3);
            o[3] = hex[p[run] >> 4];
            o[4] = hex[p[run] & 15];
            o += 5;
        }
        i = run + 1;
    }
    *o++ = '"';
    *o = '\0';
    b->len = (size_t)(o - b->s);
}

char *rep_buf_take(struct rep_buf *b, size_t *len)
{
    char *s = b->failed ? NULL : b->s;

    if (s == NULL) {
        free(b->s);
        s = NULL;
        *len = 0;
    } else {
        *len = b->len;
    }
    rep_buf_init(b, 0);
    return s;
}

void rep_buf_free(struct rep_buf *b)
{
    free(b->s);
    rep_buf_init(b, 0);
}

static bool rep__digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

int rep_ts(const char *pg, bool micro, char out[REP_TS_MAX])
{
    const char *sp = strchr(pg, ' ');
    const char *t;
    const char *f;
    char frac[6] = {'0', '0', '0', '0', '0', '0'};
    size_t d;
    size_t nf = micro ? 6 : 3;

    /* YYYY-MM-DD (more digits of year past 9999, as to_char writes them). */
    if (sp == NULL)
        return -1;
    d = (size_t)(sp - pg);
    if (d < 10 || d > 16 || pg[d - 3] != '-' || pg[d - 6] != '-' ||
        !rep__digits(pg, d - 6) || !rep__digits(pg + d - 5, 2) ||
        !rep__digits(pg + d - 2, 2))
        return -1;
    /* HH:MM:SS, then .f to .ffffff when the fraction is not zero. */
    t = sp + 1;
    if (!rep__digits(t, 2) || t[2] != ':' || !rep__digits(t + 3, 2) ||
        t[5] != ':' || !rep__digits(t + 6, 2))
        return -1;
    f = t + 8;
    if (*f == '.') {
        size_t k = 0;
        for (f++; *f >= '0' && *f <= '9'; f++, k++)
            if (k < sizeof(frac))
                frac[k] = *f;
        if (k == 0)
            return -1;
    }
    if (*f != '\0') /* " BC", a zone: not what REP_TS gives */
        return -1;
    memcpy(out, pg, d);
    out[d] = 'T';
    memcpy(out + d + 1, t, 8);
    out[d + 9] = '.';
    memcpy(out + d + 10, frac, nf);
    out[d + 10 + nf] = 'Z';
    out[d + 11 + nf] = '\0';
    return (int)(d + 11 + nf);
}

/* Column c of the row as a JSON string, or null when SQL NULL. */
static void rep__col(struct rep_buf *b, const PGresult *res, int row, int c)
{
    if (PQgetisnull(res, row, c))
        rep_buf_lit(b, "null");
    else
        rep_buf_str(b, PQgetvalue(res, row, c),
                    (size_t)PQgetlength(res, row, c));
}

/* A REP_TS column as mq_ts writes it: null when SQL NULL or infinite
 * (to_char gives NULL for those). Returns -1 when malformed. */
static int rep__ts_col(struct rep_buf *b, const PGresult *res, int row, int c)
{
    const char *v = PQgetvalue(res, row, c);
    char ts[REP_TS_MAX];
    int n;

    if (PQgetisnull(res, row, c) || strcmp(v, "infinity") == 0 ||
        strcmp(v, "-infinity") == 0) {
        rep_buf_lit(b, "null");
        return 0;
    }
    n = rep_ts(v, false, ts);
    if (n < 0)
        return -1;
    rep_buf_str(b, ts, (size_t)n);
    return 0;
}

/* {"slug","name"} from columns c and c+1, or null when there is no such
 * row (c is NULL), as mq__department_of gives it. */
static void rep__slug_name(struct rep_buf *b, const PGresult *res, int row,
                           int c)
{
    if (PQgetisnull(res, row, c)) {
        rep_buf_lit(b, "null");
        return;
    }
    rep_buf_lit(b, "{\"slug\":");
    rep__col(b, res, row, c);
    rep_buf_lit(b, ",\"name\":");
    rep__col(b, res, row, c + 1);
    rep_buf_lit(b, "}");
}

/* {"id","name","department"} of a doctor from columns c..c+3, or null
 * (mq__reply_doctor). */
static void rep__doctor(struct rep_buf *b, const PGresult *res, int row, int c)
{
    if (PQgetisnull(res, row, c)) {
        rep_buf_lit(b, "null");
        return;
    }
    rep_buf_lit(b, "{\"id\":");
    rep__col(b, res, row, c);
    rep_buf_lit(b, ",\"name\":");
    rep__col(b, res, row, c + 1);
    rep_buf_lit(b, ",\"department\":");
    rep__slug_name(b, res, row, c + 2);
    rep_buf_lit(b, "}");
}

static void rep__cstr(struct rep_buf *b, const char *s)
{
    rep_buf_str(b, s, strlen(s));
}

/* `key`{"k1":v1[,"k2":v2]}, v2 left out when NULL (rep__pair). */
static void rep__put_pair(struct rep_buf *b, const char *key, const char *k1,
                          const char *v1, const char *k2, const char *v2)
{
    rep_buf_raw(b, key, strlen(key));
    rep_buf_lit(b, "{");
    rep_buf_raw(b, k1, strlen(k1));
    rep__cstr(b, v1);
    if (v2 != NULL) {
        rep_buf_raw(b, k2, strlen(k2));
        rep__cstr(b, v2);
    }
    rep_buf_lit(b, "}");
}

/* What rep_add_fields() appends, for the object whose id is `id` and
 * whose question is `qid`, each member preceded by a comma. */
static int rep__fields(struct rep_buf *b, const struct config *cfg,
                       enum rep_kind kind, const char *qid, const char *id)
{
    char page[CONTENT_URL_MAX];
    bool has_page = content_canonical_url(cfg, qid, page, sizeof(page));

    if (cfg->license_name == NULL || cfg->site_name == NULL ||
        cfg->disclaimer_text == NULL)
        return -1; /* rep__pair() fails on those too */
    if (has_page && kind == REP_REPLY) {
        size_t n = strlen(page);
        int w = snprintf(page + n, sizeof(page) - n, "#reply-%s", id);
        has_page = w > 0 && (size_t)w < sizeof(page) - n;
    }
    if (has_page) {
        rep_buf_lit(b, ",\"canonical_url\":");
        rep__cstr(b, page);
    }
    rep__put_pair(b, ",\"license\":", "\"name\":", cfg->license_name,
                  ",\"url\":", cfg->license_url);
    rep__put_pair(b, ",\"attribution\":", "\"text\":", cfg->site_name,
                  ",\"url\":", has_page ? page : NULL);
    rep__put_pair(b, ",\"disclaimer\":", "\"text\":", cfg->disclaimer_text,
                  ",\"url\":", cfg->disclaimer_url);
    return 0;
}

int rep_question_head(struct rep_buf *b, const PGresult *res, int row, int c)
{
    /* The key order of mq__question_doc. */
    rep_buf_lit(b, "{\"id\":");
    rep__col(b, res, row, c);
    rep_buf_lit(b, ",\"title\":");
    rep__col(b, res, row, c + 1);
    rep_buf_lit(b, ",\"body\":");
    rep__col(b, res, row, c + 2);
    rep_buf_lit(b, ",\"language\":");
    rep__col(b, res, row, c + 3);
    rep_buf_lit(b, ",\"asker\":{\"name\":");
    rep__col(b, res, row, c + 4);
    rep_buf_lit(b, ",\"age_band\":");
    rep__col(b, res, row, c + 5);
    rep_buf_lit(b, ",\"gender\":");
    rep__col(b, res, row, c + 6);
    rep_buf_lit(b, "},\"department\":");
    rep__slug_name(b, res, row, c + 7);
    rep_buf_lit(b, ",\"topics\":[");
    return PQgetisnull(res, row, c) ? -1 : 0;
}

void rep_topic(struct rep_buf *b, bool first, const char *slug,
               const char *name)
{
    if (first)
        rep_buf_lit(b, "{\"slug\":");
    else
        rep_buf_lit(b, ",{\"slug\":");
    rep__cstr(b, slug);
    rep_buf_lit(b, ",\"name\":");
    rep__cstr(b, name);
    rep_buf_lit(b, "}");
}

int rep_question_tail(struct rep_buf *b, const struct config *cfg,
                      const PGresult *res, int row, int c, const char *base)
{
    const char *id = PQgetvalue(res, row, c);
    const char *count = PQgetvalue(res, row, c + 10);
    size_t ncount = (size_t)PQgetlength(res, row, c + 10);
    char url[CONTENT_URL_MAX];
    int n;

    rep_buf_lit(b, "],\"state\":");
    rep__col(b, res, row, c + 9);
    /* An integer as jansson writes one: int4's text is that already. */
    if (ncount == 0 ||
        !rep__digits(count + (count[0] == '-'), ncount - (count[0] == '-')))
        return -1;
    rep_buf_lit(b, ",\"reply_count\":");
    rep_buf_raw(b, count, ncount);
    rep_buf_lit(b, ",\"asked_at\":");
    if (rep__ts_col(b, res, row, c + 11) != 0)
        return -1;
    rep_buf_lit(b, ",\"updated_at\":");
    if (rep__ts_col(b, res, row, c + 12) != 0)
        return -1;
    n = snprintf(url, sizeof(url), "%s/questions/%s", base, id);
    if (n < 0)
        return -1;
    rep_buf_lit(b, ",\"url\":");
    rep_buf_str(b, url, (size_t)n < sizeof(url) ? (size_t)n : strlen(url));
    rep_buf_lit(b, ",\"headline\":");
    rep__col(b, res, row, c + 13);
    rep_buf_lit(b, ",\"medical_review\":");
    if (PQgetisnull(res, row, c + 14)) {
        rep_buf_lit(b, "null");
    } else {
        rep_buf_lit(b, "{\"reviewed_by\":");
        rep__doctor(b, res, row, c + 14);
        rep_buf_lit(b, ",\"last_reviewed\":");
        if (rep__ts_col(b, res, row, c + 18) != 0)
            return -1;
        rep_buf_lit(b, "}");
    }
    return rep__fields(b, cfg, REP_QUESTION, id, id);
}

int rep_question(struct rep_buf *b, const struct config *cfg,
                 const PGresult *res, int row, int col, const char *base,
                 const PGresult *topics)
{
    const char *id = PQgetvalue(res, row, col);
    int lo = 0;
    int hi = topics != NULL ? PQntuples(topics) : 0;

    if (rep_question_head(b, res, row, col) != 0)
        return -1;
    /* The first row of this question's topics: uuids order as their
     * text does (fixed-width lower-case hex). */
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (strcmp(PQgetvalue(topics, mid, 0), id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (int k = lo; topics != NULL && k < PQntuples(topics) &&
                     strcmp(PQgetvalue(topics, k, 0), id) == 0;
         k++)
        rep_topic(b, k == lo, PQgetvalue(topics, k, 1),
                  PQgetvalue(topics, k, 2));
    if (rep_question_tail(b, cfg, res, row, col, base) != 0)
        return -1;
    rep_buf_lit(b, "}");
    return 0;
}

int rep_reply(struct rep_buf *b, const struct config *cfg, const PGresult *res,
              int row, int c)
{
    if (PQgetisnull(res, row, c) || PQgetisnull(res, row, c + 1))
        return -1;
    rep_buf_lit(b, "{\"id\":");
    rep__col(b, res, row, c);
    rep_buf_lit(b, ",\"question_id\":");
    rep__col(b, res, row, c + 1);
    rep_buf_lit(b, ",\"kind\":");
    rep__col(b, res, row, c + 2);
    rep_buf_lit(b, ",\"body\":");
    rep__col(b, res, row, c + 3);
    rep_buf_lit(b, ",\"doctor\":");
    rep__doctor(b, res, row, c + 4);
    rep_buf_lit(b, ",\"replied_at\":");
    if (rep__ts_col(b, res, row, c + 8) != 0)
        return -1;
    rep_buf_lit(b, ",\"updated_at\":");
    if (rep__ts_col(b, res, row, c + 9) != 0)
        return -1;
    if (rep__fields(b, cfg, REP_REPLY, PQgetvalue(res, row, c + 1),
                    PQgetvalue(res, row, c)) != 0)
        return -1;
    rep_buf_lit(b, "}");
    return 0;
}
