/* handlers/common — shared by the resource handlers. */
#include "common.h"

#include "handlers_internal.h"
#include "querybuf.h"
#include "medqa/auth.h"
#include "medqa/config.h"
#include "medqa/log.h"
#include "medqa/problem.h"
#include "medqa/spec.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct db_statement idempotency_statements[] = {
    /* Serialises retries of one key, so two racing copies of a request
     * cannot both create. */
    {"idem_lock",
     "SELECT pg_advisory_xact_lock(hashtextextended($1 || ':' || $2, 0))", 2},
    {"idem_get",
     "SELECT status, body, location, encode(request_hash, 'hex') "
     "FROM idempotency_keys WHERE api_key_id = $1::uuid AND key = $2 "
     "AND created_at > now() - interval '24 hours'",
     2},
    {"idem_put",
     "INSERT INTO idempotency_keys (api_key_id, key, request_hash, status, "
     "body, location) VALUES ($1::uuid, $2, decode($3, 'hex'), $4::int, $5, "
     "$6) ON CONFLICT (api_key_id, key) DO UPDATE SET "
     "request_hash = EXCLUDED.request_hash, status = EXCLUDED.status, "
     "body = EXCLUDED.body, location = EXCLUDED.location, "
     "created_at = now()",
     6},
};
const size_t idempotency_nstatements =
    sizeof(idempotency_statements) / sizeof(idempotency_statements[0]);

/* Whether a request may be answered from the read database (a replica,
 * possibly a moment behind): a GET or HEAD by an anonymous caller or a
 * partner. Apps, doctors and editors write and then read back what they
 * wrote, so everything they send goes to the primary. */
static bool hx__replica_ok(const struct request *r)
{
    return (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0) &&
           (r->role & ~(unsigned)AUTH_ROLE_PARTNER) == 0;
}

struct db_conn *hx_conn(struct request *r)
{
    struct db_conn *c = NULL;
    int rc = hx__replica_ok(r) ? db_acquire_read(&c) : db_acquire(&c);

    if (rc != DB_OK) {
        request_problem_db(r, rc);
        return NULL;
    }
    return c;
}

int hx_sql_error(struct request *r, struct db_conn *c, int rc)
{
    const char *state = db_sqlstate(c);
    const char *msg = db_error_message(c);
    const char *hint = db_error_hint(c);
    json_t *errors = NULL;
    unsigned status = 0;
    enum problem_kind kind = PROBLEM_INVALID;

    if (rc != DB_EQUERY)
        return request_problem_db(r, rc);
    if (strncmp(state, "MQ", 2) == 0) {
        status = (unsigned)atoi(state + 2);
        kind = problem_for_status(status);
        if (status < 400 || status > 499)
            status = 0;
    } else if (strncmp(state, "22", 2) == 0) {
        /* Data exceptions: a value the spec allows but PostgreSQL cannot
         * hold (year 0000, a number out of range). Bad input, not ours. */
        status = 400;
        kind = PROBLEM_INVALID_VALUE;
        msg = "A value in the request is out of the range medqa can store.";
    } else if (strcmp(state, "23505") == 0) {
        status = 409;
        kind = PROBLEM_CONFLICT;
        msg = "An item with the same identity exists already.";
    } else if (strcmp(state, "23503") == 0) {
        status = 422;
        kind = PROBLEM_UNKNOWN_REFERENCE;
        msg = "The request refers to something that does not exist.";
    }
    if (status == 0) {
        log_msg(LOG_ERROR, "statement failed", "request_id", r->request_id,
                "sqlstate", state, "error", db_last_error(c), LOG_END);
        return request_problem_db(r, DB_EQUERY);
    }
    if (hint[0] == '/') {
        errors = json_pack("[{s:s, s:s}]", "pointer", hint, "detail", msg);
    }
    return request_problem(r, kind, status, msg, errors);
}

