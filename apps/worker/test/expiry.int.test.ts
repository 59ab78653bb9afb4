/**
 * Secret expiry (issue 16, point 5): a secret past its expiry (and past `secrets.expiry_grace`) is not delivered —
 * nor is a less specific one it overrides delivered instead — and the execution says which and when it expired
 * (`secret_expired`); a `required` one fails the execution before the action starts; within the grace period it is
 * delivered, with a warning; one not yet expired is delivered as any other. Each refusal and grace delivery is in the
 * audit log, as the worker, never with a value, and expiry deletes nothing. Real actions (Python and shell) in the
 * host's sandbox; time is moved on by setting a secret's `expires_at` in the past.
 */
import { rmSync } from 'node:fs';
import { AuditLog } from '@attune/audit';
import { EncryptionKey } from '@attune/crypto';
import { createTestDatabase, type TestDatabase } from '@attune/db/testing';
import { ExecutionStore } from '@attune/executions';
import { registerPack } from '@attune/registry';
import type { CreateKeyInput } from '@attune/secrets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionSandbox } from '../src/sandbox/sandbox.js';
import { DirectSpawner } from '../src/spawner.js';
import { runOnce } from './support/executor.js';
import { readablePackRoot, testSandbox } from './support/isolation.js';
import { writeTestPack } from './support/packs.js';
import { keyService, testActor } from './support/services.js';

const key = EncryptionKey.fromPassword('expiry-test-password-0123456789abcdefgh');
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const WORKER = { type: 'worker', id: 'test-worker', name: 'test-worker' };
// Each action prints a marker that it ran, the names of the SECRET_ variables it sees, then each as NAME=value: the
// values must come out masked, and those it must not get must not come out at all.
const NAMES_PY =
  'import json, os, sys\nsys.stdin.read()\nnames = sorted(k for k in os.environ if k.startswith("SECRET_"))\n' +
  'print("ran"); print(json.dumps(names))\nfor k in names: print(k + "=" + os.environ[k])\n';
const NAMES_SH =
  '#!/bin/sh\ncat >/dev/null\necho ran\nenv | grep -o "^SECRET_[A-Z0-9_]*" | sort | tr "\\n" " "; echo\n' +
  'env | grep "^SECRET_" | sort\n';
const RUNNERS = ['py', 'sh'] as const;

let db: TestDatabase;
let sandbox: ActionSandbox;
let root: string;
const spawner = new DirectSpawner();
/** Every value written, for the final search of the audit log and the stored executions. */
const values: string[] = [];
/** The refusals and grace deliveries the audit log must hold, as [ref, execution id]. */
const refused: Array<[string, string]> = [];
const delivered: Array<[string, string]> = [];
/** Secrets left expired, with their value: expiry must not have deleted them. */
const leftExpired: Array<{ ref: string; value: string }> = [];

/** The SECRET_ variable names an action printed (Python: a JSON list; shell: space-separated). */
function namesSeen(stdout: string): string[] {
  const line = stdout.split('\n')[1] ?? '';
  return line.startsWith('[') ? (JSON.parse(line) as string[]) : line.trim().split(/\s+/).filter(Boolean);
}

/** Those of one case (`SECRET_<CASE>_…`): system-level secrets of the other cases reach every action. */
const namesOf = (stdout: string, prefix: string) => namesSeen(stdout).filter((n) => n.startsWith(prefix));
/** The secrets an execution received, but those at system level (see {@link namesOf}). */
const notSystem = <T extends { level: string }>(secrets: readonly T[]) =>
  secrets.filter((s) => s.level !== 'system');

/** Creates a secret (encrypted), expiring at `expiresAt` if given. */
async function create(
  owner: CreateKeyInput['owner'],
  name: string,
  expiresAt?: Date,
): Promise<{ ref: string; value: string }> {
  const value = `${name}-${owner.type}-value-0123456789`;
  const record = await keyService(db, key).create(testActor, {
    owner,
    name,
    value,
    encrypted: true,
    ...(expiresAt ? { expiresAt } : {}),
  });
  values.push(value);
  return { ref: record.ref, value };
}

