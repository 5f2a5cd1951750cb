-- Privacy and trust (issue 15): the audit log's writers and its
-- append-only trigger.
--
-- Every API write statement calls mq_audit() in its own target list,
-- after the write function in its FROM has run (so the new item's id is
-- known), which keeps the record in the write's transaction and costs no
-- extra round trip; the CLI calls mq_audit_cli() inside its transaction.

-- The member names of a request body, never their values: top-level
-- members, and the members of an object member as "asker.name".
CREATE OR REPLACE FUNCTION mq__audit_fields(p jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(f ORDER BY f), '{}')
    FROM (SELECT CASE WHEN s.key IS NULL THEN k.key
                      ELSE k.key || '.' || s.key END AS f
          FROM jsonb_each(CASE WHEN jsonb_typeof(p) = 'object' THEN p
                               ELSE '{}' END) AS k
          LEFT JOIN LATERAL jsonb_each(
              CASE WHEN jsonb_typeof(k.value) = 'object' THEN k.value
                   ELSE '{}' END) AS s ON true) AS x
$$;

-- Appends one record for an API request: `key_id` is the caller's key
-- ('' or NULL when anonymous), whose role, name and doctor are copied in.
-- The target type is the action's first word ("question.erase").
CREATE OR REPLACE FUNCTION mq_audit(request_id text, key_id text, action text,
                                    target_id text, fields text[],
                                    reason text)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO audit (request_id, actor_key_id, actor_role, actor_key_name,
                       actor_doctor_id, action, target_type, target_id,
                       fields, reason)
    SELECT mq_audit.request_id, k.id, coalesce(k.role, 'anonymous'), k.name,
           k.doctor_id, mq_audit.action, split_part(mq_audit.action, '.', 1),
           mq_audit.target_id, coalesce(mq_audit.fields, '{}'),
           mq_audit.reason
    FROM (SELECT NULLIF(mq_audit.key_id, '')::uuid AS id) AS c
    LEFT JOIN api_keys k ON k.id = c.id
$$;

-- Appends one record for a command-line action: the actor is the
-- operator, named by the database user the command connected as.
CREATE OR REPLACE FUNCTION mq_audit_cli(action text, target_id text,
                                        reason text)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO audit (actor_role, actor_key_name, action, target_type,
                       target_id, reason)
    VALUES ('operator', session_user, mq_audit_cli.action,
            split_part(mq_audit_cli.action, '.', 1), mq_audit_cli.target_id,
            mq_audit_cli.reason)
$$;

-- Refuses every UPDATE, DELETE and TRUNCATE of the audit log. Ordinary
-- triggers do not fire under session_replication_role = replica, which
-- only a superuser (or a role granted SET on it) may set: that is the
-- door `medqa audit prune` uses, and the service never does.
CREATE OR REPLACE FUNCTION mq__audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'insufficient_privilege',
        MESSAGE = format('the audit log is append-only: %s is refused',
                         TG_OP),
        HINT = 'old records are removed by medqa audit prune';
END
$$;

CREATE OR REPLACE TRIGGER audit_append_only_rows
    BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION mq__audit_append_only();
CREATE OR REPLACE TRIGGER audit_append_only_truncate
    BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION mq__audit_append_only();