const char *hx_if_match(const struct request *r, char *buf, size_t len)
{
    const char *h = request_header(r, "If-Match");
    size_t used = 0;
    int n = 0;

    if (h == NULL)
        return NULL;
    buf[used++] = '{';
    for (const char *p = h; *p && used + 40 < len;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        size_t tok = strcspn(p, ",");
        const char *t = p;
        size_t tl = tok;
        while (tl > 0 && t[tl - 1] == ' ')
            tl--;
        p += tok;
        if (tl == 1 && *t == '*') {
            used += (size_t)snprintf(buf + used, len - used, "%s\"*\"",
                                     n++ ? "," : "");
            continue;
        }
        if (tl >= 2 && t[0] == 'W' && t[1] == '/') {
            t += 2;
            tl -= 2;
        }
        if (tl < 2 || t[0] != '"' || t[tl - 1] != '"')
            continue;
        t++;
        tl -= 2;
        if (tl > 5 && memcmp(t + tl - 5, "-gzip", 5) == 0)
            tl -= 5;
        if (tl != 32 || strspn(t, "0123456789abcdef") < 32)
            continue; /* cannot match any tag of ours */
        used += (size_t)snprintf(buf + used, len - used, "%s\"%.32s\"",
                                 n++ ? "," : "", t);
    }
    if (n == 0) /* only tags that can never match: a certain 412 */
        used += (size_t)snprintf(buf + used, len - used, "\"none\"");
    snprintf(buf + used, len - used, "}");
    return buf;
}

void hx_bind(const struct request *r, char out[33])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    json_t *copy = json_copy(r->params);
    char *text = NULL;

    json_object_del(copy, "cursor");
    json_object_del(copy, "limit");
    /* The operation is part of the binding: /topics and /doctors both
     * sort by name, and one's cursor must not open the other's list. */
    json_object_set_new(copy, " op", json_string(r->op->operation_id));
    text = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
    if (text == NULL ||
        !EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL))
        memset(md, 0, sizeof(md));
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[32] = '\0';
    free(text);
    json_decref(copy);
}

int hx_cursor(struct request *r, const char *sort, int nkeys, struct cursor *c)
{
    const char *text = request_param_str(r, "cursor");
    char bind[33];
    int rc;

    memset(c, 0, sizeof(*c));
    if (text == NULL)
        return 0;
    hx_bind(r, bind);
    rc = cursor_decode(r->cfg->cursor_secret, text, sort, bind, nkeys, c);
    if (rc == CURSOR_OK)
        return 0;
    json_t *errors = json_pack(
        "[{s:s, s:s, s:s}]", "parameter", "cursor", "in", "query", "detail",
        rc == CURSOR_EMISMATCH
            ? "belongs to a query with another sort or other filters"
            : "is not a cursor this API issued");
    request_problem_validation(r, errors);
    return 1;
}

int hx_limit(const struct request *r)
{
    return (int)request_param_int(r, "limit", 20);
}

/* Percent-encodes everything but RFC 3986 unreserved characters. Returns
 * a new string the caller frees. */
static char *hx__urlencode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(strlen(s) * 3 + 1);
    char *o = out;

    if (out == NULL)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
            (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
            *p == '~') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

/* Appends the query string of this request with `cursor` replaced, for
 * the Link header. Values are taken from the validated params, so they
 * are re-encoded here rather than copied from the raw URL. */
static int hx__next_link(struct request *r, const char *cursor)
{
    size_t cap = 1024;
    char *buf = malloc(cap);
    size_t used = 0;
    const char *key;
    json_t *v;
    int rc = -1;

#define HX_PUT(s)                                                              \
    do {                                                                       \
        const char *s_ = (s);                                                  \
        size_t l_ = strlen(s_);                                                \
        while (used + l_ * 3 + 8 > cap) {                                      \
            char *g_ = realloc(buf, cap * 2);                                  \
            if (g_ == NULL)                                                    \
                goto out;                                                      \
            buf = g_;                                                          \
            cap *= 2;                                                          \
        }                                                                      \
        memcpy(buf + used, s_, l_);                                            \
        used += l_;                                                            \
    } while (0)

    if (buf == NULL)
        return -1;
    HX_PUT("<");
    HX_PUT(r->cfg->public_base_url);
    HX_PUT(r->path);
    HX_PUT("?");
    json_object_foreach(r->params, key, v)
    {
        char num[32];
        const char *val = NULL;
        char *joined = NULL;
        if (strcmp(key, "cursor") == 0)
            continue;
        if (json_is_string(v)) {
            val = json_string_value(v);
        } else if (json_is_integer(v)) {
            snprintf(num, sizeof(num), "%lld",
                     (long long)json_integer_value(v));
            val = num;
        } else if (json_is_array(v)) {
            size_t i, total = 1;
            json_t *e;
            json_array_foreach(v, i, e) total +=
                strlen(json_string_value(e)) + 1;
            joined = calloc(1, total);
            if (joined == NULL)
                goto out;
            json_array_foreach(v, i, e)
            {
                if (i)
                    strcat(joined, ",");
                strcat(joined, json_string_value(e));
            }
            val = joined;
        } else {
            continue;
        }
        /* Only query parameters belong in the link. */
        int is_query = 0;
        for (size_t k = 0; k < r->op->nparams; k++)
            if (r->op->params[k].in == SPEC_IN_QUERY &&
                strcmp(r->op->params[k].name, key) == 0)
                is_query = 1;
        if (is_query) {
            HX_PUT(key);
            HX_PUT("=");
            char *esc = hx__urlencode(val);
            if (esc == NULL) {
                free(joined);
                goto out;
            }
            HX_PUT(esc);
            free(esc);
            HX_PUT("&");
        }
        free(joined);
    }
    HX_PUT("cursor=");
    HX_PUT(cursor);
    HX_PUT(">; rel=\"next\"");
    buf[used] = '\0';
    rc = request_add_header(r, "Link", buf);
out:
    free(buf);
    return rc;
#undef HX_PUT
}

