-- Webhooks (issue 13): partners' endpoints and the deliveries made to them.
-- Tables and indexes only; the statements that use them are the C code's
-- (internal/webhooks/store.c, internal/handlers/webhooks.c).
--
-- Fan-out without a trigger: each endpoint keeps `cursor_seq`, the last
-- `changes.seq` it has been offered. The delivery worker locks an endpoint
-- row (FOR UPDATE SKIP LOCKED, so one instance does it), inserts one
-- delivery per matching event after the cursor and moves the cursor, in
-- one transaction. `changes` is appended under an exclusive advisory lock
-- held to COMMIT (migration 0002, mq__emit), so its seq values become
-- visible in order: a cursor never steps over an event that commits later,
-- and nothing is missed across restarts.

CREATE TABLE webhook_endpoints (
    id uuid PRIMARY KEY,
    -- The API key that made it: a partner key sees and manages only its
    -- own endpoints. SET NULL keeps an endpoint whose key row goes (keys
    -- are revoked, not deleted, today); editors still see it.
    owner_key_id uuid NULL REFERENCES api_keys (id) ON DELETE SET NULL,
    url text NOT NULL CHECK (length(url) BETWEEN 8 AND 2000),
    events text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 16),
    department_slug text NULL REFERENCES departments (slug),
    description text NULL CHECK (length(description) <= 500),
    enabled boolean NOT NULL DEFAULT true,
    disabled_at timestamptz NULL,
    disabled_reason text NULL CHECK (length(disabled_reason) <= 200),
    -- The signing secret's 32 bytes sealed with AES-256-GCM under
    -- WEBHOOK_SECRET_KEY (12-byte nonce, ciphertext, 16-byte tag; the
    -- endpoint id is the associated data, so a sealed secret copied to
    -- another row does not open). Never the secret itself.
    secret_sealed bytea NOT NULL CHECK (length(secret_sealed) = 60),
    -- The secret before the last rotation, signed with too until
    -- previous_until (the rotation overlap).
    previous_sealed bytea NULL CHECK (length(previous_sealed) = 60),
    previous_until timestamptz NULL,
    cursor_seq bigint NOT NULL DEFAULT 0,
    -- Set by the first failed attempt after a success, cleared by the next
    -- success: an endpoint failing since longer than WEBHOOK_DISABLE_AFTER
    -- is disabled.
    failing_since timestamptz NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- GET /webhooks for a partner: its own endpoints by id.
CREATE INDEX webhook_endpoints_owner_idx ON webhook_endpoints (owner_key_id, id);

CREATE TABLE webhook_deliveries (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Keyset order of GET /webhooks/{id}/deliveries (newest first).
    n bigserial NOT NULL UNIQUE,
    endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id)
        ON DELETE CASCADE,
    -- The changes.seq delivered; NULL for webhook.ping.
    seq bigint NULL,
    type text NOT NULL CHECK (length(type) <= 40),
    -- The exact body sent on every attempt: the signature covers it, and
    -- a receiver deduplicating on webhook-id sees the same bytes.
    payload text NOT NULL CHECK (octet_length(payload) < 20480),
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- When a pending delivery is due. A claim moves it forward by a lease
    -- (longer than an attempt can last), so another instance skips it
    -- while it is in flight and picks it up if its sender died.
    next_attempt_at timestamptz NULL,
    last_attempt_at timestamptz NULL,
    last_status integer NULL,
    last_error text NULL CHECK (length(last_error) <= 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- One delivery per event and endpoint, whatever races the fan-out.
    UNIQUE (endpoint_id, seq)
);
-- The worker's claim: due pending deliveries, oldest first.
CREATE INDEX webhook_deliveries_due_idx
    ON webhook_deliveries (next_attempt_at, n) WHERE status = 'pending';
-- GET /webhooks/{id}/deliveries, newest first; replay by time.
CREATE INDEX webhook_deliveries_endpoint_idx
    ON webhook_deliveries (endpoint_id, n);
-- Pruning after WEBHOOK_RETENTION_DAYS.
CREATE INDEX webhook_deliveries_created_idx ON webhook_deliveries (created_at);
