-- Secret lifecycle (docs/secrets-management.md#versions, docs/encryption.md#envelope-encryption): data keys per
-- owner wrapped by a master key, an immutable version per change of a secret, soft delete, retention, and the
-- versions an execution received.

-- A data key: 256 random bits, stored only wrapped by a master key (`wrapped`, a v1 ciphertext bound to
-- "attune:data-key:<id>.<version>"). One active per owner (system, a pack, an action); retired ones still decrypt
-- what they encrypted until it is re-encrypted; a destroyed one decrypts nothing ever again (crypto-shredding).
CREATE TABLE "attune"."data_key" (
  "id"              SERIAL PRIMARY KEY,
  "owner_type"      "attune"."owner_type" NOT NULL,
  "owner_pack"      INTEGER,
  "owner_action"    INTEGER,
  "version"         INTEGER NOT NULL CHECK ("version" >= 1),
  "state"           TEXT NOT NULL DEFAULT 'active',
  "wrapped"         TEXT,
  -- The public key hash (docs/encryption.md#key-hash) of the master key that wrapped it.
  "master_key_hash" TEXT,
  "created"         TIMESTAMPTZ(6) NOT NULL DEFAULT now(),
  "rewrapped_at"    TIMESTAMPTZ(6),
  "retired_at"      TIMESTAMPTZ(6),
  -- Set when a re-encryption run has moved off it everything it could: a rotation then no longer resumes from it.
  "drained_at"      TIMESTAMPTZ(6),
  "destroyed_at"    TIMESTAMPTZ(6),
  -- A data key goes with its owner: an owner can only be deleted once no secret of it is left.
  CONSTRAINT "data_key_owner_pack_fkey" FOREIGN KEY ("owner_pack") REFERENCES "attune"."pack" ("id") ON DELETE CASCADE,
  CONSTRAINT "data_key_owner_action_fkey" FOREIGN KEY ("owner_action") REFERENCES "attune"."action" ("id")
    ON DELETE CASCADE,
  CONSTRAINT "data_key_owner_matches_type" CHECK (
    ("owner_type" = 'system' AND "owner_pack" IS NULL AND "owner_action" IS NULL) OR
    ("owner_type" = 'pack' AND "owner_pack" IS NOT NULL AND "owner_action" IS NULL) OR
    ("owner_type" = 'action' AND "owner_action" IS NOT NULL AND "owner_pack" IS NULL)
  ),
  CONSTRAINT "data_key_state" CHECK ("state" IN ('active', 'retired', 'destroyed')),
  CONSTRAINT "data_key_destroyed" CHECK (
    ("state" = 'destroyed') = ("wrapped" IS NULL) AND ("wrapped" IS NULL) = ("master_key_hash" IS NULL)
  )
);
CREATE UNIQUE INDEX "data_key_owner_version_key" ON "attune"."data_key" ("owner_type", "owner_pack", "owner_action", "version")
  NULLS NOT DISTINCT;
CREATE UNIQUE INDEX "data_key_owner_active_key" ON "attune"."data_key" ("owner_type", "owner_pack", "owner_action")
  NULLS NOT DISTINCT WHERE "state" = 'active';
CREATE INDEX "data_key_master_key_hash_idx" ON "attune"."data_key" ("master_key_hash");

-- The key row holds its current version's stored value (so the resolver reads no other table for it), the number
-- of that version, the data key that encrypted it (NULL: plain, or a value encrypted directly with a master key by
-- an earlier version), its retention and its soft deletion.
ALTER TABLE "attune"."key"
  ADD COLUMN "current_version" INTEGER NOT NULL DEFAULT 1 CHECK ("current_version" >= 1),
  ADD COLUMN "data_key_id" INTEGER REFERENCES "attune"."data_key" ("id") ON DELETE RESTRICT,
  ADD COLUMN "max_versions" INTEGER CHECK ("max_versions" BETWEEN 1 AND 1000),
  ADD COLUMN "deleted_at" TIMESTAMPTZ(6),
  ADD CONSTRAINT "key_data_key_encrypted" CHECK ("data_key_id" IS NULL OR ("encrypted" AND "encryption_key_hash" IS NULL));
CREATE INDEX "key_data_key_idx" ON "attune"."key" ("data_key_id") WHERE "data_key_id" IS NOT NULL;

-- `updated` is when the secret last changed (a new version, a deletion, its retention), not when its ciphertext was
-- re-encrypted under another data key.
DROP TRIGGER "key_touch_updated" ON "attune"."key";
CREATE FUNCTION "attune"."key_touch_updated"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."current_version" IS DISTINCT FROM OLD."current_version" OR NEW."deleted_at" IS DISTINCT FROM OLD."deleted_at"
     OR NEW."max_versions" IS DISTINCT FROM OLD."max_versions" OR NEW."encrypted" IS DISTINCT FROM OLD."encrypted" THEN
    NEW."updated" := now();
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER "key_touch_updated" BEFORE UPDATE ON "attune"."key"
  FOR EACH ROW EXECUTE FUNCTION "attune"."key_touch_updated"();

-- One row per version of a secret: written once, by one actor. Only its ciphertext may change afterwards — erased
-- (destroyed) or re-encrypted under another data key, the plaintext unchanged.
CREATE TABLE "attune"."key_version" (
  "id"                  BIGSERIAL PRIMARY KEY,
  "key_id"              INTEGER NOT NULL REFERENCES "attune"."key" ("id") ON DELETE CASCADE,
  "version"             INTEGER NOT NULL CHECK ("version" >= 1),
  "value"               JSONB,
  "value_type"          TEXT NOT NULL,
  "encrypted"           BOOLEAN NOT NULL,
  "encryption_key_hash" TEXT,
  "data_key_id"         INTEGER REFERENCES "attune"."data_key" ("id") ON DELETE RESTRICT,
  "origin"              TEXT NOT NULL,
  -- For a rollback: the version whose value it made current again.
  "source_version"      INTEGER,
  "actor_type"          TEXT NOT NULL,
  "actor_id"            TEXT NOT NULL,
  "actor_name"          TEXT NOT NULL,
  "created"             TIMESTAMPTZ(6) NOT NULL DEFAULT now(),
  "destroyed_at"        TIMESTAMPTZ(6),
  CONSTRAINT "key_version_key_version_key" UNIQUE ("key_id", "version"),
  CONSTRAINT "key_version_origin" CHECK ("origin" IN ('create', 'update', 'rollback', 'migration')),
  CONSTRAINT "key_version_actor_type" CHECK ("actor_type" IN ('token', 'cli', 'worker', 'system')),
  CONSTRAINT "key_version_value_type" CHECK ("value_type" IN ('string', 'json')),
  CONSTRAINT "key_version_destroyed" CHECK (("destroyed_at" IS NULL) = ("value" IS NOT NULL)),
  -- Nothing is kept of a destroyed value: not even its key hash (in the seed's scheme, the master key itself).
  CONSTRAINT "key_version_destroyed_hash" CHECK ("destroyed_at" IS NULL OR "encryption_key_hash" IS NULL),
  CONSTRAINT "key_version_data_key_encrypted" CHECK ("data_key_id" IS NULL OR "encrypted")
);
CREATE INDEX "key_version_data_key_idx" ON "attune"."key_version" ("data_key_id") WHERE "data_key_id" IS NOT NULL;

CREATE FUNCTION "attune"."key_version_immutable"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."key_id" IS DISTINCT FROM OLD."key_id" OR NEW."version" IS DISTINCT FROM OLD."version"
     OR NEW."value_type" IS DISTINCT FROM OLD."value_type" OR NEW."encrypted" IS DISTINCT FROM OLD."encrypted"
     OR NEW."origin" IS DISTINCT FROM OLD."origin" OR NEW."source_version" IS DISTINCT FROM OLD."source_version"
     OR NEW."actor_type" IS DISTINCT FROM OLD."actor_type" OR NEW."actor_id" IS DISTINCT FROM OLD."actor_id"
     OR NEW."actor_name" IS DISTINCT FROM OLD."actor_name" OR NEW."created" IS DISTINCT FROM OLD."created"
     OR (OLD."destroyed_at" IS NOT NULL AND NEW."value" IS NOT NULL) THEN
    RAISE EXCEPTION 'version % of key % is immutable: only its ciphertext may be re-encrypted or destroyed',
      OLD."version", OLD."key_id"
      USING ERRCODE = 'check_violation', CONSTRAINT = 'key_version_immutable';
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER "key_version_immutable" BEFORE UPDATE ON "attune"."key_version"
  FOR EACH ROW EXECUTE FUNCTION "attune"."key_version_immutable"();

-- Every existing secret becomes version 1 of itself.
INSERT INTO "attune"."key_version"
  ("key_id", "version", "value", "value_type", "encrypted", "encryption_key_hash", "origin", "actor_type",
   "actor_id", "actor_name", "created")
SELECT "id", 1, "value", "value_type", "encrypted", "encryption_key_hash", 'migration', 'system', 'migration',
       'migration', "updated"
FROM "attune"."key";

-- Which version of each secret an execution received (env var, ref, level, version; never a value).
ALTER TABLE "attune"."execution" ADD COLUMN "secrets" JSONB NOT NULL DEFAULT '[]';
