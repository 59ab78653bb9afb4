-- Attune secrets store: packs, actions, keys (secrets) and executions, in the schema "attune".
-- Applied by `pnpm db:migrate` (packages/db), which keeps Prisma's _prisma_migrations bookkeeping.
-- Never edit this file once applied: add a new migration. Concepts: docs/secrets-management.md.

CREATE SCHEMA IF NOT EXISTS "attune";

CREATE TYPE "attune"."owner_type" AS ENUM ('system', 'pack', 'action');

CREATE TYPE "attune"."execution_status" AS ENUM (
  'requested', 'scheduled', 'running', 'succeeded', 'failed', 'timeout', 'canceling', 'cancelled', 'abandoned'
);

-- Keeps "updated" true whatever writes the row (Prisma, raw SQL, psql).
CREATE FUNCTION "attune"."touch_updated"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW."updated" := now();
  RETURN NEW;
END;
$$;

CREATE TABLE "attune"."pack" (
  "id"          SERIAL PRIMARY KEY,
  "ref"         TEXT NOT NULL,
  "label"       TEXT NOT NULL,
  "version"     TEXT NOT NULL,
  "description" TEXT,
  "created"     TIMESTAMPTZ(6) NOT NULL DEFAULT now(),
  "updated"     TIMESTAMPTZ(6) NOT NULL DEFAULT now(),
  CONSTRAINT "pack_ref_format" CHECK ("ref" ~ '^[a-z0-9][a-z0-9_-]{0,63}$')
);
CREATE UNIQUE INDEX "pack_ref_key" ON "attune"."pack" ("ref");
CREATE TRIGGER "pack_touch_updated" BEFORE UPDATE ON "attune"."pack"
  FOR EACH ROW EXECUTE FUNCTION "attune"."touch_updated"();

