-- How an action receives its secrets (docs/secrets-management.md#delivery): `env` (the seed's SECRET_<NAME>
-- variables, the default), `file` (one file in the execution's scratch folder, mode 0400, path in
-- ATTUNE_SECRETS_FILE; `secrets_file_format` json or dotenv) or `stdin` (beside the parameters in the JSON line the
-- action reads). With file or stdin no SECRET_ variable exists in the action's environment.
ALTER TABLE "attune"."action" ADD COLUMN "secrets_delivery" TEXT NOT NULL DEFAULT 'env'
  CONSTRAINT "action_secrets_delivery_check" CHECK ("secrets_delivery" IN ('env', 'file', 'stdin'));
ALTER TABLE "attune"."action" ADD COLUMN "secrets_file_format" TEXT
  CONSTRAINT "action_secrets_file_format_check" CHECK ("secrets_file_format" IN ('json', 'dotenv'));
