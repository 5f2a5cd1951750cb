/* validate — a JSON Schema (2020-12 subset used by OpenAPI 3.1) validator
 * over jansson values.
 *
 * Every `pattern` string in the document is compiled once by validate_new()
 * and kept in a table sorted by the pattern's text, so a validation call only
 * looks the compiled code up. After validate_new() returns nothing in the
 * validator changes: each validate_json() call keeps its state (the pointer
 * being built, the error count, PCRE2 match data) on its own stack or heap,
 * so any number of threads may validate at once.
 *
 * Failures are reported as {"pointer", "detail"} objects. The detail never
 * quotes the instance's value, because request bodies may carry secrets;
 * quoting the schema's own values (enum lists, bounds, patterns) is fine. */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "medqa/validate.h"

#include <pcre2.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How many schema applications may nest. Deeply nested bodies against a
 * recursive schema produce an error for the client; a chain of this many
 * schema steps without descending into the instance can only be a $ref (or
 * allOf) cycle, which is a broken schema. */
#define MAX_DEPTH 64

/* Longest detail sentence; long enum lists are cut short with "…". */
#define DETAIL_MAX 512

/* Backtracking budget for one pattern match, so that a pathological pattern
 * and a hostile string cannot pin a worker thread. */
#define MATCH_LIMIT 1000000u
#define MATCH_DEPTH_LIMIT 10000u

struct compiled_pattern {
    const char *src; /* borrowed from the document, which we keep alive */
    size_t len;
    pcre2_code *code;
};

struct validator {
    json_t *doc;
    struct compiled_pattern *patterns; /* sorted by (src, len) */
    size_t npatterns;
    pcre2_match_context *mctx; /* read-only after creation */
};

/* The RFC 6901 pointer of the instance location being checked, prefix
 * included. Segments are appended on the way down and cut off on the way
 * back up by restoring the saved length. */
struct pathbuf {
    char *s;
    size_t len;
    size_t cap;
};

/* One validation pass. A probe (errors == NULL) only counts failures and
 * stops at the first, which is all anyOf/oneOf/not need to know. */
struct run {
    const struct validator *v;
    json_t *errors;
    int count;
    int max;
    struct pathbuf *path;
};

static int apply(struct run *r, json_t *schema, json_t *inst, int depth,
                 int stall);

/* jansson's object iteration functions take json_t * although they only
 * read. The public entry points accept const values; this view lets the
 * internals iterate them without a cast that -Wcast-qual would reject.
 * Nothing in this file ever modifies an instance or a schema. */
static json_t *readonly_view(const json_t *j)
{
    union {
        const json_t *c;
        json_t *m;
    } u = {.c = j};
    return u.m;
}

/* ---- pointer building ---- */

static int path_reserve(struct pathbuf *pb, size_t extra)
{
    if (pb->len + extra + 1 <= pb->cap)
        return 0;
    size_t cap = pb->cap ? pb->cap : 64;
    while (cap < pb->len + extra + 1)
        cap *= 2;
    char *s = realloc(pb->s, cap);
    if (s == NULL)
        return -1;
    pb->s = s;
    pb->cap = cap;
    return 0;
}

/* Appends "/" and the key with "~" and "/" escaped as RFC 6901 requires. */
static int path_push_key(struct pathbuf *pb, const char *key, size_t len)
{
    if (path_reserve(pb, 1 + 2 * len) != 0)
        return -1;
    pb->s[pb->len++] = '/';
    for (size_t i = 0; i < len; i++) {
        if (key[i] == '~') {
            pb->s[pb->len++] = '~';
            pb->s[pb->len++] = '0';
        } else if (key[i] == '/') {
            pb->s[pb->len++] = '~';
            pb->s[pb->len++] = '1';
        } else {
            pb->s[pb->len++] = key[i];
        }
    }
    pb->s[pb->len] = '\0';
    return 0;
}

static int path_push_index(struct pathbuf *pb, size_t index)
{
    char num[32];
    int n = snprintf(num, sizeof(num), "/%zu", index);
    if (path_reserve(pb, (size_t)n) != 0)
        return -1;
    memcpy(pb->s + pb->len, num, (size_t)n + 1);
    pb->len += (size_t)n;
    return 0;
}

static void path_restore(struct pathbuf *pb, size_t len)
{
    pb->len = len;
    pb->s[len] = '\0';
}

/* ---- error reporting ---- */

static bool run_full(const struct run *r)
{
    return r->count >= r->max;
}

/* Appends one error at the current pointer. Returns 0, or -1 when memory
 * runs out (which the caller reports like a broken schema: the result would
 * be unreliable). */
static int emit(struct run *r, const char *detail)
{
    if (run_full(r))
        return 0;
    r->count++;
    if (r->errors == NULL)
        return 0;
    json_t *e = json_object();
    json_t *p = json_stringn(r->path->s, r->path->len);
    json_t *d = json_string(detail);
    if (e == NULL || p == NULL || d == NULL) {
        json_decref(e);
        json_decref(p);
        json_decref(d);
        return -1;
    }
    if (json_object_set_new(e, "pointer", p) != 0 ||
        json_object_set_new(e, "detail", d) != 0 ||
        json_array_append_new(r->errors, e) != 0)
        return -1;
    return 0;
}

