/* handlers/page — see page.h. */
#include "page.h"

#include "common.h"

#include "medqa/base.h"
#include "medqa/config.h"
#include "medqa/spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A digest of the request's filter parameters (all but cursor and limit)
 * and its operation, sealed into its cursors so that a cursor only opens
 * pages of the query that made it. */
static void page__bind(const struct request *r, char out[33])
{
    json_t *copy = json_copy(r->params);
    char *text = NULL;

    json_object_del(copy, "cursor");
    json_object_del(copy, "limit");
    /* The operation is part of the binding: /topics and /doctors both
     * sort by name, and one's cursor must not open the other's list. */
    json_object_set_new(copy, " op", json_string(r->op->operation_id));
    text = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
    if (text != NULL) {
        base_sha256_hex(text, strlen(text), 16, out);
    } else {
        static const unsigned char zero[16];
        base_hex(zero, sizeof(zero), out);
    }
    free(text);
    json_decref(copy);
}

int page_open_or_reply(struct request *r, const struct page_list *list,
                       struct page *pg)
{
    const char *text = request_param_str(r, "cursor");
    char bind[33];
    int rc;

    memset(pg, 0, sizeof(*pg));
    pg->list = list;
    pg->limit = (int)request_param_int(r, "limit", 20);
    if (text == NULL)
        return REPLY_NONE;
    page__bind(r, bind);
    rc = cursor_decode(r->cfg->cursor_secret, text, list->sort, bind,
                       qb_keyset_keys(&list->keyset), &pg->after);
    if (rc == CURSOR_OK)
        return REPLY_NONE;
    return hx_reply_bad_query(
        r, "cursor",
        rc == CURSOR_EMISMATCH
            ? "belongs to a query with another sort or other filters"
            : "is not a cursor this API issued");
}

int page_cursor(const struct request *r, const struct page *pg,
                const char *const *keys, char out[CURSOR_MAX_TEXT])
{
    char bind[33];

    page__bind(r, bind);
    return cursor_encode(r->cfg->cursor_secret, pg->list->sort, bind, keys,
                         qb_keyset_keys(&pg->list->keyset), out);
}

void page_keyset(const struct page *pg, struct querybuf *b)
{
    const char *after[CURSOR_MAX_KEYS];

    for (int i = 0; i < pg->after.nkeys; i++)
        after[i] = pg->after.keys[i];
    qb_keyset(b, &pg->list->keyset, pg->after.nkeys > 0 ? after : NULL,
              pg->limit);
}

/* A growing text for the Link header. */
struct page__text {
    char *s;
    size_t len;
    size_t cap;
    bool failed; /* out of memory: the text is incomplete */
};

static void page__put(struct page__text *t, const char *s)
{
    size_t n = strlen(s);

    if (t->failed)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 1024;
        while (t->len + n + 1 > cap)
            cap *= 2;
        char *grown = realloc(t->s, cap);
        if (grown == NULL) {
            t->failed = true;
            return;
        }
        t->s = grown;
        t->cap = cap;
    }
    memcpy(t->s + t->len, s, n + 1);
    t->len += n;
}

/* Appends `s` percent-encoded: everything but RFC 3986 unreserved
 * characters. */
static void page__put_encoded(struct page__text *t, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char one[4];

    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
            (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
            *p == '~') {
            one[0] = (char)*p;
            one[1] = '\0';
        } else {
            one[0] = '%';
            one[1] = hex[*p >> 4];
            one[2] = hex[*p & 15];
            one[3] = '\0';
        }
        page__put(t, one);
    }
}

static bool page__is_query_param(const struct request *r, const char *name)
{
    for (size_t k = 0; k < r->op->nparams; k++)
        if (r->op->params[k].in == SPEC_IN_QUERY &&
            strcmp(r->op->params[k].name, name) == 0)
            return true;
    return false;
}

/* Appends `v` (a validated parameter value) as query-string text: a
 * string, an integer, or an array of strings joined by commas. Returns
 * false for any other type, which no list parameter has. */
static bool page__put_value(struct page__text *t, const json_t *v)
{
    char num[32];
    size_t i;
    const json_t *e;

    if (json_is_string(v)) {
        page__put_encoded(t, json_string_value(v));
    } else if (json_is_integer(v)) {
        snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
        page__put(t, num);
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, e) {
            if (i > 0)
                page__put(t, "%2C");
            page__put_encoded(t, json_string_value(e));
        }
    } else {
        return false;
    }
    return true;
}

