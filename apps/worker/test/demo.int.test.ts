/**
 * `pnpm demo` never changes data it did not create: on PostgreSQL it refuses a database holding someone else's
 * Attune data (the seed's own example name, system.api_key, is one the demo writes too), and without DATABASE_URL it
 * uses an embedded database of its own, never the default one `attune api` uses.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EncryptionKey } from '@attune/crypto';
import { createTestDatabase, type TestDatabase } from '@attune/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_SCRATCH_BASE } from './support/isolation.js';
import { keyService, testActor } from './support/services.js';

const DEMO = fileURLToPath(new URL('../dist/demo-main.js', import.meta.url));
const dirs: string[] = [];
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  await db?.drop();
});

function demo(env: Record<string, string>, cwd: string) {
  const run = spawnSync(process.execPath, [DEMO], {
    cwd,
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/root',
      ATTUNE__WORKER__SCRATCH_DIR: TEST_SCRATCH_BASE,
      ...env,
    },
    timeout: 120_000,
  });
  return { status: run.status, out: `${run.stdout}${run.stderr}` };
}

function workDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'attune-demo-run-'));
  dirs.push(dir);
  return dir;
}

describe('pnpm demo', () => {
  it("refuses a database holding an operator's secrets, and changes nothing in it", async () => {
    const operatorKey = EncryptionKey.fromPassword('the-operators-real-encryption-key-0123456789');
    const keys = keyService(db, operatorKey);
    await keys.create(testActor, {
      owner: { type: 'system' },
      name: 'api_key',
      value: 'sk_live_the_operators_own',
      encrypted: true,
    });
    const before = await db.prisma.key.findUniqueOrThrow({ where: { ref: 'system.api_key' } });
    const run = demo({ DATABASE_URL: db.url as string }, workDir());
    expect(run.status, run.out).toBe(1);
    expect(run.out).toContain(
      'holds Attune data the demo did not create (1 key(s) it did not write or that changed since)',
    );
    expect(run.out).toContain('unset DATABASE_URL');
    const after = await db.prisma.key.findUniqueOrThrow({ where: { ref: 'system.api_key' } });
    expect(after.value).toEqual(before.value);
    expect(after.dataKeyId).toBe(before.dataKeyId);
    expect(after.currentVersion).toBe(1);
    expect(await db.prisma.key.count()).toBe(1);
  });

  it('runs on an empty PostgreSQL database, and again on the one it made', async () => {
    const empty = await createTestDatabase();
    try {
      const cwd = workDir();
      const first = demo({ DATABASE_URL: empty.url as string }, cwd);
      expect(first.status, first.out).toBe(0);
      expect(first.out).toContain('Database: PostgreSQL (DATABASE_URL)');
      expect(first.out).toContain('examples.check → succeeded');
      const second = demo({ DATABASE_URL: empty.url as string }, cwd);
      expect(second.status, second.out).toBe(0);
      // Someone then stores a real secret under a name the demo uses: the demo no longer touches this database.
      const real = EncryptionKey.fromPassword('the-operators-real-encryption-key-0123456789');
      const keys = keyService(empty, real);
      // (Plain: the demo's data keys are wrapped by its own throw-away key, which this operator does not hold.)
      await keys.set(testActor, {
        owner: { type: 'system' },
        name: 'api_key',
        value: 'sk_live_real_after_demo',
        encrypted: false,
      });
      const before = await empty.prisma.key.findUniqueOrThrow({ where: { ref: 'system.api_key' } });
      const third = demo({ DATABASE_URL: empty.url as string }, cwd);
      expect(third.status, third.out).toBe(1);
      expect(third.out).toContain('1 key(s) it did not write or that changed since');
      const after = await empty.prisma.key.findUniqueOrThrow({ where: { ref: 'system.api_key' } });
      expect(after.value).toEqual(before.value);
    } finally {
      await empty.drop();
    }
  });

  it('uses an embedded database of its own without DATABASE_URL, never the default one', () => {
    const cwd = workDir();
    const run = demo({}, cwd);
    expect(run.status, run.out).toBe(0);
    expect(run.out).toContain("embedded PGlite at ./.attune/demo (the demo's own)");
    expect(existsSync(join(cwd, '.attune', 'demo'))).toBe(true);
    expect(existsSync(join(cwd, '.attune', 'pglite'))).toBe(false);
  });
});
