/* webhooks/store — the worker's SQL: fan-out from `changes`, claims,
 * outcomes, gauges and pruning. Plain parameterised statements over the
 * tables of migrations/0012_webhooks.sql; the reasoning about order and
 * claims is written there and beside each statement. */
#include "webhooks_internal.h"

#include "medqa/base.h"

/* The thin body of one event, built once at fan-out and stored: the
 * change's seq, the item's id and url, and for an item that is still
 * visible the few fields a partner needs to decide whether to fetch it.
 * A deleted event, or an event of an item deleted since, carries nothing
 * of the content: hidden medical content never leaves in a webhook. The
 * largest body (a 200-character title) stays far below 20 kB, which the
 * table's CHECK enforces anyway. `base` is PUBLIC_BASE_URL ($2). */
#define WEBHOOKS__PAYLOAD                                                      \
    "json_build_object('type', x.type, 'timestamp', mq_ts(x.at), 'data', "     \
    "CASE WHEN x.type LIKE 'question.%' THEN "                                 \
    "  CASE WHEN x.type = 'question.deleted' OR x.q_id IS NULL "               \
    "       OR x.q_deleted THEN json_build_object('seq', x.seq, 'id', "        \
    "       x.entity_id, 'url', $2::text || '/questions/' || x.entity_id) "    \
    "  ELSE json_build_object('seq', x.seq, 'id', x.entity_id, 'url', "        \
    "       $2::text || '/questions/' || x.entity_id, 'title', x.q_title, "    \
    "       'department', x.dept, 'language', x.q_language, 'state', "         \
    "       x.q_state, 'updated_at', mq_ts(x.q_updated)) END "                 \
    "WHEN x.type LIKE 'reply.%' THEN "                                         \
    "  CASE WHEN x.type = 'reply.deleted' OR x.r_id IS NULL OR x.r_deleted "   \
    "       THEN json_build_object('seq', x.seq, 'id', x.entity_id, 'url', "   \
    "       $2::text || '/replies/' || x.entity_id) "                          \
    "  ELSE json_build_object('seq', x.seq, 'id', x.entity_id, 'url', "        \
    "       $2::text || '/replies/' || x.entity_id, 'question_id', "           \
    "x.r_question, "                                                           \
    "       'kind', x.r_kind, 'department', x.dept, 'updated_at', "            \
    "       mq_ts(x.r_updated)) END "                                          \
    "ELSE "                                                                    \
    "  CASE WHEN x.type = 'topic.deleted' OR x.t_slug IS NULL OR x.t_deleted " \
    "       THEN json_build_object('seq', x.seq, 'id', x.entity_id, 'url', "   \
    "       $2::text || '/topics/' || x.entity_id) "                           \
    "  ELSE json_build_object('seq', x.seq, 'id', x.entity_id, 'url', "        \
    "       $2::text || '/topics/' || x.entity_id, 'name', x.t_name, "         \
    "       'department', x.dept) END "                                        \
    "END)::text"

/* An endpoint belongs to the key that made it: once that key is revoked,
 * nothing more is fanned out or sent to it (it resumes if an operator
 * moves it to another key). */
#define WEBHOOKS__OWNER_LIVE                                                   \
    "(e.owner_key_id IS NULL OR EXISTS (SELECT 1 FROM api_keys k "             \
    "WHERE k.id = e.owner_key_id AND k.revoked_at IS NULL))"

