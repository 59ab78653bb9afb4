-- Where a pack was registered from (its action files are run from there), and the secrets an action declares it
-- expects: a declared secret that does not resolve is a warning on the execution (docs/packs.md).
ALTER TABLE "attune"."pack" ADD COLUMN "path" TEXT;

ALTER TABLE "attune"."action" ADD COLUMN "expected_secrets" JSONB NOT NULL DEFAULT '[]';
ALTER TABLE "attune"."action" ADD CONSTRAINT "action_expected_secrets_array"
  CHECK (jsonb_typeof("expected_secrets") = 'array');