CREATE TABLE "attune"."action" (
  "id"              SERIAL PRIMARY KEY,
  "ref"             TEXT NOT NULL,
  "pack_id"         INTEGER NOT NULL,
  "name"            TEXT NOT NULL,
  "runner_type"     TEXT NOT NULL,
  "entry_point"     TEXT NOT NULL,
  "description"     TEXT,
  "parameters"      JSONB NOT NULL DEFAULT '{}',
  "timeout_seconds" INTEGER NOT NULL,
  "created"         TIMESTAMPTZ(6) NOT NULL DEFAULT now(),
  "updated"         TIMESTAMPTZ(6) NOT NULL DEFAULT now(),
  CONSTRAINT "action_pack_id_fkey" FOREIGN KEY ("pack_id") REFERENCES "attune"."pack" ("id")
    ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT "action_name_format" CHECK ("name" ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
  CONSTRAINT "action_runner_type" CHECK ("runner_type" IN ('python', 'shell')),
  CONSTRAINT "action_timeout" CHECK ("timeout_seconds" BETWEEN 1 AND 86400),
  CONSTRAINT "action_parameters_object" CHECK (jsonb_typeof("parameters") = 'object')
);
CREATE UNIQUE INDEX "action_ref_key" ON "attune"."action" ("ref");
CREATE UNIQUE INDEX "action_pack_id_name_key" ON "attune"."action" ("pack_id", "name");
CREATE TRIGGER "action_touch_updated" BEFORE UPDATE ON "attune"."action"
  FOR EACH ROW EXECUTE FUNCTION "attune"."touch_updated"();

-- An action's ref is always "<pack ref>.<name>": checked against the pack row, which a CHECK cannot see.
CREATE FUNCTION "attune"."action_check_ref"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  pack_ref TEXT;
BEGIN
  SELECT "ref" INTO pack_ref FROM "attune"."pack" WHERE "id" = NEW."pack_id";
  IF pack_ref IS NOT NULL AND NEW."ref" <> pack_ref || '.' || NEW."name" THEN
    RAISE EXCEPTION 'action ref % must be %.%', NEW."ref", pack_ref, NEW."name"
      USING ERRCODE = 'check_violation', CONSTRAINT = 'action_ref_matches_pack';
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER "action_check_ref" BEFORE INSERT OR UPDATE ON "attune"."action"
  FOR EACH ROW EXECUTE FUNCTION "attune"."action_check_ref"();

CREATE TABLE "attune"."key" (
  "id"                  SERIAL PRIMARY KEY,
  "ref"                 TEXT NOT NULL,
  "owner_type"          "attune"."owner_type" NOT NULL,
  "owner_pack"          INTEGER,
  "owner_action"        INTEGER,
  "name"                TEXT NOT NULL,
  -- The env var the worker injects: the seed's naming, SECRET_ + upper case, '-' -> '_'. Two names of one owner
  -- that map to the same variable (api-key, api_key, API_KEY) collide on the unique index below.
  "env_name"            TEXT GENERATED ALWAYS AS ('SECRET_' || upper(replace("name", '-', '_'))) STORED,
  "value"               JSONB NOT NULL,
  "value_type"          TEXT NOT NULL DEFAULT 'string',
  "encrypted"           BOOLEAN NOT NULL DEFAULT false,
  "encryption_key_hash" TEXT,
  "created"             TIMESTAMPTZ(6) NOT NULL DEFAULT now(),
  "updated"             TIMESTAMPTZ(6) NOT NULL DEFAULT now(),
  -- Secrets outlive nothing by accident: a pack or action that still owns keys cannot be deleted.
  CONSTRAINT "key_owner_pack_fkey" FOREIGN KEY ("owner_pack") REFERENCES "attune"."pack" ("id")
    ON DELETE RESTRICT ON UPDATE CASCADE,
  CONSTRAINT "key_owner_action_fkey" FOREIGN KEY ("owner_action") REFERENCES "attune"."action" ("id")
    ON DELETE RESTRICT ON UPDATE CASCADE,
  CONSTRAINT "key_owner_matches_type" CHECK (
    ("owner_type" = 'system' AND "owner_pack" IS NULL AND "owner_action" IS NULL) OR
    ("owner_type" = 'pack' AND "owner_pack" IS NOT NULL AND "owner_action" IS NULL) OR
    ("owner_type" = 'action' AND "owner_action" IS NOT NULL AND "owner_pack" IS NULL)
  ),
  CONSTRAINT "key_name_format" CHECK ("name" ~ '^[A-Za-z0-9_][A-Za-z0-9_-]{0,127}$'),
  CONSTRAINT "key_ref_format" CHECK ("ref" ~ '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$'),
  CONSTRAINT "key_value_type" CHECK ("value_type" IN ('string', 'json')),
  CONSTRAINT "key_encrypted_value" CHECK (
    ("encrypted" AND jsonb_typeof("value") = 'string') OR
    (NOT "encrypted" AND "encryption_key_hash" IS NULL AND
      ("value_type" = 'string') = (jsonb_typeof("value") = 'string'))
  )
);
CREATE UNIQUE INDEX "key_ref_key" ON "attune"."key" ("ref");
-- One index serves both the per-owner uniqueness of env names and the resolver's three owner lookups.
CREATE UNIQUE INDEX "key_owner_env_name_key" ON "attune"."key" ("owner_type", "owner_pack", "owner_action", "env_name")
  NULLS NOT DISTINCT;
CREATE INDEX "key_owner_action_idx" ON "attune"."key" ("owner_action") WHERE "owner_action" IS NOT NULL;
CREATE INDEX "key_owner_pack_idx" ON "attune"."key" ("owner_pack") WHERE "owner_pack" IS NOT NULL;
CREATE TRIGGER "key_touch_updated" BEFORE UPDATE ON "attune"."key"
  FOR EACH ROW EXECUTE FUNCTION "attune"."touch_updated"();

-- A key's identity (ref, owner, name) is fixed at creation; only its value and encryption change.
CREATE FUNCTION "attune"."key_identity_immutable"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."ref" IS DISTINCT FROM OLD."ref" OR NEW."owner_type" IS DISTINCT FROM OLD."owner_type"
     OR NEW."owner_pack" IS DISTINCT FROM OLD."owner_pack" OR NEW."owner_action" IS DISTINCT FROM OLD."owner_action"
     OR NEW."name" IS DISTINCT FROM OLD."name" THEN
    RAISE EXCEPTION 'key % : ref, owner and name cannot change; create a new key instead', OLD."ref"
      USING ERRCODE = 'check_violation', CONSTRAINT = 'key_identity_immutable';
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER "key_identity_immutable" BEFORE UPDATE ON "attune"."key"
  FOR EACH ROW EXECUTE FUNCTION "attune"."key_identity_immutable"();

CREATE TABLE "attune"."execution" (
  "id"               BIGSERIAL PRIMARY KEY,
  "action_id"        INTEGER,
  "action_ref"       TEXT NOT NULL,
  "status"           "attune"."execution_status" NOT NULL DEFAULT 'requested',
  "parameters"       JSONB NOT NULL DEFAULT '{}',
  "result"           JSONB,
  "stdout"           TEXT,
  "stderr"           TEXT,
  "stdout_truncated" BOOLEAN NOT NULL DEFAULT false,
  "stderr_truncated" BOOLEAN NOT NULL DEFAULT false,
  "exit_code"        INTEGER,
  "duration_ms"      INTEGER,
  "warnings"         JSONB NOT NULL DEFAULT '[]',
  "worker_id"        TEXT,
  "created"          TIMESTAMPTZ(6) NOT NULL DEFAULT now(),
  "started_at"       TIMESTAMPTZ(6),
  "finished_at"      TIMESTAMPTZ(6),
  "updated"          TIMESTAMPTZ(6) NOT NULL DEFAULT now(),
  CONSTRAINT "execution_action_id_fkey" FOREIGN KEY ("action_id") REFERENCES "attune"."action" ("id")
    ON DELETE SET NULL ON UPDATE CASCADE,
  CONSTRAINT "execution_warnings_array" CHECK (jsonb_typeof("warnings") = 'array')
);
CREATE INDEX "execution_status_idx" ON "attune"."execution" ("status");
CREATE INDEX "execution_action_id_idx" ON "attune"."execution" ("action_id");
CREATE TRIGGER "execution_touch_updated" BEFORE UPDATE ON "attune"."execution"
  FOR EACH ROW EXECUTE FUNCTION "attune"."touch_updated"();
