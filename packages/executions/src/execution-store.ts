import type { SqlExecutor, SqlQueryable, SqlStatement } from '@attune/db';
import type { ExecutionStatus, RunStatus } from './status.js';
import type { ExecutionWarning } from './warnings.js';

/** An execution as stored (output and result masked, as the worker stored them). */
export interface ExecutionRecord {
  readonly id: string;
  readonly actionRef: string;
  readonly status: ExecutionStatus;
  readonly parameters: unknown;
  readonly result: unknown;
  readonly stdout: string | null;
  readonly stderr: string | null;
  readonly stdoutTruncated: boolean;
  readonly stderrTruncated: boolean;
  readonly exitCode: number | null;
  readonly durationMs: number | null;
  readonly warnings: readonly ExecutionWarning[];
  /** The secrets it received: env var, ref, level, version (never a value). */
  readonly secrets: readonly SecretReceived[];
  readonly workerId: string | null;
  readonly created: Date;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
}

/** An execution a worker has just claimed, with what running it needs (its action and pack, when they still exist). */
export interface ClaimedExecution {
  id: string;
  action_ref: string;
  parameters: unknown;
  runner_type: 'python' | 'shell' | null;
  entry_point: string | null;
  timeout_seconds: number | null;
  /** The secrets the action declares, as stored (read with `declaredSecretsOf` of @attune/secrets). */
  expected_secrets: unknown;
  /** The action's secrets policy, else its pack's; null: the worker's (`worker.secrets_policy`). */
  secrets_policy: string | null;
  /** How the action receives its secrets: env, file or stdin (null when the action is gone). */
  secrets_delivery: string | null;
  /** With file delivery: json or dotenv. */
  secrets_file_format: string | null;
  network: boolean | null;
  pack_ref: string | null;
  pack_path: string | null;
}

/** A secret an execution received, its provenance (docs/audit.md#provenance): never its value. */
export interface SecretReceived {
  readonly env_name: string;
  readonly ref: string;
  readonly level: 'system' | 'pack' | 'action';
  readonly version: number;
  /** Hash of the master key the value was opened with (null for a plaintext value; absent in older records). */
  readonly key_hash?: string | null;
  /** The data key of an envelope value (`<id>.<version>`), else null (absent in older records). */
  readonly data_key?: string | null;
  /** Refs of the less specific secrets it overrode for this run (absent in older records). */
  readonly overrides?: readonly string[];
}

/** One execution's use of a secret (docs/audit.md#usage). */
export interface SecretUse {
  readonly executionId: string;
  readonly actionRef: string;
  readonly version: number;
  /** When the execution finished (null while it runs). */
  readonly at: Date | null;
  readonly status?: ExecutionStatus;
  readonly workerId?: string | null;
}

/** How many executions of one action finished with one version of a secret in a period. */
export interface SecretUseCount {
  readonly actionRef: string;
  readonly version: number;
  readonly executions: number;
  readonly lastAt: Date;
}

/** What a worker stores when a run ends. Output is masked before it gets here. */
export interface RunEnding {
  readonly status: RunStatus;
  readonly exitCode: number | null;
  readonly durationMs: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly stdoutTruncated: boolean;
  readonly stderrTruncated: boolean;
  readonly result: unknown;
  readonly warnings: readonly ExecutionWarning[];
  /** The secrets the action received, stored in the same statement as the outcome. */
  readonly secrets: readonly SecretReceived[];
}

/** Largest execution id: PostgreSQL `bigint`. */
export const MAX_EXECUTION_ID = 9_223_372_036_854_775_807n;

const SELECT_COLUMNS = `id::text AS id, action_ref, status::text AS status, parameters, result, stdout, stderr,
  stdout_truncated, stderr_truncated, exit_code, duration_ms, warnings, secrets, worker_id, created, started_at, finished_at`;

/**
 * Claims the execution (only one worker can) and reads what running it needs, in one statement: the join reads the
 * action and pack, which the registry owns, because the worker's path must stay one round trip.
 */
const CLAIM_SQL = `
WITH claimed AS (
  UPDATE "attune"."execution" SET status = 'running', worker_id = $2, started_at = now()
  WHERE id = $1 AND status IN ('requested', 'scheduled')
  RETURNING id, action_id, action_ref, parameters
)
SELECT c.id::text AS id, c.action_ref, c.parameters, a.runner_type, a.entry_point, a.timeout_seconds,
       a.expected_secrets, COALESCE(a.secrets_policy, p.secrets_policy) AS secrets_policy, a.secrets_delivery,
       a.secrets_file_format, a.network,
       p.ref AS pack_ref, p.path AS pack_path
FROM claimed c
LEFT JOIN "attune"."action" a ON a.id = c.action_id
LEFT JOIN "attune"."pack" p ON p.id = a.pack_id`;