static int emitf(struct run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int emitf(struct run *r, const char *fmt, ...)
{
    char detail[DETAIL_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    return emit(r, detail);
}

/* Emits `detail` at the pointer of the member `key` of the current
 * location, e.g. "is required" for a missing property. */
static int emit_at_key(struct run *r, const char *key, size_t len,
                       const char *detail)
{
    size_t saved = r->path->len;
    if (path_push_key(r->path, key, len) != 0)
        return -1;
    int rc = emit(r, detail);
    path_restore(r->path, saved);
    return rc;
}

/* ---- text helpers for detail sentences ---- */

/* A bounded string builder that never splits a UTF-8 sequence and marks a
 * cut with "…". */
struct text {
    char buf[DETAIL_MAX];
    size_t len;
    bool cut;
};

static void text_add(struct text *t, const char *s, size_t n)
{
    const size_t room = sizeof(t->buf) - 4; /* "…" and NUL */
    if (t->cut)
        return;
    if (t->len + n > room) {
        n = room - t->len;
        /* Back off to a code point boundary. */
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
        memcpy(t->buf + t->len, s, n);
        t->len += n;
        memcpy(t->buf + t->len, "\xE2\x80\xA6", 3);
        t->len += 3;
        t->cut = true;
    } else {
        memcpy(t->buf + t->len, s, n);
        t->len += n;
    }
    t->buf[t->len] = '\0';
}

static void text_adds(struct text *t, const char *s)
{
    text_add(t, s, strlen(s));
}

/* Writes a JSON number from the schema the way a person would read it. */
static void format_number(const json_t *n, char *buf, size_t len)
{
    if (json_is_integer(n))
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(n));
    else
        snprintf(buf, len, "%.15g", json_number_value(n));
}

/* Adds one schema value: strings as they are, anything else as JSON. */
static void text_add_value(struct text *t, const json_t *val)
{
    if (json_is_string(val)) {
        /* Up to the first NUL: the sentence is a C string anyway. */
        text_adds(t, json_string_value(val));
        return;
    }
    if (json_is_number(val)) {
        char num[64];
        format_number(val, num, sizeof(num));
        text_adds(t, num);
        return;
    }
    char *s = json_dumps(val, JSON_ENCODE_ANY | JSON_COMPACT);
    text_adds(t, s ? s : "?");
    free(s);
}

/* ---- small predicates ---- */

static bool real_is_integral(double x)
{
    /* Beyond 2^53 every double is an integer; below it the conversion is
     * exact, so comparing with the truncated value is a reliable test. */
    if (x >= 9007199254740992.0 || x <= -9007199254740992.0)
        return true;
    return (double)(int64_t)x == x;
}

static bool is_integral(const json_t *j)
{
    return json_is_integer(j) ||
           (json_is_real(j) && real_is_integral(json_real_value(j)));
}

/* Compares two JSON numbers: exactly when both are integers, as doubles
 * otherwise. */
static int number_cmp(const json_t *a, const json_t *b)
{
    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t x = json_integer_value(a), y = json_integer_value(b);
        return (x > y) - (x < y);
    }
    double x = json_number_value(a), y = json_number_value(b);
    return (x > y) - (x < y);
}

/* JSON Schema equality: like json_equal(), except that numbers compare by
 * value, so 1 and 1.0 are the same (jansson considers them different). */
static bool values_equal(json_t *a, json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return number_cmp(a, b) == 0;
    if (json_typeof(a) != json_typeof(b))
        return false;
    if (json_is_array(a)) {
        size_t n = json_array_size(a);
        if (n != json_array_size(b))
            return false;
        for (size_t i = 0; i < n; i++)
            if (!values_equal(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    }
    if (json_is_object(a)) {
        const char *key;
        size_t klen;
        json_t *va;
        if (json_object_size(a) != json_object_size(b))
            return false;
        json_object_keylen_foreach(a, key, klen, va) {
            json_t *vb = json_object_getn(b, key, klen);
            if (vb == NULL || !values_equal(va, vb))
                return false;
        }
        return true;
    }
    return json_equal(a, b);
}

/* Number of Unicode code points: every byte that does not continue a UTF-8
 * sequence starts one. jansson has already checked the encoding. */
static size_t utf8_length(const char *s, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            count++;
    return count;
}

/* Reads a keyword that must be a non-negative integer (minLength, …).
 * Returns 0 when absent, 1 when present, -1 when malformed. */
static int get_count(json_t *schema, const char *kw, json_int_t *out)
{
    json_t *j = json_object_get(schema, kw);
    if (j == NULL)
        return 0;
    if (!is_integral(j) || json_number_value(j) < 0)
        return -1;
    *out = json_is_integer(j) ? json_integer_value(j)
                              : (json_int_t)json_real_value(j);
    return 1;
}

/* ---- formats ---- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Parses exactly `n` digits at s; returns -1 when they are not all digits. */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static bool is_uuid(const char *s, size_t n)
{
    if (n != 36)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !is_hex(s[i]))
            return false;
    }
    return true;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* RFC 3339 full-date: YYYY-MM-DD with a day that exists in that month. */
static bool is_date_prefix(const char *s, size_t n)
{
    if (n < 10 || s[4] != '-' || s[7] != '-')
        return false;
    int y = digits(s, 4), m = digits(s + 5, 2), d = digits(s + 8, 2);
    /* Year 0000 is well-formed RFC 3339 but names no year PostgreSQL (or
     * the Gregorian calendar) has: it goes from 1 BC to AD 1. */
    if (y < 1 || m < 1 || m > 12 || d < 1)
        return false;
    return d <= days_in_month(y, m);
}

static bool is_date(const char *s, size_t n)
{
    return n == 10 && is_date_prefix(s, n);
}

/* RFC 3339 date-time: full-date "T" HH:MM:SS[.frac] ("Z" / ±HH:MM). A
 * second of 60 is allowed for leap seconds. */
static bool is_date_time(const char *s, size_t n)
{
    if (n < 20 || !is_date_prefix(s, n) || (s[10] != 'T' && s[10] != 't'))
        return false;
    const char *t = s + 11;
    const char *end = s + n;
    if (s[13] != ':' || s[16] != ':')
        return false;
    int hh = digits(t, 2), mm = digits(t + 3, 2), ss = digits(t + 6, 2);
    if (hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60)
        return false;
    t += 8;
    if (t < end && *t == '.') {
        const char *frac = ++t;
        while (t < end && is_digit(*t))
            t++;
        if (t == frac)
            return false;
    }
    if (t == end)
        return false;
    if (*t == 'Z' || *t == 'z')
        return t + 1 == end;
    if ((*t != '+' && *t != '-') || end - t != 6 || t[3] != ':')
        return false;
    int oh = digits(t + 1, 2), om = digits(t + 4, 2);
    return oh >= 0 && oh <= 23 && om >= 0 && om <= 59;
}

static bool has_space_or_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7F)
            return true;
    }
    return false;
}

