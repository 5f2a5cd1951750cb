/* handlers/webhooks — /webhooks: partners' endpoints, their secrets and
 * delivery logs (the deliveries themselves are the worker's,
 * internal/webhooks).
 *
 * Who: a partner key sees and manages only the endpoints it made (another
 * partner's are a 404, as if they did not exist); an editor all of them.
 * Every statement takes the caller's key id as "owner", NULL for an
 * editor, and filters with ($2 IS NULL OR owner_key_id = $2).
 *
 * Secrets: made here from OpenSSL's CSPRNG, returned once (create and
 * rotate answers, with Cache-Control: no-store), and stored only sealed
 * with WEBHOOK_SECRET_KEY (medqa/webhooks.h). They never reach the
 * database in clear, a log, or any other answer. POST /webhooks has no
 * Idempotency-Key: a stored replay would keep the secret in clear. */
#include "common.h"
#include "handlers_internal.h"
#include "page.h"

#include "medqa/auth.h"
#include "medqa/base.h"
#include "medqa/config.h"
#include "medqa/problem.h"
#include "medqa/webhooks.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

/* The endpoint's representation (alias e). Never the secret. */
#define WH_ENDPOINT_JSON                                                       \
    "json_build_object('id', e.id, 'url', e.url, 'events', "                   \
    "to_json(e.events), "                                                      \
    "'department', e.department_slug, 'description', e.description, "          \
    "'enabled', e.enabled, 'disabled_at', mq_ts(e.disabled_at), "              \
    "'disabled_reason', e.disabled_reason, 'failing_since', "                  \
    "mq_ts(e.failing_since), 'previous_secret_expires_at', CASE WHEN "         \
    "e.previous_until > now() THEN mq_ts(e.previous_until) END, "              \
    "'created_at', mq_ts(e.created_at), 'updated_at', mq_ts(e.updated_at))"

/* A delivery's representation (alias d). Never the body it carries. */
#define WH_DELIVERY_JSON                                                       \
    "json_build_object('id', d.id, 'webhook_id', 'msg_' || "                   \
    "replace(d.id::text, '-', ''), 'type', d.type, 'seq', d.seq, "             \
    "'status', d.status, 'attempts', d.attempts, 'last_status', "              \
    "d.last_status, 'last_error', d.last_error, 'next_attempt_at', "           \
    "mq_ts(d.next_attempt_at), 'last_attempt_at', mq_ts(d.last_attempt_at), "  \
    "'created_at', mq_ts(d.created_at), 'updated_at', mq_ts(d.updated_at))"

#define WH_OWNED "($2::uuid IS NULL OR e.owner_key_id = $2::uuid)"

enum {
    WH_CREATE,
    WH_GET,
    WH_PATCH,
    WH_DELETE,
    WH_ROTATE,
    WH_PING,
    WH_REDELIVER,
    WH_REPLAY,
};