/* Adds the Link header to the next page: this request's query string
 * with `cursor` replaced. Values are taken from the validated params, so
 * they are re-encoded here rather than copied from the raw URL. */
static int page__link(struct request *r, const struct page *pg,
                      const char *cursor)
{
    struct page__text t = {0};
    const char *key;
    json_t *v;
    int rc = -1;

    page__put(&t, "<");
    page__put(&t, r->cfg->public_base_url);
    page__put(&t, r->path);
    page__put(&t, "?");
    if ((pg->list->flags & PAGE_FEED) && request_param(r, "limit") == NULL) {
        char limit[32];
        snprintf(limit, sizeof(limit), "limit=%d&", pg->limit);
        page__put(&t, limit);
    }
    json_object_foreach(r->params, key, v) {
        if (strcmp(key, "cursor") == 0 || !page__is_query_param(r, key))
            continue;
        size_t mark = t.len;
        page__put(&t, key);
        page__put(&t, "=");
        if (!page__put_value(&t, v)) {
            t.len = mark; /* not a value a query string carries */
            continue;
        }
        page__put(&t, "&");
    }
    page__put(&t, "cursor=");
    page__put(&t, cursor);
    page__put(&t, ">; rel=\"next\"");
    if (!t.failed)
        rc = request_add_header(r, "Link", t.s);
    free(t.s);
    return rc;
}

/* The next cursor's keys into `keys`: the last shown row's, or for a
 * feed's empty page the request's own (or the list's first). Returns the
 * number of keys, 0 when there is no next page. */
static int page__next_keys(const struct page *pg, PGresult *res, int shown,
                           const char **keys)
{
    int nkeys = qb_keyset_keys(&pg->list->keyset);
    bool feed = (pg->list->flags & PAGE_FEED) != 0;

    if (shown > 0 && (feed || PQntuples(res) > pg->limit)) {
        for (int k = 0; k < nkeys; k++)
            keys[k] = PQgetvalue(res, shown - 1, 1 + k);
        return nkeys;
    }
    if (!feed)
        return 0;
    for (int k = 0; k < nkeys; k++)
        keys[k] = pg->after.nkeys > 0 ? pg->after.keys[k] : pg->list->first;
    return nkeys;
}

/* Row i's item text into *text and *len: the query's own, or for a list
 * of questions or replies the completed representation (represent.h),
 * kept in *owned for the caller to free. Returns -1 when that fails. */
static int page__item(const struct request *r, const struct page *pg,
                      PGresult *res, int i, char **owned, const char **text,
                      size_t *len)
{
    *text = PQgetvalue(res, i, 0);
    *len = (size_t)PQgetlength(res, i, 0);
    if (pg->list->item == REP_NONE)
        return 0;
    *owned = rep_finish_text(r->cfg, pg->list->item, *text, *len, len);
    *text = *owned;
    return *owned != NULL ? 0 : -1;
}

/* page__envelope() for a typed list: the items built from the rows'
 * columns (represent.h), completed, in the envelope, which jansson
 * writes. Frees res. */
static int page__typed_envelope(struct request *r, const struct page *pg,
                                PGresult *res, int shown, const char *cursor)
{
    int col = 1 + qb_keyset_keys(&pg->list->keyset);
    json_t *items = json_array();
    json_t *env = NULL;
    char *body = NULL;
    size_t len = 0;
    size_t i;
    json_t *x;
    int rc = -1;

    if (items == NULL)
        goto out;
    for (int k = 0; k < shown; k++) {
        if (PQgetisnull(res, k, 0))
            continue;
        x = pg->list->item == REP_QUESTION
                ? rep_question_row(res, k, col, r->cfg->public_base_url)
                : rep_reply_row(res, k, col);
        if (json_array_append_new(items, x) != 0)
            goto out;
    }
    PQclear(res);
    res = NULL;
    if (pg->list->complete != NULL && json_array_size(items) > 0) {
        rc = pg->list->complete(r, items);
        if (rc != REPLY_NONE)
            goto out;
        rc = -1;
    }
    json_array_foreach(items, i, x) {
        if (rep_add_fields(r->cfg, pg->list->item, x) != 0)
            goto out;
    }
    env = json_pack("{s:O, s:o}", "data", items, "next_cursor",
                    cursor[0] != '\0' ? json_string(cursor) : json_null());
    body = env != NULL ? rep_dump(env, &len) : NULL;
    if (body == NULL)
        goto out;
    if (cursor[0] != '\0' && page__link(r, pg, cursor) != 0)
        goto out;
    rc = request_reply_owned(r, 200, "application/json", body, len);
    body = NULL;
out:
    free(body);
    json_decref(env);
    json_decref(items);
    PQclear(res);
    return rc;
}

