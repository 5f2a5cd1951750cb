-- Privacy and trust (issue 15): keys that expire and rotate.
--
-- api_keys.expires_at: after it the key is refused with 401 key-expired
-- (NULL: never). `medqa keys rotate` sets it on the old key to the end of
-- its grace period and points replaced_by at the successor.
-- api_keys.last_used_at: written by the authenticator at most once a
-- minute per key (a conditional UPDATE), so reads do not turn into writes.
ALTER TABLE api_keys
    ADD COLUMN expires_at timestamptz NULL,
    ADD COLUMN last_used_at timestamptz NULL,
    ADD COLUMN replaced_by uuid NULL REFERENCES api_keys (id);

-- The audit log: one row per state-changing action, written in the same
-- transaction as the change (sql/privacy.sql: mq_audit, mq_audit_cli).
-- It holds who, what kind of action, on what, and the NAMES of the fields
-- a write set, never their values: it is the one table erasure leaves
-- alone, so it must never hold content. Append-only: a trigger
-- (mq__audit_append_only) refuses UPDATE, DELETE and TRUNCATE to every
-- role, the service's included; only `medqa audit prune`, which needs a
-- role allowed to set session_replication_role (a superuser, or one
-- granted SET on it), deletes rows past AUDIT_RETENTION_DAYS.
-- No foreign keys: a record outlives the key, question or topic it names.
CREATE TABLE audit (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    request_id text NULL CHECK (length(request_id) <= 64),
    -- The caller: an API key (id, its role, name and doctor, copied so
    -- the record reads the same after the key changes), or an operator at
    -- the command line (role 'operator', key_name the database user).
    actor_key_id uuid NULL,
    actor_role text NOT NULL
        CHECK (actor_role IN ('partner', 'app', 'doctor', 'editor',
                              'anonymous', 'operator')),
    actor_key_name text NULL,
    actor_doctor_id uuid NULL,
    action text NOT NULL CHECK (action ~ '^[a-z_]+\.[a-z_]+$'),
    target_type text NOT NULL,
    target_id text NOT NULL CHECK (length(target_id) <= 80),
    fields text[] NOT NULL DEFAULT '{}',
    -- A reason code from the contract's enum (erasure, hiding), never
    -- free text.
    reason text NULL CHECK (reason ~ '^[a-z-]{1,40}$')
);
-- GET /audit is newest first by id; each filter has its index.
CREATE INDEX audit_actor_idx ON audit (actor_key_id, id);
CREATE INDEX audit_action_idx ON audit (action, id);
CREATE INDEX audit_target_idx ON audit (target_id, id);
CREATE INDEX audit_at_idx ON audit (at);
-- The owner keeps every privilege (PostgreSQL gives them back to it
-- anyway); for any other role the table is read and append only.
REVOKE ALL ON audit FROM PUBLIC;