const struct db_statement webhooks_statements[] = {
    /* A new endpoint starts at the end of the feed: it gets what happens
     * from now on (replay reaches back only over its own deliveries). */
    [WH_CREATE] =
        {"wh_create",
         "INSERT INTO webhook_endpoints AS e (id, owner_key_id, url, "
         "events, department_slug, description, secret_sealed, "
         "cursor_seq) SELECT $1::uuid, $2::uuid, $3::text, "
         "ARRAY(SELECT jsonb_array_elements_text($4::jsonb)), "
         "$5::text, $6::text, decode($7::text, 'hex'), "
         "(SELECT coalesce(max(seq), 0) FROM changes) "
         "WHERE $5::text IS NULL OR EXISTS (SELECT 1 FROM "
         "departments WHERE slug = $5::text) RETURNING " WH_ENDPOINT_JSON
         "::text",
         7},
    [WH_GET] = {"wh_get",
                "SELECT " WH_ENDPOINT_JSON "::text FROM webhook_endpoints e "
                "WHERE e.id = $1::uuid AND " WH_OWNED,
                2},
    /* A JSON merge patch; enabling clears the disabled and failing state,
     * disabling by hand says so. */
    [WH_PATCH] =
        {"wh_patch",
         "UPDATE webhook_endpoints e SET "
         "url = coalesce($3::jsonb->>'url', e.url), "
         "events = CASE WHEN $3::jsonb ? 'events' THEN ARRAY(SELECT "
         "  jsonb_array_elements_text($3::jsonb->'events')) ELSE e.events END, "
         "department_slug = CASE WHEN $3::jsonb ? 'department' "
         "  THEN $3::jsonb->>'department' ELSE e.department_slug END, "
         "description = CASE WHEN $3::jsonb ? 'description' "
         "  THEN $3::jsonb->>'description' ELSE e.description END, "
         "enabled = coalesce(($3::jsonb->>'enabled')::boolean, e.enabled), "
         "disabled_at = CASE WHEN ($3::jsonb->>'enabled')::boolean THEN NULL "
         "  WHEN NOT ($3::jsonb->>'enabled')::boolean AND e.enabled "
         "  THEN now() ELSE e.disabled_at END, "
         "disabled_reason = CASE WHEN ($3::jsonb->>'enabled')::boolean "
         "  THEN NULL WHEN NOT ($3::jsonb->>'enabled')::boolean AND e.enabled "
         "  THEN 'disabled by its owner' ELSE e.disabled_reason END, "
         "failing_since = CASE WHEN ($3::jsonb->>'enabled')::boolean "
         "  THEN NULL ELSE e.failing_since END, "
         "updated_at = now() "
         "WHERE e.id = $1::uuid AND " WH_OWNED " RETURNING " WH_ENDPOINT_JSON
         "::text",
         3},
    [WH_DELETE] = {"wh_delete",
                   "DELETE FROM webhook_endpoints e WHERE e.id = $1::uuid AND "
                   "" WH_OWNED " RETURNING 1",
                   2},
    /* The current secret becomes the previous one, which keeps signing
     * until $4 seconds from now. */
    [WH_ROTATE] =
        {"wh_rotate",
         "UPDATE webhook_endpoints e SET previous_sealed = e.secret_sealed, "
         "previous_until = now() + make_interval(secs => $4::int), "
         "secret_sealed = decode($3::text, 'hex'), updated_at = now() "
         "WHERE e.id = $1::uuid AND " WH_OWNED
         " RETURNING mq_ts(e.previous_until)",
         4},
    [WH_PING] = {"wh_ping",
                 "INSERT INTO webhook_deliveries AS d (endpoint_id, type, "
                 "payload, next_attempt_at) SELECT e.id, 'webhook.ping', "
                 "json_build_object('type', 'webhook.ping', 'timestamp', "
                 "mq_ts(now()), 'data', json_build_object('endpoint_id', "
                 "e.id))::text, now() FROM webhook_endpoints e "
                 "WHERE e.id = $1::uuid AND " WH_OWNED
                 " RETURNING " WH_DELIVERY_JSON "::text",
                 2},
    /* A fresh schedule under the same webhook-id. */
    [WH_REDELIVER] =
        {"wh_redeliver",
         "UPDATE webhook_deliveries d SET status = 'pending', attempts = 0, "
         "next_attempt_at = now(), updated_at = now() "
         "FROM webhook_endpoints e WHERE d.id = $3::uuid "
         "AND d.endpoint_id = $1::uuid AND e.id = d.endpoint_id AND " WH_OWNED
         " RETURNING " WH_DELIVERY_JSON "::text",
         3},
    /* Deliveries in flight (pending) are left alone: they are on their
     * way already. */
    [WH_REPLAY] =
        {"wh_replay",
         "WITH v AS (SELECT e.id FROM webhook_endpoints e "
         "  WHERE e.id = $1::uuid AND " WH_OWNED "), "
         "u AS (UPDATE webhook_deliveries d SET status = 'pending', "
         "  attempts = 0, next_attempt_at = now(), updated_at = now() "
         "  WHERE d.endpoint_id = (SELECT id FROM v) "
         "  AND d.created_at >= $3::timestamptz AND d.status <> 'pending' "
         "  RETURNING 1) "
         "SELECT (SELECT count(*) FROM v)::text, (SELECT count(*) FROM "
         "u)::text",
         3},
};
const size_t webhooks_nstatements = ARRAY_SIZE(webhooks_statements);

/* The owner filter: NULL (every endpoint) for an editor, the key's id
 * otherwise. */
static const char *wh__owner(const struct request *r)
{
    return (r->role & AUTH_ROLE_EDITOR) ? NULL : r->key_id;
}

static int wh__unconfigured_or_reply(struct request *r)
{
    if (r->cfg->webhook_key_set)
        return REPLY_NONE;
    return request_problem(r, PROBLEM_WEBHOOKS_NOT_CONFIGURED, 0,
                           "Webhooks are not configured on this server "
                           "(WEBHOOK_SECRET_KEY is not set).",
                           NULL);
}

