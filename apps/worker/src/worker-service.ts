import type { Server } from 'node:http';
import { hostname } from 'node:os';
import { assertTopology, brokerErrorSummary, connectBroker, parseExecutionMessage } from '@attune/broker';
import type { WorkerConfig } from '@attune/config';
import type { Database } from '@attune/db';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { ActionExecutor } from './execution/executor.js';
import { UNKILLABLE_AFTER_MS } from './execution/supervise.js';
import { type Readiness, startHealthServer } from './health-server.js';
import type { ProcessSpawner } from './spawner.js';

/** Marks executions of dead workers `abandoned`; see docs/deployment.md#failure-semantics. */
const REAP_SQL = `
UPDATE "attune"."execution" e
SET status = 'abandoned', finished_at = now(),
    warnings = e.warnings || jsonb_build_array(jsonb_build_object(
      'kind', 'worker_lost',
      'message', 'Worker ' || coalesce(e.worker_id, '?') || ' stopped while this execution ran; its outcome is unknown.'))
WHERE e.status = 'running'
  AND NOT EXISTS (
    SELECT 1 FROM "attune"."worker" w
    WHERE w.id = e.worker_id AND w.status <> 'stopped' AND w.heartbeat_at > now() - make_interval(secs => $1::double precision)
  )
RETURNING e.id::text AS id, e.worker_id`;

/** Another live process already uses this worker id. */
export class WorkerIdInUseError extends Error {
  readonly code = 'ATTUNE_WORKER_ID_IN_USE';
}

/**
 * The worker as a service: consumes executions from RabbitMQ (acknowledging each only after its terminal state is
 * stored), heartbeats, reaps executions of dead workers, reconnects to the broker, serves /healthz and /readyz, and
 * drains on stop. See docs/deployment.md.
 */
