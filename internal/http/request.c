/* http/request — the reply helpers handlers call, and parameter getters. */
#include "medqa/request.h"

#include "medqa/config.h"
#include "medqa/db.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

static void request__drop_body(struct request *r)
{
    free(r->owned_out);
    r->owned_out = NULL;
    PQclear(r->owned_res);
    r->owned_res = NULL;
    r->body_out = NULL;
    r->body_out_len = 0;
}

int request_reply_pg(struct request *r, unsigned status, PGresult *res)
{
    request__drop_body(r);
    r->status = status;
    r->content_type = "application/json";
    r->owned_res = res;
    if (PQntuples(res) > 0 && PQnfields(res) > 0) {
        r->body_out = PQgetvalue(res, 0, 0);
        r->body_out_len = (size_t)PQgetlength(res, 0, 0);
    }
    return 0;
}

int request_reply_owned(struct request *r, unsigned status, const char *type,
                        char *body, size_t len)
{
    request__drop_body(r);
    r->status = status;
    r->content_type = type;
    r->owned_out = body;
    r->body_out = body;
    r->body_out_len = len;
    return 0;
}

int request_reply_json(struct request *r, unsigned status, const char *json,
                       size_t len)
{
    char *copy = malloc(len + 1);

    if (copy == NULL)
        return -1;
    memcpy(copy, json, len);
    copy[len] = '\0';
    return request_reply_owned(r, status, "application/json", copy, len);
}

int request_reply_jansson(struct request *r, unsigned status, const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);

    if (s == NULL)
        return -1;
    return request_reply_owned(r, status, "application/json", s, strlen(s));
}

int request_reply_empty(struct request *r, unsigned status)
{
    request__drop_body(r);
    r->status = status;
    r->content_type = NULL;
    return 0;
}

int request_add_header(struct request *r, const char *name, const char *value)
{
    if (r->nheaders == REQUEST_MAX_HEADERS)
        return -1;
    char *n = strdup(name);
    char *v = strdup(value);
    if (n == NULL || v == NULL) {
        free(n);
        free(v);
        return -1;
    }
    r->headers[r->nheaders].name = n;
    r->headers[r->nheaders].value = v;
    r->nheaders++;
    return 0;
}

const char *request_header(const struct request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const json_t *request_param(const struct request *r, const char *name)
{
    return r->params ? json_object_get(r->params, name) : NULL;
}

const char *request_param_str(const struct request *r, const char *name)
{
    return json_string_value(request_param(r, name));
}

long long request_param_int(const struct request *r, const char *name,
                            long long fallback)
{
    const json_t *v = request_param(r, name);
    return json_is_integer(v) ? (long long)json_integer_value(v) : fallback;
}

int request_problem(struct request *r, enum problem_kind kind, unsigned status,
                    const char *detail, json_t *errors)
{
    const struct problem_info *pi = problem_info(kind);
    unsigned st = pi->status != 0 ? pi->status : status;
    json_t *doc =
        problem_document(kind, st, r->cfg->public_base_url, detail, errors);

    if (doc == NULL || request_reply_jansson(r, st, doc) != 0) {
        /* Out of memory: still an answer, with no body. */
        request_reply_empty(r, 500);
    }
    json_decref(doc);
    r->content_type = "application/problem+json";
    r->no_etag = true;
    return REPLY_QUEUED;
}

int request_problem_validation(struct request *r, json_t *errors)
{
    return request_problem(r, PROBLEM_VALIDATION, 0,
                           "The request does not match the API "
                           "specification; see errors.",
                           errors);
}

int request_problem_db(struct request *r, int db_rc)
{
    if (db_rc == DB_EUNAVAILABLE) {
        request_add_header(r, "Retry-After", "2");
        return request_problem(r, PROBLEM_UNAVAILABLE, 0,
                               "The database is unreachable; retry shortly.",
                               NULL);
    }
    return request_problem(r, PROBLEM_INTERNAL, 0,
                           "The request failed inside medqa; it has been "
                           "logged.",
                           NULL);
}