static int wh__refuse(struct request *r, enum problem_kind kind,
                      const char *pointer, const char *detail)
{
    json_t *errors =
        json_pack("[{s:s, s:s}]", "pointer", pointer, "detail", detail);
    return request_problem(r, kind, 422, detail, errors);
}

/* Checks a URL from the body against the SSRF policy; a refusal is a 422
 * naming /url. A host name that resolves only to refused addresses is
 * refused now; one that does not resolve yet is accepted (it is checked
 * again at every delivery). */
static int wh__url_or_reply(struct request *r, const char *url)
{
    const struct config *cfg = r->cfg;
    struct webhooks_target t;
    char reason[200], addr[64];

    if (webhooks_url_check(url, cfg->webhook_allow_http,
                           cfg->webhook_allow_private, &t, reason,
                           sizeof(reason)) != 0)
        return wh__refuse(r, PROBLEM_INVALID, "/url", reason);
    if (!t.literal && !cfg->webhook_allow_private &&
        webhooks_resolve(&t, false, addr, sizeof(addr), reason,
                         sizeof(reason)) == 1)
        return wh__refuse(r, PROBLEM_INVALID, "/url",
                          "The URL's host resolves only to loopback, "
                          "private, link-local or multicast addresses.");
    return REPLY_NONE;
}

