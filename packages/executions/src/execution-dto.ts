import type { ExecutionRecord, SecretReceived } from './execution-store.js';
import type { ExecutionStatus } from './status.js';
import type { ExecutionWarning } from './warnings.js';

/**
 * An execution on the wire: the API's `GET /api/v1/executions/{id}` and the CLI's `attune run --wait --json` print
 * this one shape (snake_case, ids as strings, times as ISO 8601). Output and result are masked, as stored.
 */
export interface ExecutionResource {
  readonly id: string;
  readonly action_ref: string;
  readonly status: ExecutionStatus;
  readonly parameters: unknown;
  readonly result: unknown;
  readonly stdout: string | null;
  readonly stderr: string | null;
  readonly stdout_truncated: boolean;
  readonly stderr_truncated: boolean;
  readonly exit_code: number | null;
  readonly duration_ms: number | null;
  readonly warnings: readonly ExecutionWarning[];
  /** The secrets it received, their provenance: env var, ref, level, version, key hash, overrides (never a value). */
  readonly secrets: readonly SecretReceived[];
  readonly worker_id: string | null;
  readonly created: string;
  readonly started_at: string | null;
  readonly finished_at: string | null;
}

/** What requesting an execution answers (the API's 202 and `attune run` without `--wait`). */
export interface ExecutionRequestedResource {
  readonly id: string;
  readonly action_ref: string;
  readonly status: 'requested';
}

/** The wire shape of an execution. */
export function toExecutionResource(r: ExecutionRecord): ExecutionResource {
  return {
    id: r.id,
    action_ref: r.actionRef,
    status: r.status,
    parameters: r.parameters,
    result: r.result,
    stdout: r.stdout,
    stderr: r.stderr,
    stdout_truncated: r.stdoutTruncated,
    stderr_truncated: r.stderrTruncated,
    exit_code: r.exitCode,
    duration_ms: r.durationMs,
    // One key order whatever the source (jsonb orders keys by length): kind, ref when there is one, message.
    warnings: r.warnings.map((w) => ({
      kind: w.kind,
      ...(w.ref === undefined ? {} : { ref: w.ref }),
      message: w.message,
    })),
    // In one order whatever the source (PostgreSQL's jsonb reorders keys; the API's schema has its own).
    secrets: r.secrets.map((s) => ({
      env_name: s.env_name,
      ref: s.ref,
      level: s.level,
      version: s.version,
      ...(s.key_hash === undefined ? {} : { key_hash: s.key_hash }),
      ...(s.data_key === undefined ? {} : { data_key: s.data_key }),
      ...(s.overrides === undefined ? {} : { overrides: s.overrides }),
    })),
    worker_id: r.workerId,
    created: r.created.toISOString(),
    started_at: r.startedAt?.toISOString() ?? null,
    finished_at: r.finishedAt?.toISOString() ?? null,
  };
}