const FINISH_SQL = `
UPDATE "attune"."execution"
SET status = $2::"attune"."execution_status", exit_code = $3, duration_ms = $4, stdout = $5, stderr = $6,
    stdout_truncated = $7, stderr_truncated = $8, result = $9::jsonb, warnings = $10::jsonb, secrets = $12::jsonb,
    finished_at = now()
WHERE id = $1 AND status = 'running' AND worker_id = $11
RETURNING id::text AS id`;

/** A `worker_lost` warning appended in SQL; `$why` is an SQL text expression. */
const workerLost = (why: string) =>
  `warnings || jsonb_build_array(jsonb_build_object('kind', 'worker_lost', 'message', ${why}))`;

/** Marks executions of dead workers `abandoned`; see docs/deployment.md#failure-semantics. */
const ABANDON_DEAD_SQL = `
UPDATE "attune"."execution" e
SET status = 'abandoned', finished_at = now(),
    warnings = e.${workerLost(`'Worker ' || coalesce(e.worker_id, '?') || ' stopped while this execution ran; its outcome is unknown.'`)}
WHERE e.status = 'running'
  AND NOT EXISTS (
    SELECT 1 FROM "attune"."worker" w
    WHERE w.id = e.worker_id AND w.status <> 'stopped' AND w.heartbeat_at > now() - make_interval(secs => $1::double precision)
  )
RETURNING e.id::text AS id, e.worker_id`;

const ABANDON_ORPHANS_SQL = `
UPDATE "attune"."execution" SET status = 'abandoned', finished_at = now(),
  warnings = ${workerLost(`'Worker ' || worker_id || ' restarted while this execution ran; its outcome is unknown.'`)}
WHERE status = 'running' AND worker_id = $1 RETURNING id::text AS id`;

const ABANDON_UNSETTLED_SQL = `
UPDATE "attune"."execution" SET status = 'abandoned', finished_at = now(),
  warnings = ${workerLost(`'The database failed while this execution ran; its outcome is unknown.'`)}
WHERE id = ANY($1::bigint[]) AND status = 'running' AND worker_id = $2 RETURNING id::text AS id`;

/**
 * The one owner of `attune.execution`: create, claim, finish, abandon, read. Raw SQL (named prepared statements on
 * the worker's path); every method takes an optional {@link SqlQueryable} — a session inside the caller's
 * transaction — so a change commits together with the caller's other rows.
 */
export class ExecutionStore {
  readonly #sql: SqlExecutor;

  constructor(sql: SqlExecutor) {
    this.#sql = sql;
  }

  /**
   * Creates an execution in state `requested`; returns its id. Parameters are already validated. `along` wraps the
   * INSERT to record more in the same statement (`AuditLog.along`).
   */
  async create(
    input: { actionId: number; actionRef: string; parameters: Record<string, unknown> },
    tx: SqlQueryable = this.#sql,
    along?: (insert: SqlStatement) => SqlStatement,
  ): Promise<bigint> {
    const insert: SqlStatement = {
      text: `INSERT INTO "attune"."execution" (action_id, action_ref, parameters) VALUES ($1, $2, $3::jsonb) RETURNING id::text AS id`,
      params: [input.actionId, input.actionRef, JSON.stringify(input.parameters)],
    };
    // `along`: what else this one statement records (the request's audit event), committed with it.
    const statement = along ? along(insert) : insert;
    const [row] = await tx.query<{ id: string }>(statement.text, statement.params);
    return BigInt((row as { id: string }).id);
  }

  /** Marks a requested execution `failed` with an `enqueue_failed` warning: it never reached the broker. */
  async markEnqueueFailed(id: bigint, tx: SqlQueryable = this.#sql): Promise<void> {
    const warning: ExecutionWarning = {
      kind: 'enqueue_failed',
      message: 'The execution could not be published to the broker.',
    };
    await tx.query(
      `UPDATE "attune"."execution" SET status = 'failed', finished_at = now(), warnings = $2::jsonb
       WHERE id = $1 AND status = 'requested'`,
      [String(id), JSON.stringify([warning])],
    );
  }

  /** Claims a requested execution for a worker. Null when it is not claimable (running elsewhere, over, unknown). */
  async claim(id: string, workerId: string, tx: SqlQueryable = this.#sql): Promise<ClaimedExecution | null> {
    const [row] = await tx.query<ClaimedExecution>(CLAIM_SQL, [id, workerId], 'attune_claim_execution');
    return row ?? null;
  }