const struct db_statement webhooks_worker_statements[] = {
    /* Endpoints whose cursor is behind the feed, locked for this
     * transaction; another instance skips them (and fans them out next
     * time if this one stops). */
    [WH_ST_FANOUT_LOCK] =
        {"wh_fanout_lock",
         "SELECT e.id::text FROM webhook_endpoints e WHERE e.enabled AND "
         "e.cursor_seq < (SELECT coalesce(max(seq), 0) FROM changes) "
         "AND " WEBHOOKS__OWNER_LIVE " "
         "ORDER BY e.id LIMIT 50 FOR UPDATE SKIP LOCKED",
         0},
    /* One batch of events after the endpoint's cursor: a delivery for
     * each that matches its types and department, and the cursor moved
     * past the whole batch, in one statement. The CASE around each cast
     * keeps a topic's slug from being read as a uuid. A deleted item
     * keeps its department, so deletions reach filtered endpoints. */
    [WH_ST_FANOUT] =
        {"wh_fanout",
         "WITH e AS (SELECT id, cursor_seq, events, department_slug "
         "  FROM webhook_endpoints WHERE id = $1::uuid), "
         "ev AS (SELECT c.seq, c.type, c.entity_id, c.at FROM changes c, e "
         "  WHERE c.seq > e.cursor_seq ORDER BY c.seq LIMIT $3::int), "
         "x AS (SELECT ev.*, q.id AS q_id, q.title AS q_title, "
         "  q.language AS q_language, q.state AS q_state, "
         "  q.updated_at AS q_updated, q.deleted_at IS NOT NULL AS q_deleted, "
         "  r.id AS r_id, r.question_id AS r_question, r.kind AS r_kind, "
         "  r.updated_at AS r_updated, "
         "  (r.deleted_at IS NOT NULL OR rq.deleted_at IS NOT NULL) "
         "    AS r_deleted, "
         "  t.slug AS t_slug, t.name AS t_name, "
         "  t.deleted_at IS NOT NULL AS t_deleted, "
         "  coalesce(q.department_slug, rq.department_slug, "
         "    t.department_slug) AS dept "
         "  FROM ev "
         "  LEFT JOIN questions q ON q.id = CASE WHEN ev.type LIKE "
         "    'question.%' THEN ev.entity_id::uuid END "
         "  LEFT JOIN replies r ON r.id = CASE WHEN ev.type LIKE 'reply.%' "
         "    THEN ev.entity_id::uuid END "
         "  LEFT JOIN questions rq ON rq.id = r.question_id "
         "  LEFT JOIN topics t ON t.slug = CASE WHEN ev.type LIKE 'topic.%' "
         "    THEN ev.entity_id END), "
         "ins AS (INSERT INTO webhook_deliveries (endpoint_id, seq, type, "
         "  payload, next_attempt_at) "
         "  SELECT e.id, x.seq, x.type, " WEBHOOKS__PAYLOAD ", now() "
         "  FROM x, e WHERE ('*' = ANY (e.events) OR x.type = ANY (e.events)) "
         "  AND (e.department_slug IS NULL OR x.dept = e.department_slug) "
         "  ORDER BY x.seq "
         "  ON CONFLICT (endpoint_id, seq) DO NOTHING RETURNING 1), "
         "mv AS (UPDATE webhook_endpoints w SET cursor_seq = "
         "  (SELECT max(seq) FROM ev) WHERE w.id = $1::uuid "
         "  AND EXISTS (SELECT 1 FROM ev) RETURNING 1) "
         "SELECT (SELECT count(*) FROM ev)::text, "
         "  (SELECT count(*) FROM ins)::text, (SELECT count(*) FROM mv)",
         3},
    /* Claims up to $1 due deliveries of enabled endpoints. The claim is
     * a lease: next_attempt_at moves $2 seconds ahead (longer than the
     * whole batch can take), so another instance skips them while they
     * are in flight, and retries them if this one dies. SKIP LOCKED lets
     * instances claim side by side without waiting on each other. */
    [WH_ST_CLAIM] =
        {"wh_claim",
         "WITH due AS (SELECT d.id FROM webhook_deliveries d "
         "  JOIN webhook_endpoints e ON e.id = d.endpoint_id "
         "  WHERE d.status = 'pending' AND d.next_attempt_at <= now() "
         "  AND e.enabled AND " WEBHOOKS__OWNER_LIVE
         "  ORDER BY d.next_attempt_at, d.n LIMIT $1::int "
         "  FOR UPDATE OF d SKIP LOCKED) "
         "UPDATE webhook_deliveries d SET attempts = d.attempts + 1, "
         "  next_attempt_at = now() + make_interval(secs => $2::int), "
         "  last_attempt_at = now(), updated_at = now() "
         "FROM due, webhook_endpoints e "
         "WHERE d.id = due.id AND e.id = d.endpoint_id "
         "RETURNING d.id::text, d.endpoint_id::text, e.url, d.payload, "
         "  d.attempts, encode(e.secret_sealed, 'hex'), "
         "  CASE WHEN e.previous_until > now() "
         "    THEN encode(e.previous_sealed, 'hex') END, "
         "  'msg_' || replace(d.id::text, '-', ''), d.type, "
         "  coalesce(d.seq::text, '')",
         2},
    [WH_ST_SUCCEEDED] =
        {"wh_succeeded",
         "WITH d AS (UPDATE webhook_deliveries SET status = 'succeeded', "
         "  last_status = $2::int, last_error = NULL, next_attempt_at = NULL, "
         "  updated_at = now() WHERE id = $1::uuid RETURNING endpoint_id) "
         "UPDATE webhook_endpoints SET failing_since = NULL "
         "WHERE id = (SELECT endpoint_id FROM d) AND failing_since IS NOT NULL",
         2},
    /* A failed attempt: due again after $4 ms, or failed for good when $4
     * is NULL. The endpoint's failing streak starts (or goes on); one
     * failing for longer than $5 seconds is disabled, with when and why. */
    [WH_ST_FAILED] =
        {"wh_failed",
         "WITH d AS (UPDATE webhook_deliveries SET "
         "  status = CASE WHEN $4::bigint IS NULL THEN 'failed' "
         "    ELSE 'pending' END, "
         "  last_status = $2::int, last_error = left($3::text, 200), "
         "  next_attempt_at = CASE WHEN $4::bigint IS NULL THEN NULL ELSE "
         "    now() + make_interval(secs => $4::bigint / 1000.0) END, "
         "  updated_at = now() WHERE id = $1::uuid RETURNING endpoint_id) "
         "UPDATE webhook_endpoints e SET "
         "  failing_since = coalesce(e.failing_since, now()), "
         "  enabled = e.enabled AND NOT coalesce(e.failing_since < now() - "
         "    make_interval(secs => $5::int), false), "
         "  disabled_at = CASE WHEN e.enabled AND e.failing_since < now() - "
         "    make_interval(secs => $5::int) THEN now() ELSE e.disabled_at "
         "END, "
         "  disabled_reason = CASE WHEN e.enabled AND e.failing_since < now() "
         "    - make_interval(secs => $5::int) THEN 'every delivery has "
         "failed since ' || mq_ts(e.failing_since) ELSE e.disabled_reason END "
         "WHERE e.id = (SELECT endpoint_id FROM d) "
         "RETURNING (NOT e.enabled)::text",
         5},
    /* 410 Gone: the receiver asks us to stop. */
    [WH_ST_GONE] =
        {"wh_gone",
         "WITH d AS (UPDATE webhook_deliveries SET status = 'failed', "
         "  last_status = 410, last_error = 'HTTP 410: endpoint disabled', "
         "  next_attempt_at = NULL, updated_at = now() "
         "  WHERE id = $1::uuid RETURNING endpoint_id) "
         "UPDATE webhook_endpoints SET enabled = false, disabled_at = now(), "
         "  disabled_reason = 'the endpoint answered 410 Gone' "
         "WHERE id = (SELECT endpoint_id FROM d)",
         1},
    /* An attempt cut by our own shutdown, or claimed but never started:
     * due again at once and not counted. */
    [WH_ST_RELEASE] = {"wh_release",
                       "UPDATE webhook_deliveries SET attempts = "
                       "greatest(attempts - 1, 0), next_attempt_at = now(), "
                       "updated_at = now() WHERE id = $1::uuid "
                       "AND status = 'pending'",
                       1},
    [WH_ST_GAUGES] = {"wh_gauges",
                      "SELECT count(*)::text, coalesce(extract(epoch FROM "
                      "now() - min(d.created_at)), 0)::float8::text "
                      "FROM webhook_deliveries d JOIN webhook_endpoints e "
                      "ON e.id = d.endpoint_id "
                      "WHERE d.status = 'pending' AND e.enabled",
                      0},
    [WH_ST_PRUNE] = {"wh_prune",
                     "DELETE FROM webhook_deliveries WHERE id IN (SELECT id "
                     "FROM webhook_deliveries WHERE created_at < now() - "
                     "make_interval(days => $1::int) LIMIT 5000)",
                     1},
};

_Static_assert(ARRAY_SIZE(webhooks_worker_statements) == WH_ST__COUNT,
               "every worker statement is in the table");
const size_t webhooks_worker_nstatements =
    ARRAY_SIZE(webhooks_worker_statements);
