import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExecutionPublisher } from '@attune/broker';
import { isolatedBroker } from '@attune/broker/testing';
import { DEFAULT_AMQP_URL, loadWorkerConfig } from '@attune/config';
import type { SqlExecutor } from '@attune/db';
import { createTestDatabase, type TestDatabase } from '@attune/db/testing';
import { registerPack } from '@attune/registry';
import { Keyring } from '@attune/secrets';
import amqp from 'amqplib';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor } from '../src/execution/create-executor.js';
import { WorkerService } from '../src/service/worker-service.js';
import { TEST_SCRATCH_BASE } from './support/isolation.js';
import { requestExecution } from './support/services.js';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const AMQP_URL = process.env.AMQP_URL || DEFAULT_AMQP_URL;
// This file's own exchange and queues: other test files share the broker.
const ISOLATED = isolatedBroker('test', AMQP_URL);
const BROKER = ISOLATED.config;
const TERMINAL = ['succeeded', 'failed', 'timeout', 'cancelled', 'abandoned'];

let db: TestDatabase;
let markFile: string;
const workers = new Set<ChildProcess>();

beforeAll(async () => {
  if (!existsSync(BIN))
    throw new Error(`${BIN} is missing: build @attune/worker first (turbo does, before test)`);
  db = await createTestDatabase();
  const root = mkdtempSync(join(tmpdir(), 'attune-svc-'));
  markFile = join(root, 'marks.log');
  const dir = join(root, 'svcpack');
  mkdirSync(join(dir, 'actions'), { recursive: true });
  writeFileSync(join(dir, 'pack.yaml'), 'ref: svcpack\nlabel: svc\nversion: 1.0.0\n');
  const actions = {
    mark: '#!/bin/sh\nread -r params\necho "$ATTUNE_EXECUTION_ID" >> "$MARK_FILE"\n',
    slow: '#!/bin/sh\nread -r params\necho "start $ATTUNE_EXECUTION_ID" >> "$MARK_FILE"\nsleep 2\necho done\n',
  };
  for (const [name, code] of Object.entries(actions)) {
    writeFileSync(
      join(dir, 'actions', `${name}.yaml`),
      `name: ${name}\nrunner_type: shell\nentry_point: ${name}.sh\ntimeout: 60\n`,
    );
    writeFileSync(join(dir, 'actions', `${name}.sh`), code);
    chmodSync(join(dir, 'actions', `${name}.sh`), 0o755);
  }
  await registerPack(db.prisma, dir);
});

afterAll(async () => {
  for (const w of workers) w.kill('SIGKILL');
  await ISOLATED.remove();
  await db?.drop();
});

interface Worker {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  port: () => Promise<number>;
}

function startWorker(id: string, extra: Record<string, string> = {}): Worker {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    DATABASE_URL: db.url as string,
    ...ISOLATED.env,
    ATTUNE__BROKER__RECONNECT_MAX_MS: '1000',
    ATTUNE__WORKER__ID: id,
    ATTUNE__WORKER__HEARTBEAT_INTERVAL_MS: '300',
    ATTUNE__WORKER__STALE_AFTER_MS: '1500',
    ATTUNE__WORKER__HTTP_PORT: '0',
    ATTUNE__WORKER__CONCURRENCY: '4',
    ATTUNE__WORKER__PASSTHROUGH_ENV: 'MARK_FILE',
    // These tests are about delivery (at most once, none lost): the actions append to one shared MARK_FILE, which
    // only the unconfined mode allows. Isolation has its own tests (isolation.int.test.ts).
    ATTUNE__WORKER__ISOLATION: 'none',
    ATTUNE__WORKER__SCRATCH_DIR: TEST_SCRATCH_BASE,
    ATTUNE__SECURITY__ENCRYPTION_KEY: 'service-test-encryption-key-0123456789',
    MARK_FILE: markFile,
    ...extra,
  };
  let output = '';
  const proc = spawn(process.execPath, [BIN, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  workers.add(proc);
  proc.stdout?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  proc.stderr?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => {
      workers.delete(proc);
      resolve(code);
    }),
  );
  const port = async () => {
    for (let i = 0; i < 200; i++) {
      const m = /"port":(\d+)/.exec(output);
      if (m) return Number(m[1]);
      await sleep(50);
    }
    throw new Error(`worker ${id} did not start:\n${output}`);
  };
  return { proc, output: () => output, exited, port };
}

