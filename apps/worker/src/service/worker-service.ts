import type { Server } from 'node:http';
import type { WorkerConfig } from '@attune/config';
import { errorSummary, type Logger } from '@attune/core';
import { type Database, ping } from '@attune/db';
import { ExecutionStore, WorkerStore } from '@attune/executions';
import type { ActionExecutor } from '../execution/executor.js';
import { UNKILLABLE_AFTER_MS } from '../execution/supervise.js';
import type { ProcessSpawner } from '../spawner.js';
import { type Disposition, ExecutionConsumer } from './consumer.js';
import { type Readiness, startHealthServer } from './health-server.js';
import { WorkerPresence } from './presence.js';

/**
 * The worker as a service: consumes executions ({@link ExecutionConsumer}), runs each with the executor, keeps its
 * presence (heartbeats, reaping; {@link WorkerPresence}), serves /healthz and /readyz, pauses while its spawner keeps
 * failing, and drains on stop. See docs/deployment.md.
 */
export class WorkerService {
  readonly #config: WorkerConfig;
  readonly #db: Database;
  readonly #executions: ExecutionStore;
  readonly #executor: ActionExecutor;
  readonly #spawner: ProcessSpawner | undefined;
  readonly #logger: Logger;
  readonly #presence: WorkerPresence;
  readonly #consumer: ExecutionConsumer;
  readonly #inFlight = new Map<string, { abort: AbortController; done: Promise<Disposition> }>();
  #stopping = false;
  #timers: NodeJS.Timeout[] = [];
  #http: Server | undefined;

