-- The audit log (docs/audit.md): one event per change or reveal of a secret, token, pack or execution, append-only and
-- hash-chained. Never a value.
CREATE TABLE "attune"."audit_event" (
  "id"         BIGINT PRIMARY KEY,
  "at"         TIMESTAMPTZ(6) NOT NULL,
  "actor_type" TEXT NOT NULL,
  "actor_id"   TEXT NOT NULL,
  "actor_name" TEXT NOT NULL,
  -- The client address and request id, for events of API requests.
  "source"     TEXT,
  "request_id" TEXT,
  -- What happened: `key.created`, `key.decrypted`, `token.revoked`… (docs/audit.md#actions).
  "action"     TEXT NOT NULL,
  "ref"        TEXT,
  "version"    INTEGER,
  "outcome"    TEXT NOT NULL,
  -- Facts of the event (counts, ids, the data key); never a value.
  "detail"     JSONB NOT NULL DEFAULT '{}',
  "prev_hash"  TEXT NOT NULL,
  "hash"       TEXT NOT NULL,
  CONSTRAINT "audit_event_actor_type" CHECK ("actor_type" IN ('token', 'cli', 'worker', 'system')),
  CONSTRAINT "audit_event_outcome" CHECK ("outcome" IN ('ok', 'refused', 'failed'))
);
CREATE SEQUENCE "attune"."audit_event_id_seq" OWNED BY "attune"."audit_event"."id";
CREATE INDEX "audit_event_ref_idx" ON "attune"."audit_event" ("ref", "id") WHERE "ref" IS NOT NULL;
CREATE INDEX "audit_event_at_idx" ON "attune"."audit_event" ("at");
CREATE INDEX "audit_event_actor_idx" ON "attune"."audit_event" ("actor_name", "id");

-- The text an event's hash covers: every column but the hash, each as <length>:<text>, in a fixed order; the previous
-- event's hash first. `attune audit verify` computes the same text from the columns, independently of this function.
CREATE FUNCTION "attune"."audit_event_text"(e "attune"."audit_event") RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
  SELECT string_agg(length(f)::text || ':' || f, '' ORDER BY n)
  FROM unnest(ARRAY[
    e."prev_hash", e."id"::text, to_char(e."at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    e."actor_type", e."actor_id", e."actor_name", coalesce(e."source", ''), coalesce(e."request_id", ''),
    e."action", coalesce(e."ref", ''), coalesce(e."version"::text, ''), e."outcome", e."detail"::text
  ]) WITH ORDINALITY AS t(f, n)
$$;

-- Appending is serialised (an advisory lock for the rest of the transaction), so that ids follow the chain: the id
-- and the time are given here, after the lock, and the event links to the last one committed.
CREATE FUNCTION "attune"."audit_event_chain"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  previous TEXT;
BEGIN
  PERFORM pg_advisory_xact_lock(72707371);
  NEW."id" := nextval('"attune"."audit_event_id_seq"');
  NEW."at" := clock_timestamp();
  SELECT "hash" INTO previous FROM "attune"."audit_event" ORDER BY "id" DESC LIMIT 1;
  NEW."prev_hash" := coalesce(previous, repeat('0', 64));
  NEW."hash" := encode(sha256(convert_to("attune"."audit_event_text"(NEW), 'UTF8')), 'hex');
  RETURN NEW;
END;
$$;
CREATE TRIGGER "audit_event_chain" BEFORE INSERT ON "attune"."audit_event"
  FOR EACH ROW EXECUTE FUNCTION "attune"."audit_event_chain"();

-- Append-only: no update ever; a delete only inside `attune audit prune`, which records itself first.
CREATE FUNCTION "attune"."audit_event_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('attune.audit_prune', true) = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'audit_event_append_only';
END;
$$;
CREATE TRIGGER "audit_event_append_only" BEFORE UPDATE OR DELETE ON "attune"."audit_event"
  FOR EACH ROW EXECUTE FUNCTION "attune"."audit_event_append_only"();
CREATE TRIGGER "audit_event_no_truncate" BEFORE TRUNCATE ON "attune"."audit_event"
  FOR EACH STATEMENT EXECUTE FUNCTION "attune"."audit_event_append_only"();
