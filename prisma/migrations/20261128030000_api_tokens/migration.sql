-- Bearer tokens of the HTTP API. Only a SHA-256 of each token is stored; the token itself is shown once, when the
-- CLI creates it (docs/api.md#authentication).
CREATE TABLE "attune"."api_token" (
  "id"           SERIAL PRIMARY KEY,
  "name"         TEXT NOT NULL,
  "token_hash"   TEXT NOT NULL,
  "scopes"       TEXT[] NOT NULL,
  "created"      TIMESTAMPTZ(6) NOT NULL DEFAULT now(),
  "last_used_at" TIMESTAMPTZ(6),
  "revoked_at"   TIMESTAMPTZ(6),
  CONSTRAINT "api_token_name_format" CHECK ("name" ~ '^[A-Za-z0-9_.-]{1,64}$'),
  CONSTRAINT "api_token_hash_format" CHECK ("token_hash" ~ '^[0-9a-f]{64}$'),
  CONSTRAINT "api_token_scopes" CHECK (
    cardinality("scopes") > 0 AND
    "scopes" <@ ARRAY['keys:read', 'keys:decrypt', 'keys:write', 'executions:run', 'admin']::TEXT[]
  )
);
CREATE UNIQUE INDEX "api_token_token_hash_key" ON "attune"."api_token" ("token_hash");
CREATE UNIQUE INDEX "api_token_active_name_key" ON "attune"."api_token" ("name") WHERE "revoked_at" IS NULL;
