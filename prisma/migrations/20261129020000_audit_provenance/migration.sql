-- Audit and provenance (docs/audit.md): the audit:read scope, the index that answers "which executions received this
-- secret (at this version)", and the lookup of a value's keyed HMAC (`attune audit hash`).
ALTER TABLE "attune"."api_token" DROP CONSTRAINT "api_token_scopes";
ALTER TABLE "attune"."api_token" ADD CONSTRAINT "api_token_scopes" CHECK (
  cardinality("scopes") > 0 AND
  "scopes" <@ ARRAY['keys:read', 'keys:decrypt', 'keys:write', 'executions:run', 'audit:read', 'admin']::TEXT[]
);

-- execution.secrets holds, per secret received: env var, ref, level, version, key hash, data key, what it overrode
-- (never a value). Containment queries (`secrets @> '[{"ref": "…", "version": 3}]'`) are served by this index.
CREATE INDEX "execution_secrets_idx" ON "attune"."execution" USING GIN ("secrets" jsonb_path_ops);
CREATE INDEX "execution_finished_idx" ON "attune"."execution" ("finished_at") WHERE "finished_at" IS NOT NULL;

-- A value's keyed HMAC (separate audit key), recorded on the events that write a value, looked up by `attune audit hash`.
CREATE INDEX "audit_event_value_hmac_idx" ON "attune"."audit_event" (("detail"->>'value_hmac'))
  WHERE "detail" ? 'value_hmac';
