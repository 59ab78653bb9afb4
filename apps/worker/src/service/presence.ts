import { hostname } from 'node:os';
import { AttuneError, errorSummary, type Logger } from '@attune/core';
import type { ExecutionStore, WorkerStore } from '@attune/executions';

/** Another live process already uses this worker id. */
export class WorkerIdInUseError extends AttuneError {
  constructor(message: string) {
    super({ code: 'ATTUNE_WORKER_ID_IN_USE', category: 'conflict', message });
  }
}

/**
 * A worker's presence in the database: it registers (refusing an id a live process holds), heartbeats, reports
 * draining and stopped, and reaps — marks `abandoned` what dead workers (and this one, when the database failed
 * mid-run) left running. See docs/deployment.md#failure-semantics.
 */
export class WorkerPresence {
  readonly #workers: WorkerStore;
  readonly #executions: Pick<ExecutionStore, 'abandonOfDeadWorkers' | 'abandonOrphans' | 'abandonUnsettled'>;
  readonly #id: string;
  readonly #staleAfterMs: number;
  readonly #logger: Logger;
  /** Executions whose run failed on the database after a possible claim; settled by the next heartbeat. */
  readonly #unsettled = new Set<string>();

  constructor(options: {
    workers: WorkerStore;
    executions: Pick<ExecutionStore, 'abandonOfDeadWorkers' | 'abandonOrphans' | 'abandonUnsettled'>;
    workerId: string;
    staleAfterMs: number;
    logger: Logger;
  }) {
    this.#workers = options.workers;
    this.#executions = options.executions;
    this.#id = options.workerId;
    this.#staleAfterMs = options.staleAfterMs;
    this.#logger = options.logger;
  }

  /**
   * Records this process as the worker, and marks abandoned what an earlier process with this id left running.
   * @throws {WorkerIdInUseError} when a live process on another host or pid holds the id.
   */
  async register(concurrency: number): Promise<void> {
    const existing = await this.#workers.find(this.#id);
    const me = { host: hostname(), pid: process.pid };
    if (
      existing &&
      existing.status !== 'stopped' &&
      existing.ageSeconds * 1000 < this.#staleAfterMs &&
      (existing.hostname !== me.host || existing.pid !== me.pid)
    ) {
      throw new WorkerIdInUseError(
        `Worker id ${this.#id} is in use by pid ${existing.pid} on ${existing.hostname} (heartbeat ${existing.ageSeconds.toFixed(1)} s ago). ` +
          'Give each worker its own worker.id (ATTUNE__WORKER__ID), or stop the other one.',
      );
    }
    await this.#workers.register({ id: this.#id, hostname: me.host, pid: me.pid, concurrency });
    // An earlier process with this id is gone; what it left running cannot still run.
    for (const id of await this.#executions.abandonOrphans(this.#id))
      this.#logger.warn({ executionId: id }, 'execution abandoned: this worker restarted while it ran');
  }

  /** An execution this worker may have claimed, whose end could not be stored: settled by the next heartbeat. */
  unsettled(id: string): void {
    this.#unsettled.add(id);
  }

  /** The execution was claimed and stored after all. */
  settled(id: string): void {
    this.#unsettled.delete(id);
  }

  /**
   * Refreshes the heartbeat, then marks abandoned the unsettled executions no longer running here (claimed, then the
   * database failed before the outcome was stored: the outcome is unknown).
   */
  async heartbeat(running: (id: string) => boolean): Promise<void> {
    try {
      await this.#workers.heartbeat(this.#id);
      const unsettled = [...this.#unsettled].filter((id) => !running(id));
      if (unsettled.length === 0) return;
      const abandoned = await this.#executions.abandonUnsettled(unsettled, this.#id);
      for (const id of unsettled) this.#unsettled.delete(id);
      for (const id of abandoned)
        this.#logger.warn({ executionId: id }, 'execution abandoned: its outcome could not be stored');
    } catch (error) {
      this.#logger.warn({ err: errorSummary(error) }, 'heartbeat could not reach the database');
    }
  }

  /** Marks executions of dead workers abandoned; returns their ids. Safe to run from every worker at once. */
  async reap(): Promise<string[]> {
    try {
      const rows = await this.#executions.abandonOfDeadWorkers(this.#staleAfterMs / 1000);
      for (const row of rows) {
        this.#logger.warn(
          { executionId: row.id, deadWorker: row.worker_id },
          'execution abandoned: its worker stopped heartbeating',
        );
      }
      return rows.map((r) => r.id);
    } catch (error) {
      this.#logger.warn({ err: errorSummary(error) }, 'reaper could not reach the database');
      return [];
    }
  }

  /** Reports the worker draining (best effort: stopping must not wait on a database that is down). */
  async draining(): Promise<void> {
    await this.#workers.setStatus(this.#id, 'draining').catch(() => undefined);
  }

  /** Reports the worker stopped (best effort). */
  async stopped(): Promise<void> {
    await this.#workers.setStatus(this.#id, 'stopped').catch(() => undefined);
  }
}