/* A deliberately plain check: one "@", a non-empty local part, a domain
 * with a dot that neither starts nor ends it nor doubles up, no spaces,
 * at most 254 characters (the SMTP path limit). */
static bool is_email(const char *s, size_t n)
{
    if (n > 254 || has_space_or_control(s, n))
        return false;
    const char *at = memchr(s, '@', n);
    if (at == NULL || at == s)
        return false;
    const char *dom = at + 1;
    size_t dlen = n - (size_t)(dom - s);
    if (dlen == 0 || memchr(dom, '@', dlen) != NULL)
        return false;
    if (memchr(dom, '.', dlen) == NULL || dom[0] == '.' || dom[dlen - 1] == '.')
        return false;
    for (size_t i = 1; i < dlen; i++)
        if (dom[i] == '.' && dom[i - 1] == '.')
            return false;
    return true;
}

/* RFC 3986 scheme ":" followed by at least one character, no spaces. */
static bool is_uri(const char *s, size_t n)
{
    if (n < 3 || !is_alpha(s[0]) || has_space_or_control(s, n))
        return false;
    size_t i = 1;
    while (i < n && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' ||
                     s[i] == '-' || s[i] == '.'))
        i++;
    return i < n && s[i] == ':' && i + 1 < n;
}

static int check_format(struct run *r, const char *format, const char *s,
                        size_t n)
{
    bool ok;
    if (strcmp(format, "uuid") == 0)
        ok = is_uuid(s, n);
    else if (strcmp(format, "date-time") == 0)
        ok = is_date_time(s, n);
    else if (strcmp(format, "date") == 0)
        ok = is_date(s, n);
    else if (strcmp(format, "email") == 0)
        ok = is_email(s, n);
    else if (strcmp(format, "uri") == 0)
        ok = is_uri(s, n);
    else
        return 0; /* unknown formats are annotations only */
    return ok ? 0 : emitf(r, "must be a valid %s", format);
}

/* ---- patterns ---- */

static int pattern_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return (alen > blen) - (alen < blen);
}

static int pattern_sort_cmp(const void *a, const void *b)
{
    const struct compiled_pattern *x = a, *y = b;
    return pattern_cmp(x->src, x->len, y->src, y->len);
}

static const struct compiled_pattern *pattern_find(const struct validator *v,
                                                   const char *src, size_t len)
{
    size_t lo = 0, hi = v->npatterns;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct compiled_pattern *p = &v->patterns[mid];
        int c = pattern_cmp(src, len, p->src, p->len);
        if (c == 0)
            return p;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static pcre2_code *pattern_compile(const char *src, size_t len, char *errbuf,
                                   size_t errlen)
{
    int errcode;
    PCRE2_SIZE erroff;
    /* ALT_BSUX: ECMA-262's \uHHHH escapes, as the spec writes non-ASCII
     * white space (JSON Schema patterns are ECMA-262). */
    pcre2_code *code =
        pcre2_compile((PCRE2_SPTR)src, len, PCRE2_UTF | PCRE2_ALT_BSUX,
                      &errcode, &erroff, NULL);
    if (code == NULL && errbuf != NULL && errlen > 0) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(errcode, msg, sizeof(msg));
        snprintf(errbuf, errlen,
                 "pattern \"%.*s\" does not compile at offset %zu: %s",
                 (int)(len > 100 ? 100 : len), src, (size_t)erroff,
                 (const char *)msg);
    }
    return code;
}

