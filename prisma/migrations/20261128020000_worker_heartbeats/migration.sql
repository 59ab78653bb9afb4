-- Workers heartbeat here; an execution left 'running' by a worker whose heartbeat is older than the configured
-- limit is marked 'abandoned' by any live worker (docs/deployment.md#failure-semantics).
CREATE TABLE "attune"."worker" (
  "id"           TEXT PRIMARY KEY,
  "hostname"     TEXT NOT NULL,
  "pid"          INTEGER NOT NULL,
  "concurrency"  INTEGER NOT NULL,
  "status"       TEXT NOT NULL DEFAULT 'running',
  "started_at"   TIMESTAMPTZ(6) NOT NULL DEFAULT now(),
  "heartbeat_at" TIMESTAMPTZ(6) NOT NULL DEFAULT now(),
  CONSTRAINT "worker_id_format" CHECK ("id" ~ '^[A-Za-z0-9_.-]{1,64}$'),
  CONSTRAINT "worker_status" CHECK ("status" IN ('running', 'draining', 'stopped'))
);

-- The reaper looks for running executions by worker.
CREATE INDEX "execution_running_worker_idx" ON "attune"."execution" ("worker_id") WHERE "status" = 'running';
