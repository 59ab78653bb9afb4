import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AuditLog } from '@attune/audit';
import { type Actor, silentLogger } from '@attune/core';
import { sqlOf } from '@attune/db';
import { createTestDatabase, type TestDatabase } from '@attune/db/testing';
import { ActionNotFoundError, InvalidParametersError, PackStore, registerPack } from '@attune/registry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EnqueueFailedError,
  ExecutionNotFoundError,
  type ExecutionRequestMessage,
  ExecutionService,
  ExecutionStore,
  InvalidExecutionIdError,
  toExecutionResource,
  WARNING_KINDS,
  WorkerStore,
} from '../src/index.js';

const EXAMPLES = fileURLToPath(new URL('../../../packs/examples', import.meta.url));
const actor: Actor = { type: 'cli', id: 'tester@test', name: 'tester@test' };
let db: TestDatabase;
let executions: ExecutionStore;
let published: ExecutionRequestMessage[];
let service: ExecutionService;

beforeAll(async () => {
  db = await createTestDatabase();
  const dir = join(mkdtempSync(join(tmpdir(), 'attune-exec-')), 'examples');
  cpSync(EXAMPLES, dir, { recursive: true });
  await registerPack(db.prisma, dir);
  executions = new ExecutionStore(db.sql);
  published = [];
  service = new ExecutionService({
    executions,
    actions: new PackStore(db.prisma),
    publish: async (message) => {
      published.push(message);
    },
    logger: silentLogger(),
  });
});
afterAll(async () => {
  await db?.drop();
});