/* Returns 1 when `code` finds a match anywhere in the subject (JSON Schema
 * patterns are not anchored), 0 when not, -1 when memory runs out. A match
 * that exceeds its budget counts as no match: the value is rejected rather
 * than the worker held up. */
static int pattern_match(const struct validator *v, const pcre2_code *code,
                         const char *s, size_t n)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(code, NULL);
    if (md == NULL)
        return -1;
    int rc = pcre2_match(code, (PCRE2_SPTR)s, n, 0, 0, md, v->mctx);
    pcre2_match_data_free(md);
    return rc >= 0 ? 1 : 0;
}

static int check_pattern(struct run *r, json_t *pattern, const char *s,
                         size_t n)
{
    const char *src = json_string_value(pattern);
    size_t len = json_string_length(pattern);
    const struct compiled_pattern *p = pattern_find(r->v, src, len);
    pcre2_code *own = NULL;
    const pcre2_code *code;
    int rc;

    if (p != NULL) {
        code = p->code;
    } else {
        /* A schema built outside the document: compile for this call. */
        own = pattern_compile(src, len, NULL, 0);
        if (own == NULL)
            return -1;
        code = own;
    }
    rc = pattern_match(r->v, code, s, n);
    if (rc == 0) {
        struct text t = {.len = 0};
        text_adds(&t, "must match the pattern ");
        text_add_value(&t, pattern);
        rc = emit(r, t.buf);
    } else if (rc == 1) {
        rc = 0;
    }
    pcre2_code_free(own);
    return rc;
}

/* ---- keyword groups ---- */

/* Does `inst` have the JSON Schema type `name`? -1 for an unknown name. */
static int type_matches(const char *name, const json_t *inst)
{
    if (strcmp(name, "null") == 0)
        return json_is_null(inst);
    if (strcmp(name, "boolean") == 0)
        return json_is_boolean(inst);
    if (strcmp(name, "object") == 0)
        return json_is_object(inst);
    if (strcmp(name, "array") == 0)
        return json_is_array(inst);
    if (strcmp(name, "number") == 0)
        return json_is_number(inst);
    if (strcmp(name, "string") == 0)
        return json_is_string(inst);
    if (strcmp(name, "integer") == 0)
        return is_integral(inst);
    return -1;
}

static const char *type_noun(const char *name)
{
    if (strcmp(name, "null") == 0)
        return "null";
    if (strcmp(name, "object") == 0)
        return "an object";
    if (strcmp(name, "array") == 0)
        return "an array";
    if (strcmp(name, "integer") == 0)
        return "an integer";
    if (strcmp(name, "boolean") == 0)
        return "a boolean";
    if (strcmp(name, "number") == 0)
        return "a number";
    return "a string";
}

/* Returns 0 when the type matches (or no type is given), 1 after emitting
 * a mismatch, -1 for a malformed `type`. */
static int check_type(struct run *r, json_t *schema, json_t *inst)
{
    json_t *type = json_object_get(schema, "type");
    size_t n;

    if (type == NULL)
        return 0;
    if (json_is_string(type)) {
        int m = type_matches(json_string_value(type), inst);
        if (m < 0)
            return -1;
        if (m)
            return 0;
        int rc = emitf(r, "must be %s", type_noun(json_string_value(type)));
        return rc < 0 ? rc : 1;
    }
    if (!json_is_array(type) || (n = json_array_size(type)) == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        json_t *t = json_array_get(type, i);
        if (!json_is_string(t))
            return -1;
        int m = type_matches(json_string_value(t), inst);
        if (m < 0)
            return -1;
        if (m)
            return 0;
    }
    /* "must be a string or null", "must be an object, an array or null" */
    struct text t = {.len = 0};
    text_adds(&t, "must be ");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            text_adds(&t, i + 1 == n ? " or " : ", ");
        text_adds(&t, type_noun(json_string_value(json_array_get(type, i))));
    }
    int rc = emit(r, t.buf);
    return rc < 0 ? rc : 1;
}

static int check_enum_const(struct run *r, json_t *schema, json_t *inst)
{
    json_t *c = json_object_get(schema, "const");
    json_t *e = json_object_get(schema, "enum");
    int rc;

    if (c != NULL && !values_equal(c, inst)) {
        if (json_is_object(c) || json_is_array(c)) {
            rc = emit(r, "must be equal to the expected value");
        } else {
            struct text t = {.len = 0};
            text_adds(&t, "must be equal to ");
            text_add_value(&t, c);
            rc = emit(r, t.buf);
        }
        if (rc < 0)
            return rc;
    }
    if (e == NULL)
        return 0;
    if (!json_is_array(e))
        return -1;
    size_t n = json_array_size(e);
    for (size_t i = 0; i < n; i++)
        if (values_equal(json_array_get(e, i), inst))
            return 0;
    struct text t = {.len = 0};
    text_adds(&t, "must be one of: ");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            text_adds(&t, ", ");
        text_add_value(&t, json_array_get(e, i));
    }
    return emit(r, t.buf);
}