  constructor(options: {
    config: WorkerConfig;
    db: Database;
    executor: ActionExecutor;
    /** The executor's spawner, whose health makes the worker ready or not. */
    spawner?: ProcessSpawner;
    logger: Logger;
  }) {
    this.#config = options.config;
    this.#db = options.db;
    this.#executions = new ExecutionStore(options.db.sql);
    this.#executor = options.executor;
    this.#spawner = options.spawner;
    this.#logger = options.logger.child({ workerId: options.config.workerId });
    this.#presence = new WorkerPresence({
      workers: new WorkerStore(options.db.sql),
      executions: this.#executions,
      workerId: options.config.workerId,
      staleAfterMs: options.config.staleAfterMs,
      logger: this.#logger,
    });
    this.#consumer = new ExecutionConsumer({
      broker: options.config.broker,
      concurrency: options.config.concurrency,
      workerId: options.config.workerId,
      logger: this.#logger,
      handle: (id) => this.#run(id),
    });
  }

  /** The port the health server listens on (after start), or undefined when disabled. */
  get httpPort(): number | undefined {
    const address = this.#http?.address();
    return address && typeof address === 'object' ? address.port : undefined;
  }

  /** Whether the broker connection is up and consuming. */
  get consuming(): boolean {
    return this.#consumer.consuming;
  }

  /** Registers the worker, starts heartbeats and the reaper, the health server, and consuming. */
  async start(): Promise<void> {
    const { heartbeatIntervalMs, staleAfterMs, concurrency } = this.#config;
    await this.#presence.register(concurrency);
    this.#timers.push(setInterval(() => void this.#heartbeat(), heartbeatIntervalMs));
    this.#timers.push(
      setInterval(() => void this.reap(), Math.max(250, Math.min(heartbeatIntervalMs, staleAfterMs / 3))),
    );
    for (const timer of this.#timers) timer.unref();
    try {
      await this.reap();
      if (this.#config.http.port >= 0) {
        this.#http = await startHealthServer({
          ...this.#config.http,
          workerId: this.#config.workerId,
          readiness: () => this.#readiness(),
        });
      }
    } catch (error) {
      // Not started after all (the health port is taken, say): nothing of it may keep running or look alive.
      for (const timer of this.#timers) clearInterval(timer);
      await this.#presence.stopped();
      throw error;
    }
    this.#consumer.start();
    this.#logger.info({ concurrency, queue: this.#config.broker.queue }, 'worker started');
  }

  /**
   * Stops consuming, lets in-flight executions finish within the grace period, then stops the rest (recorded
   * `cancelled`), marks the worker stopped and closes everything. Unstarted deliveries go back to the queue.
   */
  async stop(reason = 'stop requested'): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#logger.info({ reason, inFlight: this.#inFlight.size }, 'worker stopping: no new executions');
    await this.#consumer.stopConsuming();
    await this.#presence.draining();
    const all = Promise.all([...this.#inFlight.values()].map((f) => f.done));
    let graceTimer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'grace'>((resolve) => {
      graceTimer = setTimeout(() => resolve('grace'), this.#config.shutdownGraceMs);
    });
    if ((await Promise.race([all.then(() => 'done' as const), graceOver])) === 'grace') {
      this.#logger.warn({ inFlight: this.#inFlight.size }, 'grace period over; stopping running actions');
      for (const f of this.#inFlight.values()) f.abort.abort();
      // Bounded: an execution whose end never comes must not keep the worker from stopping. What is still
      // running then is left to the reaper (abandoned), as if this worker had been killed.
      let stuckTimer: NodeJS.Timeout | undefined;
      const stuck = new Promise<'stuck'>((resolve) => {
        stuckTimer = setTimeout(
          () => resolve('stuck'),
          this.#config.killGraceMs + UNKILLABLE_AFTER_MS + 30_000,
        );
      });
      if ((await Promise.race([all.then(() => 'done' as const), stuck])) === 'stuck') {
        this.#logger.error(
          { executions: [...this.#inFlight.keys()] },
          'executions did not end after they were stopped; the worker stops without them',
        );
      }
      clearTimeout(stuckTimer);
    }
    clearTimeout(graceTimer);
    for (const timer of this.#timers) clearInterval(timer);
    await this.#presence.stopped();
    await this.#consumer.close();
    await new Promise<void>((resolve) => (this.#http ? this.#http.close(() => resolve()) : resolve()));
    this.#logger.info('worker stopped');
  }

  /** Marks executions of dead workers abandoned. Returns their ids. Safe to run from every worker at once. */
  reap(): Promise<string[]> {
    return this.#presence.reap();
  }

  /** Runs one delivered execution; the answer says what becomes of the delivery. */
  async #run(id: string): Promise<Disposition> {
    // Stopping: not claimed here, so back to the queue for another worker.
    if (this.#stopping) return { kind: 'requeue' };
    // Redelivered after a reconnect while this worker still runs it: it is claimed; drop the duplicate.
    if (this.#inFlight.has(id)) return { kind: 'ack' };
    const abort = new AbortController();
    const done = (async (): Promise<Disposition> => {
      try {
        const outcome = await this.#executor.execute(id, { signal: abort.signal });
        // Claimed and stored this time: an earlier failed attempt had not claimed it after all.
        if (outcome) {
          this.#presence.settled(id);
          return { kind: 'ack' };
        }
        const status = await this.#executions.statusOf(id);
        if (!status) return { kind: 'dead_letter', reason: `no execution with id ${id}` };
        this.#logger.info(
          { executionId: id, status },
          'execution already claimed or finished; message dropped',
        );
        return { kind: 'ack' };
      } catch (error) {
        // The database failed mid-way. Requeue after a pause (no tight redelivery loop while it is down). If the
        // claim had happened, the redelivery is dropped by the claim, and the heartbeat settles the execution as
        // abandoned once the database answers again (this worker is alive, so no other worker's reaper would).
        this.#presence.unsettled(id);
        this.#logger.error(
          { executionId: id, err: errorSummary(error) },
          'execution could not be completed; requeueing',
        );
        await new Promise((resolve) => setTimeout(resolve, this.#stopping ? 0 : 5000));
        return { kind: 'requeue' };
      } finally {
        this.#inFlight.delete(id);
      }
    })();
    this.#inFlight.set(id, { abort, done });
    return done;
  }

  async #heartbeat(): Promise<void> {
    await this.#checkSpawner();
    await this.#presence.heartbeat((id) => this.#inFlight.has(id));
  }

  /**
   * A spawner that keeps failing would fail every execution it is given: stop taking them (they stay queued for
   * other workers) until it is healthy again.
   */
  async #checkSpawner(): Promise<void> {
    const health = this.#spawner?.health();
    if (!health || this.#stopping) return;
    if (!health.ok && !this.#consumer.paused) {
      this.#logger.error({ problem: health.problem }, 'not taking executions: the spawner keeps failing');
      await this.#consumer.pause();
    } else if (health.ok && this.#consumer.paused) {
      this.#logger.info('the spawner is healthy again: taking executions');
      await this.#consumer.resume();
    }
  }

  async #readiness(): Promise<Readiness> {
    const database = await Promise.race([
      ping(this.#db.sql).then(
        () => 'ok',
        () => 'unreachable',
      ),
      new Promise<string>((resolve) => setTimeout(() => resolve('timeout'), 2000).unref()),
    ]);
    const spawner = this.#spawner?.health() ?? { ok: true, restarts: 0 };
    const broker = this.consuming ? 'consuming' : this.#consumer.paused ? 'paused' : 'disconnected';
    const { sandbox } = this.#executor;
    return {
      ready: database === 'ok' && broker === 'consuming' && spawner.ok && !this.#stopping,
      database,
      broker,
      draining: this.#stopping,
      inFlight: this.#inFlight.size,
      isolation: { mode: sandbox.mode, runAs: sandbox.identity.name, uid: sandbox.identity.uid },
      spawner,
    };
  }
}
