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

-- Erasure (POST /questions/{id}/erasure, /replies/{id}/erasure; the
-- functions are in sql/privacy.sql). An erased row stays as a tombstone:
-- id, department, timestamps, erased_at and the reason code; its text and
-- the asker's details become NULL, so those columns may now be NULL, but
-- only on an erased row. An erased row is also hidden (deleted_at set),
-- so every list, search, count and /related leaves it out through the
-- conditions and partial indexes they already have.
ALTER TABLE questions
    ADD COLUMN erased_at timestamptz NULL,
    ADD COLUMN erasure_reason text NULL,
    ALTER COLUMN title DROP NOT NULL,
    ALTER COLUMN body DROP NOT NULL,
    ALTER COLUMN asker_name DROP NOT NULL,
    ALTER COLUMN asker_age_band DROP NOT NULL,
    ALTER COLUMN asker_gender DROP NOT NULL,
    ADD CONSTRAINT questions_erased_check CHECK (
        CASE WHEN erased_at IS NULL
             THEN title IS NOT NULL AND body IS NOT NULL
                  AND asker_name IS NOT NULL AND asker_age_band IS NOT NULL
                  AND asker_gender IS NOT NULL AND erasure_reason IS NULL
             ELSE title IS NULL AND body IS NULL AND asker_name IS NULL
                  AND asker_age_band IS NULL AND asker_gender IS NULL
                  AND deleted_at IS NOT NULL AND erasure_reason IS NOT NULL
        END);
ALTER TABLE replies
    ADD COLUMN erased_at timestamptz NULL,
    ADD COLUMN erasure_reason text NULL,
    ALTER COLUMN body DROP NOT NULL,
    ADD CONSTRAINT replies_erased_check CHECK (
        CASE WHEN erased_at IS NULL
             THEN body IS NOT NULL AND erasure_reason IS NULL
             ELSE body IS NULL AND deleted_at IS NOT NULL
                  AND erasure_reason IS NOT NULL
        END);

ALTER TABLE changes
    DROP CONSTRAINT changes_type_check,
    ADD CONSTRAINT changes_type_check
        CHECK (type IN ('question.created', 'question.updated',
                        'question.deleted', 'question.erased',
                        'reply.created', 'reply.updated', 'reply.deleted',
                        'reply.erased', 'topic.created', 'topic.updated',
                        'topic.deleted'));

-- PostgreSQL keeps an erased row's old versions (with the text) as dead
-- tuples until VACUUM. Autovacuum's default waits for 20% of a table to
-- be dead; on the tables erasure writes it starts after a few dozen dead
-- rows instead, so old versions are reclaimed within minutes (naptime).
-- What VACUUM cannot reach (WAL, backups, replicas) is in the README.
ALTER TABLE questions SET (autovacuum_vacuum_scale_factor = 0,
                           autovacuum_vacuum_threshold = 50);
ALTER TABLE replies SET (autovacuum_vacuum_scale_factor = 0,
                         autovacuum_vacuum_threshold = 50);
ALTER TABLE question_contacts SET (autovacuum_vacuum_scale_factor = 0,
                                   autovacuum_vacuum_threshold = 1);
ALTER TABLE question_topics SET (autovacuum_vacuum_scale_factor = 0,
                                 autovacuum_vacuum_threshold = 50);
ALTER TABLE idempotency_keys SET (autovacuum_vacuum_scale_factor = 0,
                                  autovacuum_vacuum_threshold = 1);

-- Age bands after HIPAA's Safe Harbor method, which aggregates ages over
-- 89: the top band is now '90+', and '80-89' replaces the '80+' band for
-- new writes (sql/writes.sql refuses '80+'). A question recorded as '80+'
-- keeps it: it cannot be split after the fact, and as an aggregate that
-- includes every age over 89 it already meets Safe Harbor.
ALTER TABLE questions
    DROP CONSTRAINT questions_asker_age_band_check,
    ADD CONSTRAINT questions_asker_age_band_check
        CHECK (asker_age_band IN ('0-9', '10-19', '20-29', '30-39', '40-49',
                                  '50-59', '60-69', '70-79', '80-89', '90+',
                                  '80+'));

-- Contact e-mails encrypted at rest (AES-256-GCM under CONTACT_KEY, in
-- the C service: internal/contacts): `ciphertext` is nonce || sealed text
-- || tag, `key_id` names the key (the first 8 bytes of its SHA-256, in
-- hex) so keys can rotate (`medqa contacts rekey`). `email` only holds a
-- value written before this migration until `medqa migrate` encrypts it
-- (it needs CONTACT_KEY for that); no write puts one there any more.
-- created_at drives the CONTACT_RETENTION_DAYS expiry; for an existing
-- value it is its question's asked_at, the best estimate there is.
ALTER TABLE question_contacts
    ADD COLUMN ciphertext bytea NULL,
    ADD COLUMN key_id text NULL CHECK (key_id ~ '^[0-9a-f]{16}$'),
    ADD COLUMN created_at timestamptz NOT NULL DEFAULT now(),
    ALTER COLUMN email DROP NOT NULL,
    ADD CONSTRAINT question_contacts_one_form_check
        CHECK ((email IS NULL) <> (ciphertext IS NULL)
               AND (ciphertext IS NULL) = (key_id IS NULL));
UPDATE question_contacts c SET created_at = q.asked_at
FROM questions q WHERE q.id = c.question_id;
CREATE INDEX question_contacts_created_idx ON question_contacts (created_at);
