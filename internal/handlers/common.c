/* handlers/common — shared by the resource handlers. */
#include "common.h"

#include "handlers_internal.h"
#include "represent.h"

#include "medqa/auth.h"
#include "medqa/base.h"
#include "medqa/config.h"
#include "medqa/log.h"
#include "medqa/problem.h"

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
const size_t idempotency_nstatements = ARRAY_SIZE(idempotency_statements);

/* Whether a request may be answered from the read database (a replica,
 * possibly a moment behind): a GET or HEAD by an anonymous caller or a
 * partner. Apps, doctors and editors write and then read back what they
 * wrote, so everything they send goes to the primary. */
static bool hx__replica_ok(const struct request *r)
{
    return (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0) &&
           (r->role & ~(unsigned)AUTH_ROLE_PARTNER) == 0;
}

int hx_conn_or_reply(struct request *r, struct db_conn **out)
{
    int rc = hx__replica_ok(r) ? db_acquire_read(out) : db_acquire(out);

    if (rc != DB_OK)
        return request_problem_db(r, rc);
    return REPLY_NONE;
}

int hx_reply_bad_query(struct request *r, const char *param, const char *detail)
{
    return request_problem_validation(r, json_pack("[{s:s, s:s, s:s}]",
                                                   "parameter", param, "in",
                                                   "query", "detail", detail));
}

int hx_reply_internal(struct request *r, const char *what)
{
    log_msg(LOG_ERROR, what, "request_id", r->request_id, LOG_END);
    return request_problem_db(r, DB_EQUERY);
}

int hx_reply_sql_error(struct request *r, struct db_conn *c, int rc)
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

/* The representation in column 0 of row 0 of res, completed for `kind`
 * (represent.h) into *owned, or borrowed from res for REP_NONE. Returns
 * -1 when it cannot be completed. */
static int hx__body(const struct request *r, PGresult *res, enum rep_kind kind,
                    char **owned, const char **text, size_t *len)
{
    *owned = NULL;
    *text = PQgetvalue(res, 0, 0);
    *len = (size_t)PQgetlength(res, 0, 0);
    if (kind == REP_NONE)
        return 0;
    *owned = rep_finish_text(r->cfg, kind, *text, *len, len);
    *text = *owned;
    return *owned != NULL ? 0 : -1;
}

/* Replies `status` with column 0 of res as body, completed for `kind`.
 * Frees res. */
static int hx__reply_res(struct request *r, unsigned status, PGresult *res,
                         enum rep_kind kind)
{
    char *owned;
    const char *text;
    size_t len;

    if (kind == REP_NONE)
        return request_reply_pg(r, status, res);
    if (hx__body(r, res, kind, &owned, &text, &len) != 0) {
        PQclear(res);
        return hx_reply_internal(r, "cannot complete a representation");
    }
    PQclear(res);
    return request_reply_owned(r, status, "application/json", owned, len);
}

/* Replies 201 with the first column of res as body (completed for
 * `kind`), Location set to PUBLIC_BASE_URL + path. Frees res. */
static int hx__reply_created(struct request *r, PGresult *res, const char *path,
                             enum rep_kind kind)
{
    char loc[512];

    snprintf(loc, sizeof(loc), "%s%s", r->cfg->public_base_url, path);
    request_add_header(r, "Location", loc);
    return hx__reply_res(r, 201, res, kind);
}

/* SHA-256 of the method, path and body as hex: what an Idempotency-Key
 * was first used with. */
static void hx__request_hash(const struct request *r, char out[65])
{
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
    base_hex(md, 32, out);
}

int hx_reply_create(struct request *r, const struct db_statement *create,
                    const char *const *params, const char *location_prefix,
                    int id_col)
{
    return hx_reply_create_as(r, create, params, location_prefix, id_col,
                              REP_NONE);
}