static int check_string(struct run *r, json_t *schema, json_t *inst)
{
    const char *s = json_string_value(inst);
    size_t n = json_string_length(inst);
    json_int_t lim;
    int has, rc;

    if ((has = get_count(schema, "minLength", &lim)) < 0)
        return -1;
    if (has && (json_int_t)utf8_length(s, n) < lim) {
        rc = emitf(r, "must be at least %" JSON_INTEGER_FORMAT " character%s",
                   lim, lim == 1 ? "" : "s");
        if (rc < 0)
            return rc;
    }
    if ((has = get_count(schema, "maxLength", &lim)) < 0)
        return -1;
    if (has && (json_int_t)utf8_length(s, n) > lim) {
        rc = emitf(r, "must be at most %" JSON_INTEGER_FORMAT " character%s",
                   lim, lim == 1 ? "" : "s");
        if (rc < 0)
            return rc;
    }
    json_t *pattern = json_object_get(schema, "pattern");
    if (pattern != NULL) {
        if (!json_is_string(pattern))
            return -1;
        if ((rc = check_pattern(r, pattern, s, n)) < 0)
            return rc;
    }
    json_t *format = json_object_get(schema, "format");
    if (json_is_string(format))
        return check_format(r, json_string_value(format), s, n);
    return 0;
}

/* Is x a multiple of m (m > 0)? Exact for integers; for reals the quotient
 * is allowed a relative error of 1e-9 so that 0.3 is a multiple of 0.1. */
static bool is_multiple(const json_t *x, const json_t *m)
{
    if (json_is_integer(x) && json_is_integer(m))
        return json_integer_value(x) % json_integer_value(m) == 0;
    double q = json_number_value(x) / json_number_value(m);
    double aq = q < 0 ? -q : q;
    if (aq >= 9007199254740992.0)
        return true;
    double frac = q - (double)(int64_t)q;
    if (frac < 0)
        frac = -frac;
    double tol = 1e-9 * (aq > 1 ? aq : 1);
    return frac <= tol || 1 - frac <= tol;
}

static int check_number(struct run *r, json_t *schema, json_t *inst)
{
    json_t *min = json_object_get(schema, "minimum");
    json_t *max = json_object_get(schema, "maximum");
    json_t *xmin = json_object_get(schema, "exclusiveMinimum");
    json_t *xmax = json_object_get(schema, "exclusiveMaximum");
    json_t *mult = json_object_get(schema, "multipleOf");
    char num[64];
    int rc;

    if ((min && !json_is_number(min)) || (max && !json_is_number(max)))
        return -1;
    if ((xmin && !json_is_number(xmin) && !json_is_boolean(xmin)) ||
        (xmax && !json_is_number(xmax) && !json_is_boolean(xmax)))
        return -1;
    /* OpenAPI 3.0 wrote exclusiveMinimum: true next to minimum; honour that
     * too, since documents are often half-converted. */
    if (json_is_true(xmin) && min != NULL) {
        xmin = min;
        min = NULL;
    }
    if (json_is_true(xmax) && max != NULL) {
        xmax = max;
        max = NULL;
    }
    if (min && number_cmp(inst, min) < 0) {
        format_number(min, num, sizeof(num));
        if ((rc = emitf(r, "must be at least %s", num)) < 0)
            return rc;
    }
    if (json_is_number(xmin) && number_cmp(inst, xmin) <= 0) {
        format_number(xmin, num, sizeof(num));
        if ((rc = emitf(r, "must be greater than %s", num)) < 0)
            return rc;
    }
    if (max && number_cmp(inst, max) > 0) {
        format_number(max, num, sizeof(num));
        if ((rc = emitf(r, "must be at most %s", num)) < 0)
            return rc;
    }
    if (json_is_number(xmax) && number_cmp(inst, xmax) >= 0) {
        format_number(xmax, num, sizeof(num));
        if ((rc = emitf(r, "must be less than %s", num)) < 0)
            return rc;
    }
    if (mult != NULL) {
        if (!json_is_number(mult) || json_number_value(mult) <= 0)
            return -1;
        if (!is_multiple(inst, mult)) {
            format_number(mult, num, sizeof(num));
            return emitf(r, "must be a multiple of %s", num);
        }
    }
    return 0;
}

static int check_object(struct run *r, json_t *schema, json_t *inst, int depth)
{
    json_t *required = json_object_get(schema, "required");
    json_t *props = json_object_get(schema, "properties");
    json_t *addl = json_object_get(schema, "additionalProperties");
    json_int_t lim;
    int has, rc;
    const char *key;
    size_t klen;
    json_t *val;

    if (required != NULL) {
        if (!json_is_array(required))
            return -1;
        for (size_t i = 0; i < json_array_size(required); i++) {
            json_t *name = json_array_get(required, i);
            if (!json_is_string(name))
                return -1;
            const char *k = json_string_value(name);
            size_t kl = json_string_length(name);
            if (json_object_getn(inst, k, kl) != NULL)
                continue;
            if ((rc = emit_at_key(r, k, kl, "is required")) < 0)
                return rc;
        }
    }
    if (props != NULL && !json_is_object(props))
        return -1;
    json_object_keylen_foreach(inst, key, klen, val) {
        json_t *sub = props ? json_object_getn(props, key, klen) : NULL;
        if (sub == NULL) {
            /* additionalProperties applies only to members that no
             * `properties` entry covers; absent or true admits them. */
            if (addl == NULL || json_is_true(addl))
                continue;
            if (json_is_false(addl)) {
                rc = emit_at_key(r, key, klen, "is not allowed");
                if (rc < 0)
                    return rc;
                continue;
            }
            sub = addl;
        }
        if (run_full(r))
            break;
        size_t saved = r->path->len;
        if (path_push_key(r->path, key, klen) != 0)
            return -1;
        rc = apply(r, sub, val, depth + 1, 0);
        path_restore(r->path, saved);
        if (rc < 0)
            return rc;
    }
    size_t size = json_object_size(inst);
    if ((has = get_count(schema, "minProperties", &lim)) < 0)
        return -1;
    if (has && (json_int_t)size < lim) {
        rc = emitf(r, "must have at least %" JSON_INTEGER_FORMAT " propert%s",
                   lim, lim == 1 ? "y" : "ies");
        if (rc < 0)
            return rc;
    }
    if ((has = get_count(schema, "maxProperties", &lim)) < 0)
        return -1;
    if (has && (json_int_t)size > lim)
        return emitf(r, "must have at most %" JSON_INTEGER_FORMAT " propert%s",
                     lim, lim == 1 ? "y" : "ies");
    return 0;
}

