-- Expiry (docs/secrets-management.md#expiry): a value may carry the time it stops being valid. It belongs to the
-- value, so each version keeps its own and the key row mirrors its current version's. An expired secret is not
-- delivered to actions (or, within `secrets.expiry_grace`, delivered with a warning); nothing deletes it.
ALTER TABLE "attune"."key" ADD COLUMN "expires_at" TIMESTAMPTZ(6);
ALTER TABLE "attune"."key_version" ADD COLUMN "expires_at" TIMESTAMPTZ(6);

-- `attune key list --expiring 7d | --expired` (GET /api/v1/keys?expiring=7d|expired=true): the few that expire.
CREATE INDEX "key_expires_at_idx" ON "attune"."key" ("expires_at")
  WHERE "expires_at" IS NOT NULL AND "deleted_at" IS NULL;

-- `updated` moves when the expiry changes too (`attune key expire`): a change of the secret, recorded as such.
CREATE OR REPLACE FUNCTION "attune"."key_touch_updated"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."current_version" IS DISTINCT FROM OLD."current_version" OR NEW."deleted_at" IS DISTINCT FROM OLD."deleted_at"
     OR NEW."max_versions" IS DISTINCT FROM OLD."max_versions" OR NEW."encrypted" IS DISTINCT FROM OLD."encrypted"
     OR NEW."expires_at" IS DISTINCT FROM OLD."expires_at" THEN
    NEW."updated" := now();
  END IF;
  RETURN NEW;
END;
$$;

-- An expiry is a time: not `infinity` or `-infinity`, which no reader could compare as one.
ALTER TABLE "attune"."key" ADD CONSTRAINT "key_expires_at_finite" CHECK ("expires_at" IS NULL OR isfinite("expires_at"));
ALTER TABLE "attune"."key_version" ADD CONSTRAINT "key_version_expires_at_finite"
  CHECK ("expires_at" IS NULL OR isfinite("expires_at"));