const count = async () =>
  Number((await db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM attune.execution'))[0]?.n);

describe('execution requests', () => {
  it('records each request in the audit log in the statement that creates it, or creates nothing', async () => {
    const id = String(await service.request(actor, 'examples.check', {}));
    const [event] = await new AuditLog().list({ action: 'execution.requested', limit: 1 }, db.sql);
    expect(event).toMatchObject({
      ref: 'examples.check',
      actor: { name: actor.name },
      detail: { execution: id },
    });
    const before = await count();
    await db.sql.exec(`CREATE FUNCTION attune.test_audit_down() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'audit storage down'; END $$;
      CREATE TRIGGER test_audit_down BEFORE INSERT ON attune.audit_event FOR EACH ROW EXECUTE FUNCTION attune.test_audit_down();`);
    try {
      await expect(service.request(actor, 'examples.check', {})).rejects.toMatchObject({
        code: 'ATTUNE_AUDIT_WRITE_FAILED',
        category: 'unavailable',
      });
    } finally {
      await db.sql.exec(
        'DROP TRIGGER test_audit_down ON attune.audit_event; DROP FUNCTION attune.test_audit_down();',
      );
    }
    expect(await count()).toBe(before);
  });

  it('validates parameters against the action, fills defaults, and names the parameter at fault', async () => {
    const id = await service.request(actor, 'examples.check', {});
    expect(published.at(-1)).toEqual({ execution_id: Number(id), action_ref: 'examples.check' });
    const record = await service.get(actor, id);
    expect(record).toMatchObject({
      status: 'requested',
      actionRef: 'examples.check',
      parameters: { host: 'db.internal' },
    });
    await expect(service.request(actor, 'examples.check', { host: 5 })).rejects.toThrow(
      "'host' must be of type string",
    );
    await expect(service.request(actor, 'examples.check', { hots: 'x' })).rejects.toThrow(
      InvalidParametersError,
    );
    await expect(service.request(actor, 'no.such', {})).rejects.toThrow(ActionNotFoundError);
    // What the database or an action's stdin cannot carry is refused, naming the parameter — never a 500 later.
    const before = await count();
    for (const [params, message] of [
      [{ host: 'a\0b' }, "'host' holds a NUL character"],
      [{ host: 'a\uD800b' }, "'host' holds an unpaired UTF-16 surrogate"],
      [{ host: 'x'.repeat(70_000) }, "'(all)' are 70011 bytes; at most 65536"],
      [{ constructor: 'x' }, "'constructor' is not a parameter of this action"],
      [{ toString: 'x' }, "'toString' is not a parameter of this action"],
    ] as const) {
      await expect(service.request(actor, 'examples.check', params)).rejects.toThrow(message);
    }
    expect(await count()).toBe(before);
  });

  it('marks an execution failed with enqueue_failed when the broker refuses it', async () => {
    const down = new ExecutionService({
      executions,
      actions: new PackStore(db.prisma),
      publish: async () => {
        throw new Error('broker down');
      },
      logger: silentLogger(),
    });
    const error = await down.request(actor, 'examples.check', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EnqueueFailedError);
    const record = await service.get(actor, (error as EnqueueFailedError).executionId);
    expect(record.status).toBe('failed');
    expect(record.finishedAt).toBeInstanceOf(Date);
    expect(record.warnings).toEqual([
      { kind: 'enqueue_failed', message: 'The execution could not be published to the broker.' },
    ]);
  });

  it('refuses ids that cannot be one, and says which do not exist', async () => {
    for (const id of ['0', '-1', 'abc', '1.5', '01'])
      await expect(service.get(actor, id)).rejects.toThrow(InvalidExecutionIdError);
    await expect(service.get(actor, '9223372036854775808')).rejects.toThrow('above the largest id');
    await expect(service.get(actor, '9223372036854775807')).rejects.toThrow(ExecutionNotFoundError);
  });
});

describe('execution store', () => {
  it('lets one worker claim an execution, stores its end once, and shows it in the wire shape', async () => {
    const id = String(await service.create(actor, 'examples.check', { host: 'h1' }));
    const [first, second] = await Promise.all([
      executions.claim(id, 'worker-a'),
      executions.claim(id, 'worker-b'),
    ]);
    const claimed = first ?? second;
    expect([first, second].filter(Boolean)).toHaveLength(1);
    expect(claimed).toMatchObject({
      id,
      action_ref: 'examples.check',
      runner_type: 'shell',
      pack_ref: 'examples',
    });
    const winner = first ? 'worker-a' : 'worker-b';
    const ending = {
      status: 'succeeded' as const,
      exitCode: 0,
      durationMs: 12,
      stdout: 'ok\n',
      stderr: '',
      stdoutTruncated: false,
      stderrTruncated: false,
      result: { ok: true },
      warnings: [],
      secrets: [{ env_name: 'SECRET_API_KEY', ref: 'examples.api_key', level: 'pack' as const, version: 3 }],
    };
    expect(await executions.finish(id, first ? 'worker-b' : 'worker-a', ending)).toBe(false);
    expect(await executions.finish(id, winner, ending)).toBe(true);
    expect(await executions.finish(id, winner, ending)).toBe(false);
    const wire = toExecutionResource(await service.get(actor, id));
    expect(wire).toMatchObject({
      id,
      action_ref: 'examples.check',
      status: 'succeeded',
      parameters: { host: 'h1' },
      result: { ok: true },
      stdout: 'ok\n',
      exit_code: 0,
      duration_ms: 12,
      worker_id: winner,
      warnings: [],
      secrets: [{ env_name: 'SECRET_API_KEY', ref: 'examples.api_key', level: 'pack', version: 3 }],
    });
    expect(wire.finished_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    const waited = await service.waitFor(actor, id, { timeoutMs: 1000 });
    expect(waited?.status).toBe('succeeded');
  });

  it('abandons what dead, restarted or unsettled workers had running, with a worker_lost warning', async () => {
    const workers = new WorkerStore(db.sql);
    await workers.register({ id: 'live', hostname: 'h', pid: 1, concurrency: 1 });
    await workers.register({ id: 'dead', hostname: 'h', pid: 2, concurrency: 1 });
    await workers.setStatus('dead', 'stopped');
    const ids: string[] = [];
    for (const worker of ['live', 'dead', 'live', 'live']) {
      const id = String(await service.create(actor, 'examples.check', {}));
      await executions.claim(id, worker);
      ids.push(id);
    }
    const [ofLive, ofDead, orphan, unsettled] = ids as [string, string, string, string];
    const reaped = await executions.abandonOfDeadWorkers(30);
    expect(reaped.map((r) => r.id)).toContain(ofDead);
    expect(reaped.map((r) => r.id)).not.toContain(ofLive);
    expect(await executions.abandonUnsettled([unsettled], 'live')).toEqual([unsettled]);
    expect(await executions.abandonUnsettled([unsettled], 'live')).toEqual([]);
    const orphans = await executions.abandonOrphans('live');
    expect(orphans.sort()).toEqual([ofLive, orphan].sort());
    for (const id of ids) {
      const record = await service.get(actor, id);
      expect(record.status).toBe('abandoned');
      expect(record.warnings.map((w) => w.kind)).toEqual(['worker_lost']);
      expect(WARNING_KINDS).toContain(record.warnings[0]?.kind);
    }
    expect(await service.waitFor(actor, ofLive, { timeoutMs: 0 })).toMatchObject({ status: 'abandoned' });
  });

  it('joins a Prisma transaction, so an execution commits or rolls back with a Prisma store’s rows', async () => {
    const before = await count();
    const attempt = (fail: boolean) =>
      db.prisma.$transaction(async (tx) => {
        const id = await executions.create(
          { actionId: 1, actionRef: 'examples.check', parameters: { n: 1 } },
          sqlOf(tx),
        );
        await tx.pack.create({ data: { ref: `together${id}`, label: 'x', version: '1' } });
        await executions.markEnqueueFailed(id, sqlOf(tx));
        if (fail) throw new Error('roll back');
        return id;
      });
    await expect(attempt(true)).rejects.toThrow('roll back');
    expect(await count()).toBe(before);
    const id = await attempt(false);
    expect((await service.get(actor, id)).status).toBe('failed');
    expect(await db.prisma.pack.count({ where: { ref: `together${id}` } })).toBe(1);
  });

  it('commits a change with the caller’s transaction, or not at all', async () => {
    const before = await count();
    await db.sql
      .withSession((session) =>
        session.transaction(async (tx) => {
          await executions.create({ actionId: 1, actionRef: 'examples.check', parameters: {} }, tx);
          throw new Error('roll back');
        }),
      )
      .catch(() => undefined);
    expect(await count()).toBe(before);
  });
});

describe('worker store', () => {
  it('registers, heartbeats and stops a worker', async () => {
    const workers = new WorkerStore(db.sql);
    expect(await workers.find('w-store')).toBeNull();
    await workers.register({ id: 'w-store', hostname: 'host1', pid: 42, concurrency: 2 });
    await workers.heartbeat('w-store');
    expect(await workers.find('w-store')).toMatchObject({ hostname: 'host1', pid: 42, status: 'running' });
    await workers.setStatus('w-store', 'draining');
    expect((await workers.find('w-store'))?.status).toBe('draining');
    await workers.setStatus('w-store', 'stopped');
    expect((await workers.find('w-store'))?.status).toBe('stopped');
  });
});