/** What time does to a secret: its current value (and that version) expired `ago` milliseconds ago. */
async function age(ref: string, ago: number): Promise<Date> {
  await db.sql.query(
    `WITH k AS (UPDATE "attune"."key" SET expires_at = now() - $2::int * interval '1 millisecond'
                WHERE ref = $1 RETURNING id, current_version, expires_at)
     UPDATE "attune"."key_version" v SET expires_at = k.expires_at FROM k
     WHERE v.key_id = k.id AND v.version = k.current_version`,
    [ref, ago],
  );
  const expiresAt = (await keyService(db, key).get(testActor, ref)).expiresAt;
  if (!expiresAt || expiresAt.getTime() > Date.now()) throw new Error(`${ref} did not expire`);
  return expiresAt;
}

const tomorrow = () => new Date(Date.now() + DAY);

/** Runs the action to its end; the outcome, and the execution as stored. */
async function run(actionRef: string, expiryGraceMs = 0) {
  const outcome = await runOnce({ db, sandbox, spawner, key }, actionRef, { expiryGraceMs });
  const stored = await new ExecutionStore(db.sql).get(outcome.id);
  if (!stored) throw new Error(`execution ${outcome.id} was not stored`);
  return { outcome, stored };
}

/** The audit events of `action` about `ref`, oldest first. */
async function events(ref: string, action: 'key.expired_refused' | 'key.expired_delivered') {
  return (await new AuditLog().list({ ref, action }, db.sql)).reverse();
}

beforeAll(async () => {
  db = await createTestDatabase();
  sandbox = await testSandbox('auto');
  root = readablePackRoot('expiry');
  // A pack per case and runner, each with one action: a pack-level secret of one case is not seen by another.
  for (const runner of RUNNERS) {
    const code = runner === 'py' ? NAMES_PY : NAMES_SH;
    const action = (extra = '') => ({
      show: { runner: runner === 'py' ? 'python' : 'shell', file: `show.${runner}`, code, extra } as const,
    });
    for (const name of ['lapsed', 'grace', 'fresh'])
      await registerPack(db.prisma, writeTestPack(root, `${name}_${runner}`, action()));
    await registerPack(
      db.prisma,
      writeTestPack(
        root,
        `required_${runner}`,
        action(`secrets:\n  - name: required_${runner}_token\n    required: true\n`),
      ),
    );
  }
});

afterAll(async () => {
  await spawner.close();
  if (root) rmSync(root, { recursive: true, force: true });
  await sandbox?.scratch.close();
  await db?.drop();
});