static int check_array(struct run *r, json_t *schema, json_t *inst, int depth)
{
    size_t n = json_array_size(inst);
    json_t *unique = json_object_get(schema, "uniqueItems");
    json_t *items = json_object_get(schema, "items");
    json_int_t lim;
    int has, rc;

    if ((has = get_count(schema, "minItems", &lim)) < 0)
        return -1;
    if (has && (json_int_t)n < lim) {
        rc = emitf(r, "must have at least %" JSON_INTEGER_FORMAT " item%s", lim,
                   lim == 1 ? "" : "s");
        if (rc < 0)
            return rc;
    }
    if ((has = get_count(schema, "maxItems", &lim)) < 0)
        return -1;
    if (has && (json_int_t)n > lim) {
        rc = emitf(r, "must have at most %" JSON_INTEGER_FORMAT " item%s", lim,
                   lim == 1 ? "" : "s");
        if (rc < 0)
            return rc;
    }
    if (unique != NULL && !json_is_boolean(unique))
        return -1;
    if (json_is_true(unique)) {
        /* Quadratic, but bodies are size-limited and arrays that ask for
         * uniqueness are short in practice (tags, ids). */
        bool dup = false;
        for (size_t i = 0; i < n && !dup; i++)
            for (size_t j = i + 1; j < n && !dup; j++)
                dup = values_equal(json_array_get(inst, i),
                                   json_array_get(inst, j));
        if (dup && (rc = emit(r, "must not contain duplicate items")) < 0)
            return rc;
    }
    if (items == NULL)
        return 0;
    for (size_t i = 0; i < n && !run_full(r); i++) {
        size_t saved = r->path->len;
        if (path_push_index(r->path, i) != 0)
            return -1;
        rc = apply(r, items, json_array_get(inst, i), depth + 1, 0);
        path_restore(r->path, saved);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Runs `schema` as a probe: 1 when the instance passes, 0 when it fails,
 * negative for a broken schema. Nothing is appended to the real errors. */
static int probe(struct run *r, json_t *schema, json_t *inst, int depth,
                 int stall)
{
    struct run p = {.v = r->v, .errors = NULL, .max = 1, .path = r->path};
    int rc = apply(&p, schema, inst, depth, stall);
    if (rc < 0)
        return rc;
    return p.count == 0;
}

/* A branch that only admits null, as in anyOf: [{$ref: X}, {type: null}]. */
static bool is_null_branch(json_t *schema)
{
    json_t *type = json_object_get(schema, "type");
    return json_is_string(type) && strcmp(json_string_value(type), "null") == 0;
}

/* When all but one branch of anyOf/oneOf are null alternatives, the client
 * almost certainly meant that one branch, whose own errors say far more than
 * "must match one of the allowed shapes". Returns it, or NULL. */
static json_t *sole_non_null_branch(json_t *branches)
{
    json_t *found = NULL;
    size_t nulls = 0;
    for (size_t i = 0; i < json_array_size(branches); i++) {
        json_t *b = json_array_get(branches, i);
        if (is_null_branch(b)) {
            nulls++;
        } else {
            if (found != NULL)
                return NULL;
            found = b;
        }
    }
    return nulls > 0 ? found : NULL;
}

static int check_combinators(struct run *r, json_t *schema, json_t *inst,
                             int depth, int stall)
{
    json_t *all = json_object_get(schema, "allOf");
    json_t *any = json_object_get(schema, "anyOf");
    json_t *one = json_object_get(schema, "oneOf");
    json_t *not = json_object_get(schema, "not");
    int rc;

    if ((all && !json_is_array(all)) || (any && !json_is_array(any)) ||
        (one && !json_is_array(one)))
        return -1;
    for (size_t i = 0; all && i < json_array_size(all); i++) {
        rc = apply(r, json_array_get(all, i), inst, depth + 1, stall + 1);
        if (rc < 0)
            return rc;
    }
    if (any != NULL) {
        int passed = 0;
        for (size_t i = 0; i < json_array_size(any) && !passed; i++) {
            rc = probe(r, json_array_get(any, i), inst, depth + 1, stall + 1);
            if (rc < 0)
                return rc;
            passed = rc;
        }
        if (!passed) {
            json_t *sole = sole_non_null_branch(any);
            rc = sole ? apply(r, sole, inst, depth + 1, stall + 1)
                      : emit(r, "must match at least one of the allowed "
                                "shapes");
            if (rc < 0)
                return rc;
        }
    }
    if (one != NULL) {
        int passed = 0;
        for (size_t i = 0; i < json_array_size(one) && passed < 2; i++) {
            rc = probe(r, json_array_get(one, i), inst, depth + 1, stall + 1);
            if (rc < 0)
                return rc;
            passed += rc;
        }
        if (passed != 1) {
            json_t *sole = passed == 0 ? sole_non_null_branch(one) : NULL;
            rc = sole ? apply(r, sole, inst, depth + 1, stall + 1)
                      : emit(r, "must match exactly one of the allowed "
                                "shapes");
            if (rc < 0)
                return rc;
        }
    }
    if (not != NULL) {
        rc = probe(r, not, inst, depth + 1, stall + 1);
        if (rc < 0)
            return rc;
        if (rc == 1)
            return emit(r, "must not match the disallowed shape");
    }
    return 0;
}

/* ---- $ref ---- */

static int hex_value(char c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Steps from `node` to the child named by the decoded token tok[0..n). */
static json_t *pointer_step(json_t *node, const char *tok, size_t n)
{
    if (json_is_object(node))
        return json_object_getn(node, tok, n);
    if (!json_is_array(node) || n == 0 || (n > 1 && tok[0] == '0'))
        return NULL;
    size_t index = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(tok[i]) || index > (SIZE_MAX - 9) / 10)
            return NULL;
        index = index * 10 + (size_t)(tok[i] - '0');
    }
    return json_array_get(node, index);
}

/* Resolves "#" or "#/a/b~1c" in the document. The fragment is first
 * percent-decoded (it is part of a URI), then walked as an RFC 6901
 * pointer with ~1 meaning "/" and ~0 meaning "~". */
static json_t *resolve(const struct validator *v, const char *ref)
{
    json_t *node = NULL;
    char *frag = NULL;
    char *tok = NULL;
    size_t flen = 0, rlen;
    size_t i = 0;
    json_t *cur = v->doc;

    if (ref == NULL || ref[0] != '#')
        goto out;
    rlen = strlen(ref + 1);
    frag = malloc(rlen + 1);
    tok = malloc(rlen + 1);
    if (frag == NULL || tok == NULL)
        goto out;
    for (const char *p = ref + 1; *p != '\0'; p++) {
        if (*p == '%') {
            int hi = hex_value(p[1]), lo = hi < 0 ? -1 : hex_value(p[2]);
            if (lo < 0)
                goto out;
            frag[flen++] = (char)(hi * 16 + lo);
            p += 2;
        } else {
            frag[flen++] = *p;
        }
    }
    if (flen > 0 && frag[0] != '/')
        goto out; /* "#name" anchors are not supported */
    while (i < flen) {
        size_t n = 0;
        for (i++; i < flen && frag[i] != '/'; i++) {
            if (frag[i] != '~') {
                tok[n++] = frag[i];
            } else if (i + 1 < flen &&
                       (frag[i + 1] == '0' || frag[i + 1] == '1')) {
                tok[n++] = frag[i + 1] == '0' ? '~' : '/';
                i++;
            } else {
                goto out;
            }
        }
        cur = pointer_step(cur, tok, n);
        if (cur == NULL)
            goto out;
    }
    node = cur;
out:
    free(frag);
    free(tok);
    return node;
}

/* ---- the schema walk ---- */

/* Applies one schema to one instance location. `depth` counts nested
 * schema applications; `stall` counts those since the walk last stepped
 * into the instance, which only a cycle can push past MAX_DEPTH. */
static int apply(struct run *r, json_t *schema, json_t *inst, int depth,
                 int stall)
{
    int rc;

    if (run_full(r))
        return 0;
    if (stall > MAX_DEPTH)
        return -1;
    if (depth > MAX_DEPTH)
        return emit(r, "is nested too deeply to validate");
    if (json_is_true(schema))
        return 0;
    if (json_is_false(schema))
        return emit(r, "is not allowed");
    if (!json_is_object(schema))
        return -1;

    /* In 2020-12 $ref is just another keyword: its siblings apply too. */
    json_t *ref = json_object_get(schema, "$ref");
    if (ref != NULL) {
        json_t *target =
            json_is_string(ref) ? resolve(r->v, json_string_value(ref)) : NULL;
        if (target == NULL)
            return -1;
        if ((rc = apply(r, target, inst, depth + 1, stall + 1)) < 0)
            return rc;
    }
    /* A value of the wrong type makes every other complaint noise. */
    if ((rc = check_type(r, schema, inst)) != 0)
        return rc < 0 ? rc : 0;
    if ((rc = check_enum_const(r, schema, inst)) < 0)
        return rc;
    rc = 0;
    if (json_is_string(inst))
        rc = check_string(r, schema, inst);
    else if (json_is_number(inst))
        rc = check_number(r, schema, inst);
    else if (json_is_object(inst))
        rc = check_object(r, schema, inst, depth);
    else if (json_is_array(inst))
        rc = check_array(r, schema, inst, depth);
    if (rc < 0)
        return rc;
    return check_combinators(r, schema, inst, depth, stall);
}

/* ---- construction ---- */

struct pattern_list {
    struct compiled_pattern *items;
    size_t n;
    size_t cap;
};

static int pattern_list_add(struct pattern_list *pl, json_t *s)
{
    if (pl->n == pl->cap) {
        size_t cap = pl->cap ? pl->cap * 2 : 16;
        struct compiled_pattern *items =
            realloc(pl->items, cap * sizeof(*items));
        if (items == NULL)
            return -1;
        pl->items = items;
        pl->cap = cap;
    }
    pl->items[pl->n++] = (struct compiled_pattern){
        .src = json_string_value(s),
        .len = json_string_length(s),
        .code = NULL,
    };
    return 0;
}

/* Collects every object member named "pattern" whose value is a string.
 * This also catches a "pattern" that happens to sit inside example data;
 * that costs one compile at start-up and is harmless unless it is not a
 * regex, in which case start-up fails loudly and the document is fixed. */
static int collect_patterns(json_t *node, struct pattern_list *pl)
{
    if (json_is_array(node)) {
        for (size_t i = 0; i < json_array_size(node); i++)
            if (collect_patterns(json_array_get(node, i), pl) != 0)
                return -1;
        return 0;
    }
    if (!json_is_object(node))
        return 0;
    const char *key;
    json_t *val;
    json_object_foreach(node, key, val) {
        if (strcmp(key, "pattern") == 0 && json_is_string(val)) {
            if (pattern_list_add(pl, val) != 0)
                return -1;
        } else if (collect_patterns(val, pl) != 0) {
            return -1;
        }
    }
    return 0;
}

int validate_new(json_t *doc, struct validator **out, char *errbuf,
                 size_t errlen)
{
    struct validator *v = NULL;
    struct pattern_list pl = {.items = NULL, .n = 0, .cap = 0};
    int ret = -1;

    if (errbuf != NULL && errlen > 0)
        errbuf[0] = '\0';
    *out = NULL;
    if (doc == NULL) {
        snprintf(errbuf, errbuf ? errlen : 0, "no document");
        goto out;
    }
    v = calloc(1, sizeof(*v));
    if (v == NULL)
        goto oom;
    v->doc = json_incref(doc);
    v->mctx = pcre2_match_context_create(NULL);
    if (v->mctx == NULL)
        goto oom;
    pcre2_set_match_limit(v->mctx, MATCH_LIMIT);
    pcre2_set_depth_limit(v->mctx, MATCH_DEPTH_LIMIT);

    if (collect_patterns(doc, &pl) != 0)
        goto oom;
    if (pl.n > 0) {
        qsort(pl.items, pl.n, sizeof(*pl.items), pattern_sort_cmp);
        /* The same pattern text often recurs; compile it once. */
        size_t w = 0;
        for (size_t i = 0; i < pl.n; i++)
            if (w == 0 || pattern_sort_cmp(&pl.items[w - 1], &pl.items[i]))
                pl.items[w++] = pl.items[i];
        pl.n = w;
    }
    /* Hand the table to the validator now so validate_free() releases
     * whatever was compiled if a later pattern fails. */
    v->patterns = pl.items;
    v->npatterns = pl.n;
    pl.items = NULL;
    for (size_t i = 0; i < v->npatterns; i++) {
        struct compiled_pattern *p = &v->patterns[i];
        p->code = pattern_compile(p->src, p->len, errbuf, errbuf ? errlen : 0);
        if (p->code == NULL)
            goto out;
    }
    *out = v;
    v = NULL;
    ret = 0;
    goto out;
oom:
    snprintf(errbuf, errbuf ? errlen : 0, "out of memory");
out:
    free(pl.items);
    validate_free(v);
    return ret;
}

void validate_free(struct validator *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < v->npatterns; i++)
        pcre2_code_free(v->patterns[i].code);
    free(v->patterns);
    pcre2_match_context_free(v->mctx);
    json_decref(v->doc);
    free(v);
}