/* A new secret, sealed for endpoint `id` as hex for the statement. */
static int wh__new_secret(const struct request *r, const char *id,
                          char text[WEBHOOKS_SECRET_TEXT_LEN],
                          char hex[2 * WEBHOOKS_SEALED_LEN + 1])
{
    unsigned char key[WEBHOOKS_KEY_LEN];
    unsigned char sealed[WEBHOOKS_SEALED_LEN];
    int rc = -1;

    if (webhooks_secret_new(key, text) == 0 &&
        webhooks_seal(r->cfg->webhook_key, id, key, sealed) == 0) {
        base_hex(sealed, sizeof(sealed), hex);
        rc = 0;
    }
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

/* Replies with `json` (the first column of res) plus the secret, never
 * stored anywhere on the way. Frees res. */
static int wh__reply_with_secret(struct request *r, unsigned status,
                                 PGresult *res, const char *field,
                                 const char *secret)
{
    json_error_t err;
    json_t *o = json_loads(PQgetvalue(res, 0, 0), 0, &err);
    int rc;

    PQclear(res);
    if (o == NULL)
        return hx_reply_internal(
            r, "cannot parse the endpoint built by the database");
    json_object_set_new(o, field, json_string(secret));
    r->no_etag = true;
    request_add_header(r, "Cache-Control", "no-store");
    rc = request_reply_jansson(r, status, o);
    json_decref(o);
    return rc;
}

int handle_create_webhook(struct request *r)
{
    char id[37], text[WEBHOOKS_SECRET_TEXT_LEN];
    char hex[2 * WEBHOOKS_SEALED_LEN + 1];
    char location[512];
    uuid_t u;
    PGresult *res = NULL;
    char *events = NULL;
    int rc;

    if (wh__unconfigured_or_reply(r) != REPLY_NONE)
        return REPLY_QUEUED;
    const char *url = json_string_value(json_object_get(r->body, "url"));
    if (wh__url_or_reply(r, url) != REPLY_NONE)
        return REPLY_QUEUED;
    uuid_generate_random(u);
    uuid_unparse_lower(u, id);
    events = json_dumps(json_object_get(r->body, "events"), JSON_COMPACT);
    if (events == NULL || wh__new_secret(r, id, text, hex) != 0) {
        free(events);
        return hx_reply_internal(r, "cannot make a webhook secret");
    }
    const char *params[7] = {
        id,
        r->key_id[0] ? r->key_id : NULL,
        url,
        events,
        json_string_value(json_object_get(r->body, "department")),
        json_string_value(json_object_get(r->body, "description")),
        hex};
    rc = hx_query_or_reply(r, &webhooks_statements[WH_CREATE], params, false,
                           &res);
    free(events);
    if (rc == REPLY_QUEUED) {
        OPENSSL_cleanse(text, sizeof(text));
        return REPLY_QUEUED;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        OPENSSL_cleanse(text, sizeof(text));
        return wh__refuse(r, PROBLEM_UNKNOWN_REFERENCE, "/department",
                          "No department has this slug.");
    }
    snprintf(location, sizeof(location), "%s/webhooks/%s",
             r->cfg->public_base_url, id);
    request_add_header(r, "Location", location);
    rc = wh__reply_with_secret(r, 201, res, "secret", text);
    OPENSSL_cleanse(text, sizeof(text));
    return rc;
}

/* Endpoints in id order (a uuid: unique, so the order is total). A
 * partner's are filtered by owner, a shape of their own. */
static const struct page_list wh__endpoints = {
    .sort = "id",
    .keyset = {.ncolumns = 1, .columns = {{"e.id", "uuid"}}},
};

int handle_list_webhooks(struct request *r)
{
    const char *owner = wh__owner(r);
    struct page pg;
    struct querybuf b;

    if (page_open_or_reply(r, &wh__endpoints, &pg) == REPLY_QUEUED)
        return REPLY_QUEUED;
    qb_init(&b, "wl");
    qb_add(&b, "SELECT " WH_ENDPOINT_JSON "::text, e.id::text "
               "FROM webhook_endpoints e WHERE true");
    if (owner != NULL) {
        qb_filter(&b, " AND e.owner_key_id = $%d::uuid", owner);
        qb_shape(&b, 'o');
    }
    page_keyset(&pg, &b);
    r->private_data = true;
    return page_reply(r, &pg, &b);
}

int handle_get_webhook(struct request *r)
{
    const char *params[2] = {request_param_str(r, "id"), wh__owner(r)};

    r->private_data = true;
    return hx_reply_get_one(r, &webhooks_statements[WH_GET], params,
                            "No webhook endpoint with this id.");
}

int handle_patch_webhook(struct request *r)
{
    const char *url = json_string_value(json_object_get(r->body, "url"));
    PGresult *res = NULL;

    if (url != NULL && wh__url_or_reply(r, url) != REPLY_NONE)
        return REPLY_QUEUED;
    const char *params[3] = {request_param_str(r, "id"), wh__owner(r),
                             r->raw_body};
    struct db_conn *c = NULL;
    if (hx_conn_or_reply(r, &c) == REPLY_QUEUED)
        return REPLY_QUEUED;
    int rc = db_query(c, &webhooks_statements[WH_PATCH], params, false, &res);
    if (rc != DB_OK) {
        if (strcmp(db_sqlstate(c), "23503") == 0)
            return wh__refuse(r, PROBLEM_UNKNOWN_REFERENCE, "/department",
                              "No department has this slug.");
        return hx_reply_sql_error(r, c, rc);
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        return request_problem(r, PROBLEM_NOT_FOUND, 0,
                               "No webhook endpoint with this id.", NULL);
    }
    r->private_data = true;
    return request_reply_pg(r, 200, res);
}

/* Runs a statement over one endpoint the caller may manage; 404 when it
 * returns no row. On REPLY_NONE *out holds the result. */
static int wh__one_or_reply(struct request *r, int st,
                            const char *const *params, PGresult **out)
{
    *out = NULL;
    if (hx_query_or_reply(r, &webhooks_statements[st], params, false, out) ==
        REPLY_QUEUED)
        return REPLY_QUEUED;
    if (PQntuples(*out) == 0) {
        PQclear(*out);
        *out = NULL;
        return request_problem(r, PROBLEM_NOT_FOUND, 0,
                               "No such webhook endpoint or delivery.", NULL);
    }
    return REPLY_NONE;
}

int handle_delete_webhook(struct request *r)
{
    const char *params[2] = {request_param_str(r, "id"), wh__owner(r)};
    PGresult *res = NULL;

    if (wh__one_or_reply(r, WH_DELETE, params, &res) != REPLY_NONE)
        return REPLY_QUEUED;
    PQclear(res);
    return request_reply_empty(r, 204);
}

int handle_rotate_webhook_secret(struct request *r)
{
    const char *id = request_param_str(r, "id");
    char text[WEBHOOKS_SECRET_TEXT_LEN];
    char hex[2 * WEBHOOKS_SEALED_LEN + 1];
    char overlap[16];
    PGresult *res = NULL;

    if (!r->cfg->webhook_key_set) {
        /* Someone else's or a missing endpoint is a 404 whatever the
         * configuration; only an existing one learns that rotation is
         * off. */
        const char *gp[2] = {id, wh__owner(r)};
        if (wh__one_or_reply(r, WH_GET, gp, &res) != REPLY_NONE)
            return REPLY_QUEUED;
        PQclear(res);
        return wh__unconfigured_or_reply(r);
    }
    if (wh__new_secret(r, id, text, hex) != 0)
        return hx_reply_internal(r, "cannot make a webhook secret");
    snprintf(overlap, sizeof(overlap), "%u",
             r->cfg->webhook_rotation_overlap_s);
    const char *params[4] = {id, wh__owner(r), hex, overlap};
    if (wh__one_or_reply(r, WH_ROTATE, params, &res) != REPLY_NONE) {
        OPENSSL_cleanse(text, sizeof(text));
        return REPLY_QUEUED;
    }
    json_t *o = json_pack("{s:s, s:s}", "secret", text,
                          "previous_secret_expires_at", PQgetvalue(res, 0, 0));
    PQclear(res);
    OPENSSL_cleanse(text, sizeof(text));
    if (o == NULL)
        return hx_reply_internal(r, "cannot build the rotation answer");
    r->no_etag = true;
    request_add_header(r, "Cache-Control", "no-store");
    int rc = request_reply_jansson(r, 200, o);
    json_decref(o);
    return rc;
}

int handle_ping_webhook(struct request *r)
{
    const char *params[2] = {request_param_str(r, "id"), wh__owner(r)};
    PGresult *res = NULL;

    if (wh__one_or_reply(r, WH_PING, params, &res) != REPLY_NONE)
        return REPLY_QUEUED;
    r->no_etag = true;
    return request_reply_pg(r, 202, res);
}

/* An endpoint's deliveries, newest first (n is their insertion order).
 * The endpoint is the parent: someone else's or a missing one is a 404,
 * not an empty log; the LEFT JOIN keeps one row for an endpoint without
 * (more) deliveries, so the two differ in one round trip. */
static const struct page_list wh__deliveries = {
    .sort = "n",
    .keyset = {.desc = true, .ncolumns = 1, .columns = {{"d.n", "bigint"}}},
    .flags = PAGE_PARENT,
    .missing = "No webhook endpoint with this id.",
};

int handle_list_webhook_deliveries(struct request *r)
{
    const char *owner = wh__owner(r);
    struct page pg;
    struct querybuf b;

    if (page_open_or_reply(r, &wh__deliveries, &pg) == REPLY_QUEUED)
        return REPLY_QUEUED;
    qb_init(&b, "wd");
    qb_param(&b, request_param_str(r, "id"));
    qb_add(&b, "SELECT x.item, x.n FROM webhook_endpoints e "
               "LEFT JOIN LATERAL (SELECT " WH_DELIVERY_JSON "::text AS item, "
               "d.n::text AS n FROM webhook_deliveries d "
               "WHERE d.endpoint_id = e.id");
    page_keyset(&pg, &b);
    qb_add(&b, ") x ON true WHERE e.id = $1::uuid");
    if (owner != NULL) {
        qb_filter(&b, " AND e.owner_key_id = $%d::uuid", owner);
        qb_shape(&b, 'o');
    }
    r->private_data = true;
    return page_reply(r, &pg, &b);
}

int handle_redeliver_webhook_delivery(struct request *r)
{
    const char *params[3] = {request_param_str(r, "id"), wh__owner(r),
                             request_param_str(r, "delivery_id")};
    PGresult *res = NULL;

    if (wh__one_or_reply(r, WH_REDELIVER, params, &res) != REPLY_NONE)
        return REPLY_QUEUED;
    r->no_etag = true;
    return request_reply_pg(r, 202, res);
}

int handle_replay_webhook(struct request *r)
{
    const char *params[3] = {request_param_str(r, "id"), wh__owner(r),
                             request_param_str(r, "since")};
    PGresult *res = NULL;
    char body[64];

    if (hx_query_or_reply(r, &webhooks_statements[WH_REPLAY], params, false,
                          &res) == REPLY_QUEUED)
        return REPLY_QUEUED;
    if (strcmp(PQgetvalue(res, 0, 0), "0") == 0) {
        PQclear(res);
        return request_problem(r, PROBLEM_NOT_FOUND, 0,
                               "No webhook endpoint with this id.", NULL);
    }
    int n = snprintf(body, sizeof(body), "{\"requeued\":%s}",
                     PQgetvalue(res, 0, 1));
    PQclear(res);
    r->no_etag = true;
    return request_reply_json(r, 202, body, (size_t)n);
}