export class WorkerService {
  readonly #config: WorkerConfig;
  readonly #db: Database;
  readonly #executor: ActionExecutor;
  readonly #spawner: ProcessSpawner | undefined;
  readonly #logger: Logger;
  readonly #inFlight = new Map<string, { abort: AbortController; done: Promise<void> }>();
  /** Executions whose run failed on the database after a possible claim; settled by the next heartbeat. */
  readonly #unsettled = new Set<string>();
  #connection: ChannelModel | undefined;
  #channel: Channel | undefined;
  #consumerTag: string | undefined;
  #stopping = false;
  /** Not taking executions because the spawner keeps failing (see {@link ProcessSpawner.health}). */
  #paused = false;
  #timers: NodeJS.Timeout[] = [];
  #http: Server | undefined;
  #connectLoop: Promise<void> | undefined;
  #wakeReconnect: (() => void) | undefined;

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
    this.#executor = options.executor;
    this.#spawner = options.spawner;
    this.#logger = options.logger.child({ workerId: options.config.workerId });
  }

  /** The port the health server listens on (after start), or undefined when disabled. */
  get httpPort(): number | undefined {
    const address = this.#http?.address();
    return address && typeof address === 'object' ? address.port : undefined;
  }

  /** Whether the broker connection is up and consuming. */
  get consuming(): boolean {
    return this.#consumerTag !== undefined;
  }

  /** Registers the worker, starts heartbeats and the reaper, the health server, and consuming. */
  async start(): Promise<void> {
    await this.#register();
    const { heartbeatIntervalMs, staleAfterMs } = this.#config;
    this.#timers.push(setInterval(() => void this.#heartbeat(), heartbeatIntervalMs));
    this.#timers.push(
      setInterval(() => void this.reap(), Math.max(250, Math.min(heartbeatIntervalMs, staleAfterMs / 3))),
    );
    for (const timer of this.#timers) timer.unref();
    await this.reap();
    if (this.#config.http.port >= 0) {
      this.#http = await startHealthServer({
        ...this.#config.http,
        workerId: this.#config.workerId,
        readiness: () => this.#readiness(),
      });
    }
    this.#connectLoop = this.#runConnectLoop();
    this.#logger.info(
      { concurrency: this.#config.concurrency, queue: this.#config.broker.queue },
      'worker started',
    );
  }

  /**
   * Stops consuming, lets in-flight executions finish within the grace period, then stops the rest (recorded
   * `cancelled`), marks the worker stopped and closes everything. Unstarted deliveries go back to the queue.
   */
  async stop(reason = 'stop requested'): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#logger.info({ reason, inFlight: this.#inFlight.size }, 'worker stopping: no new executions');
    await this.#db.sql
      .query(`UPDATE "attune"."worker" SET status = 'draining' WHERE id = $1`, [this.#config.workerId])
      .catch(() => undefined);
    if (this.#channel && this.#consumerTag)
      await this.#channel.cancel(this.#consumerTag).catch(() => undefined);
    this.#consumerTag = undefined;
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
          { executions: [...this.#inFlight.keys()].map(String) },
          'executions did not end after they were stopped; the worker stops without them',
        );
      }
      clearTimeout(stuckTimer);
    }
    clearTimeout(graceTimer);
    for (const timer of this.#timers) clearInterval(timer);
    await this.#db.sql
      .query(`UPDATE "attune"."worker" SET status = 'stopped', heartbeat_at = now() WHERE id = $1`, [
        this.#config.workerId,
      ])
      .catch(() => undefined);
    this.#wakeReconnect?.();
    await this.#connection?.close().catch(() => undefined);
    await this.#connectLoop;
    await new Promise<void>((resolve) => (this.#http ? this.#http.close(() => resolve()) : resolve()));
    this.#logger.info('worker stopped');
  }

  /** Marks executions of dead workers abandoned. Returns their ids. Safe to run from every worker at once. */
  async reap(): Promise<string[]> {
    try {
      const rows = await this.#db.sql.query<{ id: string; worker_id: string | null }>(
        REAP_SQL,
        [this.#config.staleAfterMs / 1000],
        'attune_reap_executions',
      );
      for (const row of rows) {
        this.#logger.warn(
          { executionId: row.id, deadWorker: row.worker_id },
          'execution abandoned: its worker stopped heartbeating',
        );
      }
      return rows.map((r) => r.id);
    } catch (error) {
      this.#logger.warn({ err: { name: (error as Error).name } }, 'reaper could not reach the database');
      return [];
    }
  }

  async #register(): Promise<void> {
    const { workerId, staleAfterMs, concurrency } = this.#config;
    const [existing] = await this.#db.sql.query<{
      hostname: string;
      pid: number;
      status: string;
      age: number;
    }>(
      `SELECT hostname, pid, status, extract(epoch FROM now() - heartbeat_at)::float8 AS age FROM "attune"."worker" WHERE id = $1`,
      [workerId],
    );
    const me = { host: hostname(), pid: process.pid };
    if (
      existing &&
      existing.status !== 'stopped' &&
      existing.age * 1000 < staleAfterMs &&
      (existing.hostname !== me.host || existing.pid !== me.pid)
    ) {
      throw new WorkerIdInUseError(
        `Worker id ${workerId} is in use by pid ${existing.pid} on ${existing.hostname} (heartbeat ${existing.age.toFixed(1)} s ago). ` +
          'Give each worker its own worker.id (ATTUNE__WORKER__ID), or stop the other one.',
      );
    }
    await this.#db.sql.query(
      `INSERT INTO "attune"."worker" (id, hostname, pid, concurrency, status, started_at, heartbeat_at)
       VALUES ($1, $2, $3, $4, 'running', now(), now())
       ON CONFLICT (id) DO UPDATE SET hostname = $2, pid = $3, concurrency = $4, status = 'running', started_at = now(), heartbeat_at = now()`,
      [workerId, me.host, me.pid, concurrency],
    );
    // An earlier process with this id is gone; what it left running cannot still run.
    const orphans = await this.#db.sql.query<{ id: string }>(
      `UPDATE "attune"."execution" SET status = 'abandoned', finished_at = now(),
         warnings = warnings || jsonb_build_array(jsonb_build_object('kind', 'worker_lost', 'message', 'Worker ' || worker_id || ' restarted while this execution ran; its outcome is unknown.'))
       WHERE status = 'running' AND worker_id = $1 RETURNING id::text AS id`,
      [workerId],
    );
    for (const o of orphans)
      this.#logger.warn({ executionId: o.id }, 'execution abandoned: this worker restarted while it ran');
  }

  async #heartbeat(): Promise<void> {
    await this.#checkSpawner();
    try {
      await this.#db.sql.query(
        `UPDATE "attune"."worker" SET heartbeat_at = now() WHERE id = $1`,
        [this.#config.workerId],
        'attune_worker_heartbeat',
      );
      const unsettled = [...this.#unsettled].filter((id) => !this.#inFlight.has(id));
      if (unsettled.length > 0) {
        // Claimed here, then the database failed before the outcome was stored: the outcome is unknown.
        const rows = await this.#db.sql.query<{ id: string }>(
          `UPDATE "attune"."execution" SET status = 'abandoned', finished_at = now(),
             warnings = warnings || jsonb_build_array(jsonb_build_object('kind', 'worker_lost',
               'message', 'The database failed while this execution ran; its outcome is unknown.'))
           WHERE id = ANY($1::bigint[]) AND status = 'running' AND worker_id = $2 RETURNING id::text AS id`,
          [unsettled, this.#config.workerId],
        );
        for (const id of unsettled) this.#unsettled.delete(id);
        for (const row of rows)
          this.#logger.warn({ executionId: row.id }, 'execution abandoned: its outcome could not be stored');
      }
    } catch (error) {
      this.#logger.warn({ err: { name: (error as Error).name } }, 'heartbeat could not reach the database');
    }
  }

  /**
   * A spawner that keeps failing would fail every execution it is given: stop taking them (they stay queued for
   * other workers) until it is healthy again.
   */
  async #checkSpawner(): Promise<void> {
    const health = this.#spawner?.health();
    if (!health || this.#stopping) return;
    if (!health.ok && !this.#paused) {
      this.#paused = true;
      this.#logger.error({ problem: health.problem }, 'not taking executions: the spawner keeps failing');
      const channel = this.#channel;
      const tag = this.#consumerTag;
      this.#consumerTag = undefined;
      if (channel && tag) await channel.cancel(tag).catch(() => undefined);
    } else if (health.ok && this.#paused) {
      this.#paused = false;
      this.#logger.info('the spawner is healthy again: taking executions');
      if (this.#channel) await this.#consume(this.#channel).catch(() => undefined);
    }
  }

  async #consume(channel: Channel): Promise<void> {
    if (this.#paused || this.#stopping || this.#consumerTag !== undefined) return;
    const { broker, concurrency } = this.#config;
    const { consumerTag } = await channel.consume(broker.queue, (msg) => {
      if (msg) void this.#onMessage(channel, msg);
    });
    this.#consumerTag = consumerTag;
    this.#logger.info({ queue: broker.queue, prefetch: concurrency }, 'consuming executions');
  }

  async #runConnectLoop(): Promise<void> {
    let delay = 250;
    while (!this.#stopping) {
      let closed: Promise<void> | undefined;
      try {
        ({ closed } = await this.#connect());
        delay = 250;
      } catch (error) {
        this.#logger.warn({ broker: brokerErrorSummary(error), retryInMs: delay }, 'broker unavailable');
      }
      if (closed) await closed;
      if (this.#stopping) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay * (0.75 + Math.random() / 2));
        this.#wakeReconnect = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      delay = Math.min(delay * 2, this.#config.broker.reconnectMaxMs);
    }
  }

  /** Connects and starts consuming; `closed` settles when the connection is gone. */
  async #connect(): Promise<{ closed: Promise<void> }> {
    const { broker, concurrency, workerId } = this.#config;
    const connection = await connectBroker(broker, `attune-worker-${workerId}`);
    const closed = new Promise<void>((resolve) => {
      connection.on('close', () => resolve());
    });
    connection.on('error', (error: Error) =>
      this.#logger.warn({ broker: brokerErrorSummary(error) }, 'broker connection error'),
    );
    try {
      const channel = await connection.createConfirmChannel();
      channel.on('error', (error: Error) =>
        this.#logger.warn({ broker: brokerErrorSummary(error) }, 'broker channel error'),
      );
      channel.on('close', () => {
        if (this.#channel === channel) {
          this.#channel = undefined;
          this.#consumerTag = undefined;
          if (!this.#stopping) this.#logger.warn('broker connection lost; reconnecting');
          void connection.close().catch(() => undefined);
        }
      });
      await assertTopology(channel, broker);
      await channel.prefetch(concurrency);
      this.#connection = connection;
      this.#channel = channel;
      if (this.#stopping) {
        await connection.close();
        return { closed };
      }
      await this.#consume(channel);
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
    return { closed };
  }

  async #onMessage(channel: Channel, msg: ConsumeMessage): Promise<void> {
    if (this.#stopping) {
      safely(() => channel.nack(msg, false, true)); // back to the queue for another worker
      return;
    }
    const parsed = parseExecutionMessage(msg.content);
    if ('reason' in parsed) return this.#deadLetter(channel, msg, parsed.reason);
    const { id } = parsed;
    const existing = this.#inFlight.get(id);
    if (existing) {
      // Redelivered after a reconnect while this worker still runs it: it is claimed; drop the duplicate.
      safely(() => channel.ack(msg));
      return;
    }
    const abort = new AbortController();
    const done = (async () => {
      try {
        const outcome = await this.#executor.execute(id, { signal: abort.signal });
        // Claimed and stored this time: an earlier failed attempt had not claimed it after all.
        if (outcome) this.#unsettled.delete(id);
        if (!outcome) {
          const [row] = await this.#db.sql.query<{ status: string }>(
            `SELECT status FROM "attune"."execution" WHERE id = $1`,
            [id],
          );
          if (!row) return this.#deadLetter(channel, msg, `no execution with id ${id}`);
          this.#logger.info(
            { executionId: id, status: row.status },
            'execution already claimed or finished; message dropped',
          );
        }
        // Only now is the terminal state stored (or known to be someone else's): acknowledge.
        safely(() => channel.ack(msg));
      } catch (error) {
        // The database failed mid-way. Requeue after a pause (no tight redelivery loop while it is down). If the
        // claim had happened, the redelivery is dropped by the claim, and the heartbeat settles the execution as
        // abandoned once the database answers again (this worker is alive, so no other worker's reaper would).
        this.#unsettled.add(id);
        this.#logger.error(
          { executionId: id, err: { name: (error as Error).name, code: (error as { code?: string }).code } },
          'execution could not be completed; requeueing',
        );
        await new Promise((resolve) => setTimeout(resolve, this.#stopping ? 0 : 5000));
        safely(() => channel.nack(msg, false, true));
      } finally {
        this.#inFlight.delete(id);
      }
    })();
    this.#inFlight.set(id, { abort, done });
    await done;
  }

  async #deadLetter(channel: Channel, msg: ConsumeMessage, reason: string): Promise<void> {
    const { broker } = this.#config;
    this.#logger.warn({ reason, deliveryTag: msg.fields.deliveryTag }, 'message dead-lettered');
    try {
      await new Promise<void>((resolve, reject) => {
        (channel as import('amqplib').ConfirmChannel).sendToQueue(
          broker.deadLetterQueue,
          msg.content,
          {
            persistent: true,
            contentType: msg.properties.contentType,
            headers: {
              ...(msg.properties.headers ?? {}),
              'x-attune-reason': reason,
              'x-attune-worker': this.#config.workerId,
              'x-attune-original-queue': broker.queue,
            },
          },
          (error: unknown) => (error ? reject(error) : resolve()),
        );
      });
      safely(() => channel.ack(msg));
    } catch {
      // Not confirmed: leave it unacknowledged rather than lose it.
    }
  }

  async #readiness(): Promise<Readiness> {
    const database = await Promise.race([
      this.#db.sql.query('SELECT 1').then(
        () => 'ok',
        () => 'unreachable',
      ),
      new Promise<string>((resolve) => setTimeout(() => resolve('timeout'), 2000).unref()),
    ]);
    const spawner = this.#spawner?.health() ?? { ok: true, restarts: 0 };
    const broker = this.consuming ? 'consuming' : this.#paused ? 'paused' : 'disconnected';
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

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // The channel closed meanwhile: RabbitMQ redelivers what was not acknowledged.
  }
}