int hx_reply_create_as(struct request *r, const struct db_statement *create,
                       const char *const *params, const char *location_prefix,
                       int id_col, enum rep_kind kind)
{
    const char *key = request_param_str(r, "Idempotency-Key");
    struct db_conn *c = NULL;
    PGresult *res = NULL;
    char path[256];
    char hash[65];
    int rc;

    if (hx_conn_or_reply(r, &c) == REPLY_QUEUED)
        return REPLY_QUEUED;
    if (key == NULL || r->key_id[0] == '\0') {
        rc = db_query(c, create, params, false, &res);
        if (rc != DB_OK)
            return hx_reply_sql_error(r, c, rc);
        snprintf(path, sizeof(path), "%s%s", location_prefix,
                 PQgetvalue(res, 0, id_col));
        return hx__reply_created(r, res, path, kind);
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
    char *owned = NULL;
    const char *text;
    size_t len;
    snprintf(path, sizeof(path), "%s%s", location_prefix,
             PQgetvalue(res, 0, id_col));
    snprintf(loc, sizeof(loc), "%s%s", r->cfg->public_base_url, path);
    if (hx__body(r, res, kind, &owned, &text, &len) != 0) {
        db_command(c, "ROLLBACK");
        PQclear(res);
        return hx_reply_internal(r, "cannot complete a representation");
    }
    /* The stored answer is the one sent, so a replay has its bytes and
     * its ETag. */
    const char *pp[6] = {r->key_id, key, hash, "201", text, loc};
    PGresult *put = NULL;
    rc = db_query(c, &idempotency_statements[2], pp, false, &put);
    PQclear(put);
    if (rc == DB_OK)
        rc = db_command(c, "COMMIT");
    if (rc != DB_OK) {
        free(owned);
        goto fail;
    }
    if (owned == NULL)
        return hx__reply_created(r, res, path, REP_NONE);
    PQclear(res);
    request_add_header(r, "Location", loc);
    return request_reply_owned(r, 201, "application/json", owned, len);
fail:
    PQclear(res);
    /* A successful ROLLBACK leaves the failed statement's reason in place
     * for hx_reply_sql_error(). */
    if (rc != DB_EUNAVAILABLE)
        db_command(c, "ROLLBACK");
    return hx_reply_sql_error(r, c, rc);
}

int hx_query_or_reply(struct request *r, const struct db_statement *st,
                      const char *const *params, bool idempotent,
                      PGresult **res)
{
    struct db_conn *c = NULL;
    int rc;

    *res = NULL;
    if (hx_conn_or_reply(r, &c) == REPLY_QUEUED)
        return REPLY_QUEUED;
    rc = db_query(c, st, params, idempotent, res);
    if (rc != DB_OK)
        return hx_reply_sql_error(r, c, rc);
    return REPLY_NONE;
}

int hx_reply_get_one(struct request *r, const struct db_statement *st,
                     const char *const *params, const char *missing)
{
    PGresult *res = NULL;

    if (hx_query_or_reply(r, st, params, true, &res) == REPLY_QUEUED)
        return REPLY_QUEUED;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return request_problem(r, PROBLEM_NOT_FOUND, 0, missing, NULL);
    }
    return request_reply_pg(r, 200, res);
}

int hx_reply_write_one(struct request *r, const struct db_statement *st,
                       const char *const *params)
{
    return hx_reply_write_as(r, st, params, REP_NONE);
}

int hx_reply_write_as(struct request *r, const struct db_statement *st,
                      const char *const *params, enum rep_kind kind)
{
    PGresult *res = NULL;

    if (hx_query_or_reply(r, st, params, false, &res) == REPLY_QUEUED)
        return REPLY_QUEUED;
    return hx__reply_res(r, 200, res, kind);
}

/* Whether the If-Match list `tags` (hx_if_match's literal) names `tag`
 * (32 hex digits) or is "*". */
static bool hx__tag_listed(const char *tags, const char *tag)
{
    char quoted[40];

    snprintf(quoted, sizeof(quoted), "\"%s\"", tag);
    return strstr(tags, "\"*\"") != NULL || strstr(tags, quoted) != NULL;
}

int hx_reply_patch(struct request *r, const struct db_statement *current,
                   const char *const *current_params,
                   const struct db_statement *patch, const char *const *params,
                   enum rep_kind kind)
{
    char tags[1200];
    struct db_conn *c = NULL;
    PGresult *res = NULL;
    char *owned = NULL;
    const char *text;
    size_t len;
    char tag[33];
    int rc;

    if (hx_if_match(r, tags, sizeof(tags)) == NULL)
        return hx_reply_write_as(r, patch, params, kind);
    if (hx_conn_or_reply(r, &c) == REPLY_QUEUED)
        return REPLY_QUEUED;
    rc = db_command(c, "BEGIN");
    if (rc == DB_OK)
        rc = db_query(c, current, current_params, false, &res);
    if (rc != DB_OK)
        goto fail;
    /* No row: missing, hidden or not the caller's; the write says which. */
    if (PQntuples(res) == 1) {
        if (hx__body(r, res, kind, &owned, &text, &len) != 0) {
            rc = DB_EQUERY;
            db_command(c, "ROLLBACK");
            PQclear(res);
            return hx_reply_internal(r, "cannot complete a representation");
        }
        base_sha256_hex(text, len, 16, tag);
        free(owned);
        if (!hx__tag_listed(tags, tag)) {
            PQclear(res);
            db_command(c, "ROLLBACK");
            return request_problem(r, PROBLEM_PRECONDITION, 0,
                                   "the resource has changed since it was "
                                   "read: If-Match does not match its "
                                   "current ETag",
                                   NULL);
        }
    }
    PQclear(res);
    res = NULL;
    rc = db_query(c, patch, params, false, &res);
    if (rc == DB_OK)
        rc = db_command(c, "COMMIT");
    if (rc != DB_OK)
        goto fail;
    return hx__reply_res(r, 200, res, kind);
fail:
    PQclear(res);
    if (rc != DB_EUNAVAILABLE)
        db_command(c, "ROLLBACK");
    return hx_reply_sql_error(r, c, rc);
}

int hx_reply_write_none(struct request *r, const struct db_statement *st,
                        const char *const *params)
{
    PGresult *res = NULL;

    if (hx_query_or_reply(r, st, params, false, &res) == REPLY_QUEUED)
        return REPLY_QUEUED;
    PQclear(res);
    return request_reply_empty(r, 204);
}