async function waitUntil<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await fn();
    if (value) return value;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function enqueue(actionRef: string, count: number): Promise<bigint[]> {
  const publisher = new ExecutionPublisher(BROKER);
  const ids: bigint[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const id = await requestExecution(db, actionRef, {});
      await publisher.publish({ execution_id: Number(id), action_ref: actionRef });
      ids.push(id);
    }
  } finally {
    await publisher.close();
  }
  return ids;
}

async function statuses(ids: bigint[]) {
  return db.prisma.execution.findMany({
    where: { id: { in: ids } },
    select: { id: true, status: true, workerId: true, finishedAt: true },
  });
}

async function allTerminal(ids: bigint[]) {
  const rows = await statuses(ids);
  return rows.length === ids.length && rows.every((r) => TERMINAL.includes(r.status)) ? rows : undefined;
}

function marks(): string[] {
  return existsSync(markFile) ? readFileSync(markFile, 'utf8').split('\n').filter(Boolean) : [];
}

describe('worker service over RabbitMQ', () => {
  it('serves health and readiness', async () => {
    const w = startWorker('health-1');
    const port = await w.port();
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    const ready = await waitUntil('ready', async () => {
      const r = await fetch(`http://127.0.0.1:${port}/readyz`);
      return r.status === 200 ? ((await r.json()) as Record<string, unknown>) : undefined;
    });
    expect(ready).toMatchObject({
      ready: true,
      database: 'ok',
      broker: 'consuming',
      isolation: { mode: 'none' },
      spawner: { ok: true, restarts: 0 },
    });
    w.proc.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  });

  it('shares 200 executions between two workers: each ends once, none runs twice, none is lost', async () => {
    const a = startWorker('share-a');
    const b = startWorker('share-b');
    await Promise.all([a.port(), b.port()]);
    const ids = await enqueue('svcpack.mark', 200);
    const rows = await waitUntil('200 terminal executions', () => allTerminal(ids), 120_000);
    expect(rows.every((r) => r.status === 'succeeded')).toBe(true);
    const ran = marks().filter((m) => ids.map(String).includes(m));
    expect(ran).toHaveLength(200);
    expect(new Set(ran).size).toBe(200);
    const byWorker = new Set(rows.map((r) => r.workerId));
    expect(byWorker).toEqual(new Set(['share-a', 'share-b']));
    a.proc.kill('SIGTERM');
    b.proc.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
  });

  it('survives kill -9 of a worker mid-run: the rest complete, its in-flight ones end abandoned', async () => {
    const victim = startWorker('kill-victim', { ATTUNE__WORKER__CONCURRENCY: '2' });
    await victim.port();
    const ids = await enqueue('svcpack.slow', 6);
    // Let the victim start some, then kill it without warning.
    await waitUntil('victim running', async () => {
      const rows = await statuses(ids);
      return rows.filter((r) => r.status === 'running' && r.workerId === 'kill-victim').length >= 2;
    });
    victim.proc.kill('SIGKILL');
    await victim.exited;
    const killedAt = Date.now();
    const survivor = startWorker('kill-survivor', { ATTUNE__WORKER__CONCURRENCY: '4' });
    await survivor.port();
    const rows = await waitUntil('all terminal after the kill', () => allTerminal(ids), 60_000);
    const abandoned = rows.filter((r) => r.status === 'abandoned');
    expect(abandoned.length).toBeGreaterThanOrEqual(2);
    for (const r of abandoned) {
      expect(r.workerId).toBe('kill-victim');
      // bounded: stale_after (1.5 s) plus a reaper interval, with slack for a loaded machine
      expect((r.finishedAt as Date).getTime() - killedAt).toBeLessThan(15_000);
    }
    expect(rows.filter((r) => r.status === 'succeeded').every((r) => r.workerId === 'kill-survivor')).toBe(
      true,
    );
    expect(rows.filter((r) => !['abandoned', 'succeeded'].includes(r.status))).toEqual([]);
    // at most once: no execution started twice
    const starts = marks()
      .filter((m) => m.startsWith('start '))
      .map((m) => m.slice(6))
      .filter((m) => ids.map(String).includes(m));
    expect(new Set(starts).size).toBe(starts.length);
    survivor.proc.kill('SIGTERM');
    expect(await survivor.exited).toBe(0);
  });

  it('loses nothing when its broker connection is closed mid-stream, and reconnects', async () => {
    const w = startWorker('reconnect-1');
    await w.port();
    const first = await enqueue('svcpack.mark', 30);
    const closer = (async () => {
      await sleep(150);
      // Tab-separated: the connection's pid, then its client properties (where our connection name is).
      const listing = execFileSync('rabbitmqctl', ['list_connections', 'pid', 'client_properties', '-q'], {
        encoding: 'utf8',
      });
      const ours = listing
        .split('\n')
        .filter((line) => line.includes('{"connection_name","attune-worker-reconnect-1"}'))
        .map((line) => ({ pid: line.split('\t')[0] }));
      expect(ours).toHaveLength(1);
      // What a broker restart looks like to a client: the server closes the connection (CONNECTION_FORCED).
      execFileSync('rabbitmqctl', [
        'close_connection',
        ours[0]?.pid as string,
        'test: simulated broker restart',
      ]);
    })();
    const second = await enqueue('svcpack.mark', 30);
    await closer;
    const ids = [...first, ...second];
    const rows = await waitUntil('60 terminal after reconnect', () => allTerminal(ids), 60_000);
    expect(rows.every((r) => r.status === 'succeeded')).toBe(true);
    const ran = marks().filter((m) => ids.map(String).includes(m));
    expect(new Set(ran).size).toBe(60);
    expect(ran).toHaveLength(60);
    expect(w.output()).toContain('broker connection lost; reconnecting');
    expect(w.output().match(/consuming executions/g)?.length).toBeGreaterThanOrEqual(2);
    w.proc.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  });

  it('dead-letters poison messages with the reason, and keeps going', async () => {
    const w = startWorker('poison-1');
    await w.port();
    const connection = await amqp.connect(AMQP_URL);
    const channel = await connection.createConfirmChannel();
    const bodies = ['not json at all', '{"execution_id":"abc"}', '[1,2]', '{"execution_id":999999999}'];
    for (const body of bodies) {
      channel.publish(BROKER.exchange, 'execution', Buffer.from(body), { persistent: true });
    }
    await channel.waitForConfirms();
    const ids = await enqueue('svcpack.mark', 3);
    await waitUntil('good ones done', () => allTerminal(ids));
    const dead: Array<{ body: string; reason: unknown }> = [];
    await waitUntil('4 dead letters', async () => {
      const msg = await channel.get(BROKER.deadLetterQueue, { noAck: true });
      if (msg)
        dead.push({ body: msg.content.toString(), reason: msg.properties.headers?.['x-attune-reason'] });
      return dead.length >= 4;
    });
    expect(Object.fromEntries(dead.map((d) => [d.body, d.reason]))).toEqual({
      'not json at all': 'the message body is not JSON',
      '{"execution_id":"abc"}': 'execution_id is missing or not a positive integer',
      '[1,2]': 'the message is not a JSON object',
      '{"execution_id":999999999}': 'no execution with id 999999999',
    });
    const main = await channel.checkQueue(BROKER.queue);
    expect(main.messageCount).toBe(0);
    await connection.close();
    w.proc.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  });

  it('drains on SIGTERM: in-flight executions finish, then it exits 0', async () => {
    const w = startWorker('drain-1', { ATTUNE__WORKER__SHUTDOWN_GRACE_MS: '20000' });
    await w.port();
    const ids = await enqueue('svcpack.slow', 3);
    await waitUntil(
      'running',
      async () => (await statuses(ids)).filter((r) => r.status === 'running').length === 3,
    );
    w.proc.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    expect((await statuses(ids)).map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(w.output()).toContain('worker stopping: no new executions');
  });

  it('stops what outlives the grace period, records it cancelled, and exits 0', async () => {
    const w = startWorker('drain-2', {
      ATTUNE__WORKER__SHUTDOWN_GRACE_MS: '200',
      ATTUNE__WORKER__KILL_GRACE_MS: '200',
    });
    await w.port();
    const ids = await enqueue('svcpack.slow', 2);
    await waitUntil(
      'running',
      async () => (await statuses(ids)).filter((r) => r.status === 'running').length === 2,
    );
    w.proc.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    expect(
      (await statuses(ids)).map((r) => r.status),
      w.output(),
    ).toEqual(['cancelled', 'cancelled']);
  });

  it('settles as abandoned an execution whose outcome could not be stored, though its worker lives on', async () => {
    const env = {
      DATABASE_URL: db.url as string,
      ...ISOLATED.env,
      ATTUNE__WORKER__ID: 'dbfail-1',
      ATTUNE__WORKER__HEARTBEAT_INTERVAL_MS: '300',
      ATTUNE__WORKER__STALE_AFTER_MS: '1500',
      ATTUNE__WORKER__HTTP_PORT: '-1',
      ATTUNE__WORKER__PASSTHROUGH_ENV: 'MARK_FILE',
      ATTUNE__WORKER__ISOLATION: 'none',
      ATTUNE__WORKER__SCRATCH_DIR: TEST_SCRATCH_BASE,
    };
    const config = loadWorkerConfig({ env });
    // The database "fails" once, exactly when the outcome is stored.
    let failures = 0;
    const failing: SqlExecutor = {
      ...db.sql,
      query: (text, params, name) =>
        name === 'attune_finish_execution' && failures++ === 0
          ? Promise.reject(Object.assign(new Error('connection terminated'), { code: '57P01' }))
          : db.sql.query(text, params, name),
    };
    const flaky = { ...db, sql: failing };
    const logger = pino({ level: 'silent' });
    const worker = await createExecutor({
      config,
      db: flaky,
      keyring: Keyring.of(undefined),
      logger,
      parentEnv: { PATH: process.env.PATH, MARK_FILE: markFile },
    });
    const service = new WorkerService({ config, db: flaky, executor: worker.executor, logger });
    await service.start();
    try {
      const ids = await enqueue('svcpack.mark', 1);
      const rows = await waitUntil('abandoned', async () => {
        const r = await statuses(ids);
        return r[0]?.status === 'abandoned' ? r : undefined;
      });
      expect(rows[0]?.workerId).toBe('dbfail-1');
      expect(failures).toBeGreaterThanOrEqual(1);
    } finally {
      await service.stop();
      await worker.close();
    }
  });

  it('refuses a second live worker with the same id, and bad configuration, with clear messages', async () => {
    const first = startWorker('same-id');
    await first.port();
    const second = startWorker('same-id');
    expect(await second.exited).toBe(1);
    expect(second.output()).toMatch(/Worker id same-id is in use by pid \d+/);
    first.proc.kill('SIGTERM');
    await first.exited;
    const bad = startWorker('bad-config', {
      ATTUNE__WORKER__CONCURRENCY: 'lots',
      ATTUNE__SECURITY__ENCRYPTION_KEY: 'short-key-value',
    });
    expect(await bad.exited).toBe(2);
    expect(bad.output()).toMatch(/Configuration (worker\.concurrency|security\.encryption_key)/);
    expect(bad.output()).not.toContain('short-key-value');
  });
});