/* ---- validation ---- */

int validate_json(const struct validator *v, const json_t *schema,
                  const json_t *instance, const char *prefix, json_t *errors)
{
    struct pathbuf pb = {.s = NULL, .len = 0, .cap = 0};
    size_t before = json_array_size(errors);
    struct run r = {.v = v, .errors = errors, .max = VALIDATE_MAX_ERRORS};
    int ret = -1;

    if (v == NULL || schema == NULL || instance == NULL ||
        !json_is_array(errors))
        return -1;
    if (prefix == NULL)
        prefix = "";
    size_t plen = strlen(prefix);
    if (path_reserve(&pb, plen) != 0)
        goto out;
    memcpy(pb.s, prefix, plen + 1);
    pb.len = plen;

    r.path = &pb;
    ret = apply(&r, readonly_view(schema), readonly_view(instance), 0, 0);
    if (ret == 0)
        ret = r.count;
out:
    /* A broken schema's partial findings would mislead: leave `errors` as
     * the caller passed it. */
    if (ret < 0)
        while (json_array_size(errors) > before)
            json_array_remove(errors, json_array_size(errors) - 1);
    free(pb.s);
    return ret;
}

const json_t *validate_resolve_ref(const struct validator *v, const char *ref)
{
    if (v == NULL)
        return NULL;
    return resolve(v, ref);
}
