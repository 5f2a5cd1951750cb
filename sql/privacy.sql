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

-- ---------------------------------------------------------------------------
-- Erasure
-- ---------------------------------------------------------------------------

-- Removes every stored copy of a created item's response: the
-- Idempotency-Key records whose stored body names any of `ids` (a
-- question's own create response, and each reply's, which holds its
-- question_id).
CREATE OR REPLACE FUNCTION mq__erase_idempotency(ids text[]) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM idempotency_keys k
    WHERE EXISTS (SELECT 1 FROM unnest(ids) AS i WHERE strpos(k.body, i) > 0)
$$;

-- Strips the stored webhook payloads of the events of `ids` (a question
-- and its replies, or one reply) down to what a deleted item's event
-- carries (seq, id, url): a delivery still pending, or one a partner
-- redelivers later, then says nothing about an erased item beyond its id.
CREATE OR REPLACE FUNCTION mq__erase_deliveries(ids text[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE webhook_deliveries d
    SET payload = (SELECT json_build_object(
            'type', p.j ->> 'type', 'timestamp', p.j ->> 'timestamp',
            'data', json_build_object('seq', (p.j -> 'data' ->> 'seq')::bigint,
                                      'id', p.j -> 'data' ->> 'id',
                                      'url', p.j -> 'data' ->> 'url'))::text
            FROM (SELECT d.payload::jsonb AS j) p),
        updated_at = now()
    FROM changes c
    WHERE d.seq = c.seq AND c.entity_id = ANY (ids)
$$;

-- Erases a question for good, in one transaction: its title, body and
-- asker fields, its contact e-mail, the body of every reply, its search
-- and related terms (generated from the text, and the reply terms kept by
-- the replies trigger), its topic links and stored create responses. The
-- row stays as a tombstone, hidden (so the counter triggers take it out
-- of every count), with erased_at and the reason code. The feed gets
-- question.erased, and the question's and its replies' earlier events are
-- hidden from partners (mq__emit). Returns true when it erased, false
-- when the question had been erased already (a retry changes nothing);
-- MQ404 when there is no such question.
-- Lock order: the replies, then the question (see writes.sql).
CREATE OR REPLACE FUNCTION mq_erase_question(id uuid, reason text)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    q questions;
    rids text[];
BEGIN
    PERFORM mq__writer();
    PERFORM 1 FROM replies r WHERE r.question_id = mq_erase_question.id
    ORDER BY r.id FOR UPDATE;
    SELECT * INTO q FROM questions x WHERE x.id = mq_erase_question.id
    FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM mq__fail('MQ404', 'no question exists with this id');
    END IF;
    IF q.erased_at IS NOT NULL THEN
        RETURN false;
    END IF;
    SELECT coalesce(array_agg(r.id::text), '{}') INTO rids
    FROM replies r WHERE r.question_id = q.id;
    -- Hidden first, so the counter triggers see a visible question leave.
    IF q.deleted_at IS NULL THEN
        UPDATE questions x SET deleted_at = now() WHERE x.id = q.id;
    END IF;
    UPDATE replies r
    SET body = NULL, deleted_at = coalesce(r.deleted_at, now()),
        erased_at = now(), erasure_reason = mq_erase_question.reason
    WHERE r.question_id = q.id AND r.erased_at IS NULL;
    DELETE FROM question_topics qt WHERE qt.question_id = q.id;
    DELETE FROM question_contacts c WHERE c.question_id = q.id;
    UPDATE questions x
    SET title = NULL, body = NULL, headline = NULL, asker_name = NULL,
        asker_age_band = NULL,
        asker_gender = NULL, reply_terms = ''::tsvector, erased_at = now(),
        erasure_reason = mq_erase_question.reason
    WHERE x.id = q.id;
    PERFORM mq__erase_idempotency(rids || q.id::text);
    PERFORM mq__erase_deliveries(rids || q.id::text);
    PERFORM mq__emit('question.erased', q.id::text);
    RETURN true;
END
$$;

-- Erases one reply: its body, its stored create response; a tombstone
-- stays, hidden, so the question's reply_count, state and reply terms and
-- the doctor's count follow (triggers). reply.erased goes to the feed.
-- true when it erased, false when erased already; MQ404 when missing.
CREATE OR REPLACE FUNCTION mq_erase_reply(id uuid, reason text)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    rep replies;
BEGIN
    PERFORM mq__writer();
    SELECT * INTO rep FROM replies r WHERE r.id = mq_erase_reply.id
    FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM mq__fail('MQ404', 'no reply exists with this id');
    END IF;
    IF rep.erased_at IS NOT NULL THEN
        RETURN false;
    END IF;
    UPDATE replies r
    SET body = NULL, deleted_at = coalesce(r.deleted_at, now()),
        erased_at = now(), erasure_reason = mq_erase_reply.reason
    WHERE r.id = rep.id;
    PERFORM mq__erase_idempotency(ARRAY[rep.id::text]);
    PERFORM mq__erase_deliveries(ARRAY[rep.id::text]);
    PERFORM mq__emit('reply.erased', rep.id::text);
    RETURN true;
END
$$;

-- ---------------------------------------------------------------------------
-- Contact e-mails
-- ---------------------------------------------------------------------------

-- Sets or removes a question's contact e-mail as the C service sealed it
-- (hex of nonce || ciphertext || tag, and the key's id): the e-mail never
-- reaches SQL in the clear. `present` says the request had the member; a
-- present member without a sealed value (JSON null) removes it. Called in
-- the create and patch statements after the write function, so the
-- question exists and is locked.
CREATE OR REPLACE FUNCTION mq_contact_put(qid uuid, present boolean,
                                          p_sealed text, p_key text)
RETURNS void LANGUAGE sql AS $$
    DELETE FROM question_contacts c
    WHERE present AND p_sealed IS NULL AND c.question_id = qid;
    INSERT INTO question_contacts (question_id, ciphertext, key_id)
    SELECT qid, decode(p_sealed, 'hex'), p_key
    WHERE present AND p_sealed IS NOT NULL
    ON CONFLICT (question_id) DO UPDATE
    SET ciphertext = EXCLUDED.ciphertext, key_id = EXCLUDED.key_id,
        email = NULL, created_at = now();
$$;

-- No write may store a contact e-mail in the clear again: only the
-- migration step that encrypts old values touches `email`, and it sets it
-- to NULL. (mq_create_question and mq_patch_question still know the
-- member, from before issue 15; the service strips it from the body it
-- hands them, and this stops any other caller.)
CREATE OR REPLACE FUNCTION mq__contacts_sealed_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.email IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            MESSAGE = 'contact e-mails are stored sealed (CONTACT_KEY), never in the clear';
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER question_contacts_sealed_only
    BEFORE INSERT OR UPDATE OF email ON question_contacts
    FOR EACH ROW EXECUTE FUNCTION mq__contacts_sealed_only();