  /**
   * Stores the end of a run this worker claimed. False when it was no longer this worker's to end (another worker's
   * reaper declared it abandoned meanwhile). Data the database refuses throws with SQLSTATE class 22.
   */
  async finish(
    id: string,
    workerId: string,
    ending: RunEnding,
    tx: SqlQueryable = this.#sql,
  ): Promise<boolean> {
    const rows = await tx.query<{ id: string }>(
      FINISH_SQL,
      [
        id,
        ending.status,
        ending.exitCode,
        ending.durationMs,
        ending.stdout,
        ending.stderr,
        ending.stdoutTruncated,
        ending.stderrTruncated,
        ending.result === undefined ? null : JSON.stringify(ending.result),
        JSON.stringify(ending.warnings),
        workerId,
        JSON.stringify(ending.secrets),
      ],
      'attune_finish_execution',
    );
    return rows.length > 0;
  }

  /** Marks `abandoned` the running executions of workers not heard from for `staleSeconds`; returns them. */
  abandonOfDeadWorkers(
    staleSeconds: number,
    tx: SqlQueryable = this.#sql,
  ): Promise<Array<{ id: string; worker_id: string | null }>> {
    return tx.query(ABANDON_DEAD_SQL, [staleSeconds], 'attune_reap_executions');
  }

  /** Marks `abandoned` what a worker id had running before this process took the id over; returns their ids. */
  async abandonOrphans(workerId: string, tx: SqlQueryable = this.#sql): Promise<string[]> {
    return (await tx.query<{ id: string }>(ABANDON_ORPHANS_SQL, [workerId])).map((r) => r.id);
  }

  /**
   * Marks `abandoned` executions this worker claimed and could not store the end of (the database failed meanwhile);
   * returns those it changed.
   */
  async abandonUnsettled(
    ids: readonly string[],
    workerId: string,
    tx: SqlQueryable = this.#sql,
  ): Promise<string[]> {
    return (await tx.query<{ id: string }>(ABANDON_UNSETTLED_SQL, [ids, workerId])).map((r) => r.id);
  }

  /** The status of an execution, or null when there is none with this id. */
  async statusOf(id: string, tx: SqlQueryable = this.#sql): Promise<ExecutionStatus | null> {
    const [row] = await tx.query<{ status: ExecutionStatus }>(
      `SELECT status::text AS status FROM "attune"."execution" WHERE id = $1`,
      [id],
    );
    return row?.status ?? null;
  }

