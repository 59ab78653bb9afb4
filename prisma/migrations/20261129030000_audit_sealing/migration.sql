-- The audit log's chain is sealed after commit (docs/audit.md#tamper-evidence): an event is inserted without a lock
-- and without its hashes; `attune.audit_seal` then links the committed events, in id order, to the chain's end,
-- under advisory lock 72707371. Before, every audited transaction held that lock until its commit, so that all of
-- them, on every API and CLI, committed one at a time.

-- The event's place in the chain (the order `verify` walks); null until sealed, as `prev_hash` and `hash` are.
ALTER TABLE "attune"."audit_event" ADD COLUMN "seq" BIGINT;
ALTER TABLE "attune"."audit_event" DISABLE TRIGGER "audit_event_append_only";
-- Chained in id order so far: numbered 1, 2, 3… in that order (verify checks the numbers follow one another).
UPDATE "attune"."audit_event" AS t SET "seq" = n.seq
  FROM (SELECT "id", row_number() OVER (ORDER BY "id") AS seq FROM "attune"."audit_event") AS n WHERE t."id" = n."id";
ALTER TABLE "attune"."audit_event" ENABLE TRIGGER "audit_event_append_only";
ALTER TABLE "attune"."audit_event" ALTER COLUMN "prev_hash" DROP NOT NULL, ALTER COLUMN "hash" DROP NOT NULL;
ALTER TABLE "attune"."audit_event" ADD CONSTRAINT "audit_event_sealed"
  CHECK (("seq" IS NULL) = ("hash" IS NULL) AND ("seq" IS NULL) = ("prev_hash" IS NULL) AND ("seq" IS NULL OR "seq" > 0));
CREATE UNIQUE INDEX "audit_event_seq_key" ON "attune"."audit_event" ("seq");
CREATE INDEX "audit_event_unsealed_idx" ON "attune"."audit_event" ("id") WHERE "seq" IS NULL;

-- Appending: the database gives the id and the time; the chain columns are left to the seal, whatever is sent.
CREATE OR REPLACE FUNCTION "attune"."audit_event_chain"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW."id" := nextval('"attune"."audit_event_id_seq"');
  NEW."at" := clock_timestamp();
  NEW."seq" := NULL;
  NEW."prev_hash" := NULL;
  NEW."hash" := NULL;
  RETURN NEW;
END;
$$;

-- Sealing: links up to `max_events` committed, unsealed events, in id order, to the end of the chain (an event that
-- commits later, with a lower id, is simply sealed later). Returns how many it sealed. Concurrent seals wait for one
-- another; the lock is held to the end of the caller's transaction.
CREATE FUNCTION "attune"."audit_seal"(max_events INTEGER) RETURNS INTEGER LANGUAGE plpgsql AS $$
DECLARE
  last_seq BIGINT;
  last_hash TEXT;
  anchor TEXT;
  e "attune"."audit_event";
  ids BIGINT[] := '{}';
  seqs BIGINT[] := '{}';
  prevs TEXT[] := '{}';
  hashes TEXT[] := '{}';
BEGIN
  PERFORM pg_advisory_xact_lock(72707371);
  SELECT "seq", "hash" INTO last_seq, last_hash FROM "attune"."audit_event"
    WHERE "seq" IS NOT NULL ORDER BY "seq" DESC LIMIT 1;
  IF last_seq IS NULL THEN
    -- Everything sealed was pruned: the chain goes on from the last prune's anchor.
    SELECT "detail"->>'anchor', ("detail"->>'up_to_seq')::BIGINT INTO anchor, last_seq FROM "attune"."audit_event"
      WHERE "action" = 'audit.pruned' ORDER BY "id" DESC LIMIT 1;
    last_hash := coalesce(anchor, repeat('0', 64));
    last_seq := coalesce(last_seq, 0);
  END IF;
  -- Each hash needs the one before: computed in order, then written in one statement.
  FOR e IN SELECT * FROM "attune"."audit_event" WHERE "seq" IS NULL ORDER BY "id" LIMIT max_events LOOP
    e."seq" := last_seq + 1;
    e."prev_hash" := last_hash;
    e."hash" := encode(sha256(convert_to("attune"."audit_event_text"(e), 'UTF8')), 'hex');
    ids := ids || e."id";
    seqs := seqs || e."seq";
    prevs := prevs || e."prev_hash";
    hashes := hashes || e."hash";
    last_seq := e."seq";
    last_hash := e."hash";
  END LOOP;
  IF cardinality(ids) = 0 THEN
    RETURN 0;
  END IF;
  PERFORM set_config('attune.audit_seal', 'on', true);
  UPDATE "attune"."audit_event" AS t SET "seq" = s.seq, "prev_hash" = s.prev_hash, "hash" = s.hash
    FROM unnest(ids, seqs, prevs, hashes) AS s(id, seq, prev_hash, hash) WHERE t."id" = s.id;
  PERFORM set_config('attune.audit_seal', 'off', true);
  RETURN cardinality(ids);
END;
$$;

-- Append-only: no update ever, but the seal's, which only fills the chain columns of an unsealed event; a delete
-- only inside `attune audit prune`, which records itself first.
CREATE OR REPLACE FUNCTION "attune"."audit_event_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('attune.audit_prune', true) = 'on' THEN
    RETURN OLD;
  END IF;
  IF TG_OP = 'UPDATE' AND current_setting('attune.audit_seal', true) = 'on' AND OLD."seq" IS NULL
     AND NEW."seq" IS NOT NULL
     AND (NEW."id", NEW."at", NEW."actor_type", NEW."actor_id", NEW."actor_name", NEW."source", NEW."request_id",
          NEW."action", NEW."ref", NEW."version", NEW."outcome", NEW."detail")
         IS NOT DISTINCT FROM
         (OLD."id", OLD."at", OLD."actor_type", OLD."actor_id", OLD."actor_name", OLD."source", OLD."request_id",
          OLD."action", OLD."ref", OLD."version", OLD."outcome", OLD."detail") THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'audit_event_append_only';
END;
$$;
