import type { SqlExecutor, SqlQueryable } from '@attune/db';

/** States of a worker process in `attune.worker`. */
export type WorkerStatus = 'running' | 'draining' | 'stopped';

/** A worker row as the start-up check reads it. */
export interface WorkerRecord {
  readonly hostname: string;
  readonly pid: number;
  readonly status: WorkerStatus;
  /** Seconds since its last heartbeat. */
  readonly ageSeconds: number;
}

/**
 * The one owner of `attune.worker`: a worker registers, heartbeats and reports draining and stopped; reapers read
 * heartbeats through {@link ExecutionStore.abandonOfDeadWorkers}. Every method takes an optional transaction.
 */
export class WorkerStore {
  readonly #sql: SqlExecutor;

  constructor(sql: SqlExecutor) {
    this.#sql = sql;
  }

  /** The worker with this id, or null. */
  async find(id: string, tx: SqlQueryable = this.#sql): Promise<WorkerRecord | null> {
    const [row] = await tx.query<{ hostname: string; pid: number; status: WorkerStatus; age: number }>(
      `SELECT hostname, pid, status, extract(epoch FROM now() - heartbeat_at)::float8 AS age FROM "attune"."worker" WHERE id = $1`,
      [id],
    );
    return row ? { hostname: row.hostname, pid: row.pid, status: row.status, ageSeconds: row.age } : null;
  }

  /** Records this process as the live worker `id` (taking the id over from a dead one). */
  async register(
    worker: { id: string; hostname: string; pid: number; concurrency: number },
    tx: SqlQueryable = this.#sql,
  ): Promise<void> {
    await tx.query(
      `INSERT INTO "attune"."worker" (id, hostname, pid, concurrency, status, started_at, heartbeat_at)
       VALUES ($1, $2, $3, $4, 'running', now(), now())
       ON CONFLICT (id) DO UPDATE SET hostname = $2, pid = $3, concurrency = $4, status = 'running', started_at = now(), heartbeat_at = now()`,
      [worker.id, worker.hostname, worker.pid, worker.concurrency],
    );
  }

  /** Refreshes the worker's heartbeat. */
  async heartbeat(id: string, tx: SqlQueryable = this.#sql): Promise<void> {
    await tx.query(
      `UPDATE "attune"."worker" SET heartbeat_at = now() WHERE id = $1`,
      [id],
      'attune_worker_heartbeat',
    );
  }

  /** Marks the worker draining (takes nothing new) or stopped (its running executions may be reaped at once). */
  async setStatus(
    id: string,
    status: Exclude<WorkerStatus, 'running'>,
    tx: SqlQueryable = this.#sql,
  ): Promise<void> {
    await tx.query(
      status === 'stopped'
        ? `UPDATE "attune"."worker" SET status = 'stopped', heartbeat_at = now() WHERE id = $1`
        : `UPDATE "attune"."worker" SET status = 'draining' WHERE id = $1`,
      [id],
    );
  }
}