  /** How many executions have an id above `id`. */
  async countAfter(id: bigint | string, tx: SqlQueryable = this.#sql): Promise<number> {
    const [row] = await tx.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "attune"."execution" WHERE id > $1::bigint`,
      [String(id)],
    );
    return row?.n ?? 0;
  }

  /**
   * Usage of a secret (docs/audit.md#usage): per action and version how many executions finished in `[from, to)` with
   * it (no upper bound when `to` is null), and its last use ever. Containment on `execution.secrets`, served by its
   * GIN index; the last use is read from the period when it holds one, else among the (few, for a secret unused in
   * the period) executions that received it before.
   */
  async usageOf(
    ref: string,
    period: { from: Date; to: Date | null },
    tx: SqlQueryable = this.#sql,
  ): Promise<{ last: SecretUse | null; byAction: SecretUseCount[] }> {
    const holds = JSON.stringify([{ ref }]);
    const byAction = await tx.query<{ action_ref: string; version: number; executions: number; last: Date }>(
      `SELECT e.action_ref, (s->>'version')::int AS version, count(*)::int AS executions, max(e.finished_at) AS last
       FROM "attune"."execution" e CROSS JOIN LATERAL jsonb_array_elements(e.secrets) s
       WHERE e.secrets @> $1::jsonb AND s->>'ref' = $2 AND e.finished_at >= $3
         AND ($4::timestamptz IS NULL OR e.finished_at < $4)
       GROUP BY 1, 2 ORDER BY 4 DESC`,
      [holds, ref, period.from, period.to],
    );
    // The newest use: in the period when there is one (then no later one exists unless `to` was given), else before.
    const bound = byAction.length > 0 && period.to === null ? period.from : null;
    const [last] = await tx.query<{ id: string; action_ref: string; version: number; finished_at: Date }>(
      `SELECT e.id::text AS id, e.action_ref, (s->>'version')::int AS version, e.finished_at
       FROM (SELECT id, action_ref, secrets, finished_at FROM "attune"."execution"
             WHERE secrets @> $1::jsonb AND finished_at IS NOT NULL AND ($3::timestamptz IS NULL OR finished_at >= $3)
             OFFSET 0) e
       CROSS JOIN LATERAL jsonb_array_elements(e.secrets) s
       WHERE s->>'ref' = $2 ORDER BY e.finished_at DESC LIMIT 1`,
      [holds, ref, bound],
    );
    return {
      last: last
        ? {
            executionId: last.id,
            actionRef: last.action_ref,
            version: last.version,
            at: new Date(last.finished_at),
          }
        : null,
      byAction: byAction.map((r) => ({
        actionRef: r.action_ref,
        version: r.version,
        executions: r.executions,
        lastAt: new Date(r.last),
      })),
    };
  }

  /** Executions that received version `version` of `ref`, newest first, below the cursor `before` (an id). */
  async receivedVersion(
    ref: string,
    version: number,
    page: { before?: string | undefined; limit: number },
    tx: SqlQueryable = this.#sql,
  ): Promise<SecretUse[]> {
    const rows = await tx.query<{
      id: string;
      action_ref: string;
      status: ExecutionStatus;
      worker_id: string | null;
      finished_at: Date | null;
    }>(
      `SELECT id::text AS id, action_ref, status, worker_id, finished_at FROM "attune"."execution"
       WHERE secrets @> $1::jsonb AND ($2::bigint IS NULL OR id < $2::bigint)
       ORDER BY id DESC LIMIT $3::int`,
      [JSON.stringify([{ ref, version }]), page.before ?? null, page.limit],
    );
    return rows.map((r) => ({
      executionId: r.id,
      actionRef: r.action_ref,
      version,
      at: r.finished_at === null ? null : new Date(r.finished_at),
      status: r.status,
      workerId: r.worker_id,
    }));
  }

  /**
   * Of `refs`, the ones no execution finished with since `since`, each with its last use before (or null). One pass
   * over the executions' provenance, grouped by ref: its cost grows with the executions, not with refs × executions.
   */
  async unusedSince(
    refs: readonly string[],
    since: Date,
    tx: SqlQueryable = this.#sql,
  ): Promise<Array<{ ref: string; lastUsedAt: Date | null }>> {
    if (refs.length === 0) return [];
    const rows = await tx.query<{ ref: string; last_used_at: Date | null }>(
      `WITH wanted AS (SELECT DISTINCT ref FROM unnest($1::text[]) AS r(ref)),
       used AS (
         SELECT s->>'ref' AS ref, max(e.finished_at) AS last
         FROM "attune"."execution" e CROSS JOIN LATERAL jsonb_array_elements(e.secrets) s
         WHERE e.finished_at IS NOT NULL AND s->>'ref' IN (SELECT ref FROM wanted)
         GROUP BY 1)
       SELECT w.ref, u.last AS last_used_at FROM wanted w LEFT JOIN used u ON u.ref = w.ref
       WHERE u.last IS NULL OR u.last < $2
       ORDER BY 2 NULLS FIRST, 1`,
      [refs, since],
    );
    return rows.map((r) => ({
      ref: r.ref,
      lastUsedAt: r.last_used_at === null ? null : new Date(r.last_used_at),
    }));
  }

  /** An execution, or null. */
  async get(id: bigint | string, tx: SqlQueryable = this.#sql): Promise<ExecutionRecord | null> {
    const [row] = await tx.query<Row>(`SELECT ${SELECT_COLUMNS} FROM "attune"."execution" WHERE id = $1`, [
      String(id),
    ]);
    return row ? toRecord(row) : null;
  }
}

interface Row {
  id: string;
  action_ref: string;
  status: ExecutionStatus;
  parameters: unknown;
  result: unknown;
  stdout: string | null;
  stderr: string | null;
  stdout_truncated: boolean;
  stderr_truncated: boolean;
  exit_code: number | null;
  duration_ms: number | null;
  warnings: ExecutionWarning[];
  secrets: SecretReceived[];
  worker_id: string | null;
  created: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

function toRecord(row: Row): ExecutionRecord {
  return {
    id: row.id,
    actionRef: row.action_ref,
    status: row.status,
    parameters: row.parameters,
    result: row.result,
    stdout: row.stdout,
    stderr: row.stderr,
    stdoutTruncated: row.stdout_truncated,
    stderrTruncated: row.stderr_truncated,
    exitCode: row.exit_code,
    durationMs: row.duration_ms,
    warnings: row.warnings,
    secrets: row.secrets,
    workerId: row.worker_id,
    created: new Date(row.created),
    startedAt: row.started_at === null ? null : new Date(row.started_at),
    finishedAt: row.finished_at === null ? null : new Date(row.finished_at),
  };
}
