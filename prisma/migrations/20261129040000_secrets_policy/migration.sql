-- Least privilege (docs/secrets-management.md#least-privilege): which secrets an action receives. NULL: decided by
-- the level above (action → pack → worker.secrets_policy). `all` is the seed's behaviour; `declared` injects only
-- the secrets the action's metadata declares (expected_secrets), and the resolver fetches no other.
ALTER TABLE "attune"."pack" ADD COLUMN "secrets_policy" TEXT
  CONSTRAINT "pack_secrets_policy_check" CHECK ("secrets_policy" IN ('all', 'declared'));
ALTER TABLE "attune"."action" ADD COLUMN "secrets_policy" TEXT
  CONSTRAINT "action_secrets_policy_check" CHECK ("secrets_policy" IN ('all', 'declared'));
-- expected_secrets now holds {"name", "required"} objects; plain names written by earlier registrations still mean
-- optional secrets (read by declaredSecretsOf in @attune/secrets).
COMMENT ON COLUMN "attune"."action"."expected_secrets" IS
  'Secrets the action declares: [{"name", "required"}] (older rows: plain names, optional)';