int hx_reply_page(struct request *r, PGresult *res, int limit, const char *sort,
                  int nkeys)
{
    int rows = PQntuples(res);
    int shown = rows > limit ? limit : rows;
    size_t total = 64;
    char cursor[CURSOR_MAX_TEXT] = "";
    char bind[33];

    for (int i = 0; i < shown; i++)
        total += (size_t)PQgetlength(res, i, 0) + 1;
    if (rows > limit && shown > 0) {
        const char *keys[CURSOR_MAX_KEYS];
        for (int k = 0; k < nkeys; k++)
            keys[k] = PQgetvalue(res, shown - 1, 1 + k);
        hx_bind(r, bind);
        if (cursor_encode(r->cfg->cursor_secret, sort, bind, keys, nkeys,
                          cursor) != 0) {
            PQclear(res);
            return request_problem_db(r, DB_EQUERY);
        }
    }
    total += strlen(cursor);
    char *body = malloc(total);
    if (body == NULL) {
        PQclear(res);
        return -1;
    }
    size_t used = 0;
    int items = 0;
    memcpy(body, "{\"data\":[", 9);
    used = 9;
    for (int i = 0; i < shown; i++) {
        if (PQgetisnull(res, i, 0))
            continue;
        size_t len = (size_t)PQgetlength(res, i, 0);
        if (items++ > 0)
            body[used++] = ',';
        memcpy(body + used, PQgetvalue(res, i, 0), len);
        used += len;
    }
    PQclear(res);
    if (cursor[0] != '\0')
        used += (size_t)snprintf(body + used, total - used,
                                 "],\"next_cursor\":\"%s\"}", cursor);
    else
        used += (size_t)snprintf(body + used, total - used,
                                 "],\"next_cursor\":null}");
    if (cursor[0] != '\0' && hx__next_link(r, cursor) != 0) {
        free(body);
        return -1;
    }
    return request_reply_owned(r, 200, "application/json", body, used);
}

static int hx__location(struct request *r, const char *path)
{
    char loc[512];

    snprintf(loc, sizeof(loc), "%s%s", r->cfg->public_base_url, path);
    return request_add_header(r, "Location", loc);
}

int hx_reply_created(struct request *r, PGresult *res, const char *path)
{
    hx__location(r, path);
    return request_reply_pg(r, 201, res);
}