/* Turns the rows into the envelope and replies 200. The query fetched
 * more than limit rows when more exist; rows whose item is NULL are
 * skipped (a PAGE_PARENT's parent without items). Frees res. */
static int page__envelope(struct request *r, const struct page *pg,
                          PGresult *res)
{
    int rows = PQntuples(res);
    int shown = rows > pg->limit ? pg->limit : rows;
    const char *keys[CURSOR_MAX_KEYS];
    char cursor[CURSOR_MAX_TEXT] = "";
    char bind[33];
    size_t total = 64;
    size_t used = 0;
    char *body = NULL;
    char **owned = NULL;
    const char **items = NULL;
    size_t *lens = NULL;
    int nkeys = page__next_keys(pg, res, shown, keys);
    int rc = -1;

    if (nkeys > 0) {
        page__bind(r, bind);
        if (cursor_encode(r->cfg->cursor_secret, pg->list->sort, bind, keys,
                          nkeys, cursor) != 0) {
            rc = hx_reply_internal(r, "cannot encode a cursor");
            goto out;
        }
    }
    if (pg->list->typed) {
        rc = page__typed_envelope(r, pg, res, shown, cursor);
        res = NULL;
        goto out;
    }
    owned = calloc((size_t)shown + 1, sizeof(*owned));
    items = calloc((size_t)shown + 1, sizeof(*items));
    lens = calloc((size_t)shown + 1, sizeof(*lens));
    if (owned == NULL || items == NULL || lens == NULL)
        goto out;
    for (int i = 0; i < shown; i++) {
        if (PQgetisnull(res, i, 0))
            continue;
        if (page__item(r, pg, res, i, &owned[i], &items[i], &lens[i]) != 0) {
            rc = hx_reply_internal(r, "cannot complete a list item");
            goto out;
        }
        total += lens[i] + 1;
    }
    total += strlen(cursor);
    body = malloc(total);
    if (body == NULL)
        goto out;
    memcpy(body, "{\"data\":[", 9);
    used = 9;
    for (int i = 0, n = 0; i < shown; i++) {
        if (items[i] == NULL)
            continue;
        if (n++ > 0)
            body[used++] = ',';
        memcpy(body + used, items[i], lens[i]);
        used += lens[i];
    }
    if (cursor[0] != '\0')
        used += (size_t)snprintf(body + used, total - used,
                                 "],\"next_cursor\":\"%s\"}", cursor);
    else
        used += (size_t)snprintf(body + used, total - used,
                                 "],\"next_cursor\":null}");
    if (cursor[0] != '\0' && page__link(r, pg, cursor) != 0)
        goto out;
    rc = request_reply_owned(r, 200, "application/json", body, used);
    body = NULL;
out:
    if (owned != NULL)
        for (int i = 0; i < shown; i++)
            free(owned[i]);
    free(owned);
    free(items);
    free(lens);
    free(body);
    PQclear(res);
    return rc;
}

int page_reply(struct request *r, const struct page *pg,
               const struct querybuf *b)
{
    struct db_conn *c = NULL;
    PGresult *res = NULL;
    int rc;

    if (b->overflow)
        return hx_reply_internal(r, "list query does not fit its buffer");
    if (hx_conn_or_reply(r, &c) == REPLY_QUEUED)
        return REPLY_QUEUED;
    rc = db_query_named(c, b->name, b->sql, b->nparams, b->params, true, &res);
    if (rc != DB_OK)
        return hx_reply_sql_error(r, c, rc);
    if ((pg->list->flags & PAGE_PARENT) && PQntuples(res) == 0) {
        PQclear(res);
        return request_problem(r, PROBLEM_NOT_FOUND, 0, pg->list->missing,
                               NULL);
    }
    return page__envelope(r, pg, res);
}