describe('secret expiry', () => {
  for (const runner of RUNNERS)
    it(`does not give ${runner} an expired secret, nor what it overrides, and says when it expired`, async () => {
      const pack = `lapsed_${runner}`;
      const actionRef = `${pack}.show`;
      const name = `lapsed_${runner}_token`;
      const envName = `SECRET_${name.toUpperCase()}`;
      // Python: an action-level secret overriding pack- and system-level ones; shell: a pack-level one over a system one.
      const overridden = [await create({ type: 'system' }, name)];
      let expired: { ref: string; value: string };
      if (runner === 'py') {
        overridden.push(await create({ type: 'pack', pack }, name));
        expired = await create({ type: 'action', action: actionRef }, name, tomorrow());
      } else {
        expired = await create({ type: 'pack', pack }, name, tomorrow());
      }
      const other = await create({ type: 'pack', pack }, `lapsed_${runner}_other`, tomorrow());
      // Before it expires, the action gets it.
      const before = await run(actionRef);
      expect(before.outcome.status, before.outcome.stderr).toBe('succeeded');
      expect(namesSeen(before.outcome.stdout)).toContain(envName);
      expect(before.outcome.stdout).toContain(`${envName}=***`);
      expect(before.outcome.secrets.find((s) => s.envName === envName)?.ref).toBe(expired.ref);

      const expiresAt = await age(expired.ref, MINUTE);
      const { outcome, stored } = await run(actionRef);
      refused.push([expired.ref, outcome.id]);
      leftExpired.push(expired);
      expect(outcome.status, outcome.stderr).toBe('succeeded');
      expect(outcome.stdout.split('\n')[0]).toBe('ran');
      const seen = namesSeen(outcome.stdout);
      expect(seen).toContain(`SECRET_LAPSED_${runner.toUpperCase()}_OTHER`);
      expect(seen).not.toContain(envName);
      for (const { value } of [expired, ...overridden]) expect(outcome.stdout).not.toContain(value);
      expect(outcome.stdout).not.toContain(`${envName}=`);
      // The warning: which, when, and what was withheld with it.
      const expiries = outcome.warnings.filter((w) => w.kind === 'secret_expired');
      expect(expiries.map((w) => w.ref)).toEqual([expired.ref]);
      const message = expiries[0]?.message ?? '';
      expect(message).toContain(
        `Key '${expired.ref}' expired at ${expiresAt.toISOString()}; it is not delivered.`,
      );
      expect(message).toContain(
        `Less specific keys for ${envName} (${overridden.map((o) => o.ref).join(', ')})`,
      );
      expect(message).toContain('withheld too');
      expect(outcome.warnings.filter((w) => w.kind !== 'secret_expired')).toEqual([]);
      // Provenance: what the action received, and only that.
      const refs = outcome.secrets.map((s) => s.ref);
      expect(refs).toContain(other.ref);
      for (const ref of [expired.ref, ...overridden.map((o) => o.ref)]) expect(refs).not.toContain(ref);
      expect(outcome.secrets.map((s) => s.envName)).not.toContain(envName);
      // As stored.
      expect(stored.status).toBe('succeeded');
      expect(stored.secrets.map((s) => s.ref)).toEqual(refs);
      expect(stored.secrets.map((s) => s.env_name)).not.toContain(envName);
      expect(stored.warnings).toEqual(outcome.warnings);
      // The refusal, in the audit log, as the worker.
      const audit = await events(expired.ref, 'key.expired_refused');
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ actor: WORKER, outcome: 'refused', ref: expired.ref, version: 1 });
      expect(audit[0]?.detail).toEqual({
        reason: 'expired',
        expires_at: expiresAt.toISOString(),
        execution_id: outcome.id,
        action: actionRef,
      });
      for (const o of overridden) expect(await events(o.ref, 'key.expired_refused')).toEqual([]);
    });

  for (const runner of RUNNERS)
    it(`fails a ${runner} execution whose required secret expired, before the action starts`, async () => {
      const pack = `required_${runner}`;
      const actionRef = `${pack}.show`;
      const name = `required_${runner}_token`;
      const envName = `SECRET_${name.toUpperCase()}`;
      const owner: CreateKeyInput['owner'] =
        runner === 'py' ? { type: 'action', action: actionRef } : { type: 'pack', pack };
      const secret = await create(owner, name, tomorrow());
      const expiresAt = await age(secret.ref, MINUTE);
      const { outcome, stored } = await run(actionRef);
      refused.push([secret.ref, outcome.id]);
      expect(outcome.status).toBe('failed');
      expect(outcome.stdout).toBe(''); // never started: it would have printed "ran"
      expect(outcome.exitCode).toBeNull();
      expect(outcome.stderr).toContain(
        `${actionRef} was not started: a secret it requires is missing or unusable — ${secret.ref} (${envName}) cannot be used (expired at ${expiresAt.toISOString()})`,
      );
      expect(outcome.stderr).not.toContain(secret.value);
      expect(outcome.warnings.map((w) => w.kind)).toEqual(['secret_required']);
      expect(outcome.secrets).toEqual([]);
      expect(stored).toMatchObject({ status: 'failed', stdout: '', exitCode: null, secrets: [] });
      expect(stored.stderr).toContain(`cannot be used (expired at ${expiresAt.toISOString()})`);
      const audit = await events(secret.ref, 'key.expired_refused');
      expect(audit.map((e) => [e.actor, e.outcome, e.detail.reason, e.detail.execution_id])).toEqual([
        [WORKER, 'refused', 'expired', outcome.id],
      ]);
      // A new value (without an expiry) and it runs, with it.
      const next = `${name}-renewed-value-0123456789`;
      values.push(next);
      const renewed = await keyService(db, key).update(testActor, secret.ref, { value: next });
      expect(renewed).toMatchObject({ version: 2, expiresAt: null });
      const now = await run(actionRef);
      expect(now.outcome.status, now.outcome.stderr).toBe('succeeded');
      expect(namesOf(now.outcome.stdout, 'SECRET_REQUIRED_')).toEqual([envName]);
      expect(now.outcome.stdout).toContain(`${envName}=***`);
      expect(now.outcome.warnings).toEqual([]);
      // The expired value is still there, as version 1.
      const first = await keyService(db, key).versions.get(testActor, secret.ref, 1, { decrypt: true });
      expect(first.value).toBe(secret.value);
      expect(first.expiresAt?.toISOString()).toBe(expiresAt.toISOString());
    });

  for (const runner of RUNNERS)
    it(`gives ${runner} an expired secret within the grace period, with a warning, and not after it`, async () => {
      const pack = `grace_${runner}`;
      const actionRef = `${pack}.show`;
      const name = `grace_${runner}_token`;
      const envName = `SECRET_${name.toUpperCase()}`;
      const secret = await create({ type: 'pack', pack }, name, tomorrow());
      const expiresAt = await age(secret.ref, HOUR);
      // An hour late, with a day's grace: delivered, masked, flagged.
      const { outcome, stored } = await run(actionRef, DAY);
      delivered.push([secret.ref, outcome.id]);
      expect(outcome.status, outcome.stderr).toBe('succeeded');
      expect(namesOf(outcome.stdout, 'SECRET_GRACE_')).toEqual([envName]);
      expect(outcome.stdout).toContain(`${envName}=***`);
      expect(outcome.stdout).not.toContain(secret.value);
      expect(outcome.warnings).toEqual([
        {
          kind: 'secret_expired',
          ref: secret.ref,
          message: expect.stringContaining(`Key '${secret.ref}' expired at ${expiresAt.toISOString()};`),
        },
      ]);
      expect(outcome.warnings[0]?.message).toContain('delivered only within the grace period');
      expect(notSystem(outcome.secrets).map((s) => [s.ref, s.version])).toEqual([[secret.ref, 1]]);
      expect(notSystem(stored.secrets).map((s) => s.ref)).toEqual([secret.ref]);
      expect(stored.warnings).toEqual(outcome.warnings);
      const audit = await events(secret.ref, 'key.expired_delivered');
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ actor: WORKER, outcome: 'ok', ref: secret.ref, version: 1 });
      expect(audit[0]?.detail).toEqual({
        expires_at: expiresAt.toISOString(),
        execution_id: outcome.id,
        action: actionRef,
      });
      expect(await events(secret.ref, 'key.expired_refused')).toEqual([]);

      // The same hour late, without a grace period: not delivered.
      const strict = await run(actionRef, 0);
      refused.push([secret.ref, strict.outcome.id]);
      expect(strict.outcome.status, strict.outcome.stderr).toBe('succeeded');
      expect(namesOf(strict.outcome.stdout, 'SECRET_GRACE_')).toEqual([]);
      expect(strict.outcome.warnings.map((w) => [w.kind, w.ref])).toEqual([['secret_expired', secret.ref]]);

      // Two days late, past a day's grace: not delivered.
      const later = await age(secret.ref, 2 * DAY);
      const past = await run(actionRef, DAY);
      refused.push([secret.ref, past.outcome.id]);
      leftExpired.push(secret);
      expect(past.outcome.status, past.outcome.stderr).toBe('succeeded');
      expect(past.outcome.stdout.split('\n')[0]).toBe('ran');
      expect(namesOf(past.outcome.stdout, 'SECRET_GRACE_')).toEqual([]);
      expect(past.outcome.stdout).not.toContain(secret.value);
      expect(notSystem(past.outcome.secrets)).toEqual([]);
      expect(notSystem(past.stored.secrets)).toEqual([]);
      expect(past.outcome.warnings).toEqual([
        {
          kind: 'secret_expired',
          ref: secret.ref,
          message: expect.stringContaining(
            `Key '${secret.ref}' expired at ${later.toISOString()} (past the grace period); it is not delivered.`,
          ),
        },
      ]);
      const refusals = await events(secret.ref, 'key.expired_refused');
      expect(refusals.map((e) => [e.detail.execution_id, e.detail.expires_at])).toEqual([
        [strict.outcome.id, expiresAt.toISOString()],
        [past.outcome.id, later.toISOString()],
      ]);
      // No more grace deliveries than the one.
      expect(await events(secret.ref, 'key.expired_delivered')).toHaveLength(1);
    });

  for (const runner of RUNNERS)
    it(`gives ${runner} a secret that expires tomorrow as any other, without a warning`, async () => {
      const pack = `fresh_${runner}`;
      const actionRef = `${pack}.show`;
      const name = `fresh_${runner}_token`;
      const envName = `SECRET_${name.toUpperCase()}`;
      const secret = await create({ type: 'pack', pack }, name, tomorrow());
      const { outcome, stored } = await run(actionRef, DAY);
      expect(outcome.status, outcome.stderr).toBe('succeeded');
      expect(namesSeen(outcome.stdout)).toContain(envName);
      expect(outcome.stdout).toContain(`${envName}=***`);
      expect(outcome.stdout).not.toContain(secret.value);
      expect(outcome.warnings).toEqual([]);
      expect(stored.warnings).toEqual([]);
      expect(outcome.secrets.find((s) => s.envName === envName)).toMatchObject({
        ref: secret.ref,
        version: 1,
      });
      expect(stored.secrets.map((s) => s.ref)).toContain(secret.ref);
      expect(await events(secret.ref, 'key.expired_refused')).toEqual([]);
      expect(await events(secret.ref, 'key.expired_delivered')).toEqual([]);
    });

  it('records no grace delivery for an execution that never starts (another required secret is missing)', async () => {
    await registerPack(
      db.prisma,
      writeTestPack(root, 'mixed_sh', {
        show: {
          runner: 'shell',
          file: 'show.sh',
          code: NAMES_SH,
          extra: 'secrets:\n  - name: mixed_missing\n    required: true\n  - mixed_grace\n',
        },
      }),
    );
    const secret = await create({ type: 'pack', pack: 'mixed_sh' }, 'mixed_grace', tomorrow());
    await age(secret.ref, HOUR);
    const { outcome } = await run('mixed_sh.show', DAY);
    expect(outcome.status).toBe('failed');
    expect(outcome.stdout).toBe('');
    expect(outcome.stderr).toContain("'mixed_missing' (SECRET_MIXED_MISSING) is not set");
    expect(await events(secret.ref, 'key.expired_delivered')).toEqual([]);
    leftExpired.push(secret);
  });

  it('records every refusal and grace delivery in the audit log as the worker, and no value anywhere', async () => {
    expect(refused.length).toBeGreaterThan(0);
    expect(delivered.length).toBeGreaterThan(0);
    const log = new AuditLog();
    const refusals = await log.list({ action: 'key.expired_refused', limit: 1000 }, db.sql);
    expect(refusals.map((e) => [e.ref, e.detail.execution_id]).sort()).toEqual([...refused].sort());
    for (const e of refusals) {
      expect(e.actor).toEqual(WORKER);
      expect(e.outcome).toBe('refused');
      expect(e.detail.reason).toBe('expired');
      expect(Date.parse(String(e.detail.expires_at))).toBeLessThan(Date.now());
    }
    const deliveries = await log.list({ action: 'key.expired_delivered', limit: 1000 }, db.sql);
    expect(deliveries.map((e) => [e.ref, e.detail.execution_id]).sort()).toEqual([...delivered].sort());
    for (const e of deliveries) expect(e).toMatchObject({ actor: WORKER, outcome: 'ok' });
    // Not a value in any event, nor in any stored execution (output, warnings, provenance).
    const everything = JSON.stringify(await log.list({ limit: 1000 }, db.sql));
    expect(everything).toContain('key.expired_refused'); // the search reads the events
    const executions = await db.sql.query<{ row: string }>(
      `SELECT row_to_json(e)::text AS row FROM "attune"."execution" e`,
    );
    expect(executions.length).toBeGreaterThanOrEqual(refused.length);
    const stored = executions.map((e) => e.row).join('\n');
    expect(stored).toContain('secret_expired');
    expect(values.length).toBeGreaterThan(0);
    for (const value of values) {
      expect(everything).not.toContain(value);
      expect(stored).not.toContain(value);
    }
  });

  it('deletes nothing: an expired secret keeps its value, listed as expired', async () => {
    expect(leftExpired.length).toBe(2 * RUNNERS.length + 1);
    const keys = keyService(db, key);
    for (const { ref, value } of leftExpired) {
      const record = await keys.get(testActor, ref, { decrypt: true });
      expect(record.value).toBe(value);
      expect(record.deletedAt).toBeNull();
      expect(record.expiresAt?.getTime()).toBeLessThan(Date.now());
    }
    const listed = (await keys.list(testActor, { expired: true, perPage: 1000 })).items.map((k) => k.ref);
    expect(listed.sort()).toEqual(leftExpired.map((s) => s.ref).sort());
  });
});