static void hx__request_hash(const struct request *r, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    memset(md, 0, sizeof(md));
    if (ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
        EVP_DigestUpdate(ctx, r->method, strlen(r->method) + 1);
        EVP_DigestUpdate(ctx, r->path, strlen(r->path) + 1);
        if (r->raw_body != NULL)
            EVP_DigestUpdate(ctx, r->raw_body, r->raw_len);
        EVP_DigestFinal_ex(ctx, md, &mdlen);
    }
    EVP_MD_CTX_free(ctx);
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

int hx_create(struct request *r, const struct db_statement *create,
              const char *const *params, const char *location_prefix,
              int id_col)
{
    const char *key = request_param_str(r, "Idempotency-Key");
    struct db_conn *c = hx_conn(r);
    PGresult *res = NULL;
    char path[256];
    char hash[65];
    int rc;

    if (c == NULL)
        return 0;
    if (key == NULL || r->key_id[0] == '\0') {
        rc = db_query(c, create, params, false, &res);
        if (rc != DB_OK)
            return hx_sql_error(r, c, rc);
        snprintf(path, sizeof(path), "%s%s", location_prefix,
                 PQgetvalue(res, 0, id_col));
        return hx_reply_created(r, res, path);
    }
    hx__request_hash(r, hash);
    const char *kp[2] = {r->key_id, key};
    rc = db_command(c, "BEGIN");
    if (rc == DB_OK)
        rc = db_query(c, &idempotency_statements[0], kp, false, &res);
    PQclear(res);
    res = NULL;
    if (rc == DB_OK)
        rc = db_query(c, &idempotency_statements[1], kp, false, &res);
    if (rc != DB_OK)
        goto fail;
    if (PQntuples(res) == 1) {
        /* A retry: the first answer again, or a conflict if the body is
         * not the one that key was first used with. */
        int same = strcmp(PQgetvalue(res, 0, 3), hash) == 0;
        unsigned status = (unsigned)atoi(PQgetvalue(res, 0, 0));
        db_command(c, "COMMIT");
        if (!same) {
            PQclear(res);
            return request_problem(r, PROBLEM_IDEMPOTENCY_REUSE, 0,
                                   "This Idempotency-Key was used with a "
                                   "different request.",
                                   NULL);
        }
        if (!PQgetisnull(res, 0, 2))
            request_add_header(r, "Location", PQgetvalue(res, 0, 2));
        request_add_header(r, "Idempotent-Replayed", "true");
        rc = request_reply_json(r, status, PQgetvalue(res, 0, 1),
                                (size_t)PQgetlength(res, 0, 1));
        PQclear(res);
        return rc;
    }
    PQclear(res);
    res = NULL;
    rc = db_query(c, create, params, false, &res);
    if (rc != DB_OK)
        goto fail;
    char loc[512];
    snprintf(path, sizeof(path), "%s%s", location_prefix,
             PQgetvalue(res, 0, id_col));
    snprintf(loc, sizeof(loc), "%s%s", r->cfg->public_base_url, path);
    const char *pp[6] = {r->key_id, key, hash, "201", PQgetvalue(res, 0, 0),
                         loc};
    PGresult *put = NULL;
    rc = db_query(c, &idempotency_statements[2], pp, false, &put);
    PQclear(put);
    if (rc == DB_OK)
        rc = db_command(c, "COMMIT");
    if (rc != DB_OK)
        goto fail;
    return hx_reply_created(r, res, path);
fail:
    PQclear(res);
    /* A successful ROLLBACK leaves the failed statement's reason in place
     * for hx_sql_error(). */
    if (rc != DB_EUNAVAILABLE)
        db_command(c, "ROLLBACK");
    return hx_sql_error(r, c, rc);
}

int hx_get_one(struct request *r, const struct db_statement *st,
               const char *const *params, const char *missing)
{
    struct db_conn *c = hx_conn(r);
    PGresult *res = NULL;

    if (c == NULL)
        return 0;
    int rc = db_query(c, st, params, true, &res);
    if (rc != DB_OK)
        return hx_sql_error(r, c, rc);
    if (PQntuples(res) == 0) {
        PQclear(res);
        return request_problem(r, PROBLEM_NOT_FOUND, 0, missing, NULL);
    }
    return request_reply_pg(r, 200, res);
}

int hx_write_one(struct request *r, const struct db_statement *st,
                 const char *const *params)
{
    struct db_conn *c = hx_conn(r);
    PGresult *res = NULL;

    if (c == NULL)
        return 0;
    int rc = db_query(c, st, params, false, &res);
    if (rc != DB_OK)
        return hx_sql_error(r, c, rc);
    return request_reply_pg(r, 200, res);
}

int hx_write_none(struct request *r, const struct db_statement *st,
                  const char *const *params)
{
    struct db_conn *c = hx_conn(r);
    PGresult *res = NULL;

    if (c == NULL)
        return 0;
    int rc = db_query(c, st, params, false, &res);
    PQclear(res);
    if (rc != DB_OK)
        return hx_sql_error(r, c, rc);
    return request_reply_empty(r, 204);
}

int hx_list(struct request *r, const struct querybuf *b, int limit,
            const char *sort, int nkeys)
{
    PGresult *res = NULL;

    if (b->overflow)
        return request_problem_db(r, DB_EQUERY);
    struct db_conn *c = hx_conn(r);
    if (c == NULL)
        return 0;
    int rc =
        db_query_named(c, b->name, b->sql, b->nparams, b->params, true, &res);
    if (rc != DB_OK)
        return hx_sql_error(r, c, rc);
    return hx_reply_page(r, res, limit, sort, nkeys);
}
