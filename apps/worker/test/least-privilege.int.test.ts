/**
 * Least privilege (issue 16, points 1–2): under the `declared` policy an action receives only the secrets its
 * metadata declares — the others are neither fetched nor decrypted — and a `required` one that is missing or
 * unusable fails the execution before the action starts. Real actions (Python and shell) in the host's sandbox.
 */
import { rmSync } from 'node:fs';
import { EncryptionKey } from '@attune/crypto';
import { createTestDatabase, type TestDatabase } from '@attune/db/testing';
import { registerPack } from '@attune/registry';
import type { CreateKeyInput } from '@attune/secrets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionSandbox } from '../src/sandbox/sandbox.js';
import { DirectSpawner } from '../src/spawner.js';
import { runOnce } from './support/executor.js';
import { readablePackRoot, testSandbox } from './support/isolation.js';
import { writeTestPack } from './support/packs.js';
import { keyService, testActor } from './support/services.js';

const key = EncryptionKey.fromPassword('least-privilege-test-password-0123456789');
const otherKey = EncryptionKey.fromPassword('a-key-this-worker-does-not-hold-987654321');
// Each action prints the names of the SECRET_ variables it sees (never a value), and a marker that it ran.
const NAMES_PY =
  'import json, os, sys\nsys.stdin.read()\nprint("ran"); print(json.dumps(sorted(k for k in os.environ if k.startswith("SECRET_"))))\n';
const NAMES_SH =
  '#!/bin/sh\ncat >/dev/null\necho ran\nenv | grep -o "^SECRET_[A-Z0-9_]*" | sort | tr "\\n" " "; echo\n';

let db: TestDatabase;
let sandbox: ActionSandbox;
let root: string;
const spawner = new DirectSpawner();

function run(actionRef: string, policy: 'all' | 'declared' = 'all') {
  return runOnce({ db, sandbox, spawner, key }, actionRef, { secretsPolicy: policy });
}

/** The SECRET_ variable names an action printed (Python: a JSON list; shell: space-separated). */
function namesSeen(stdout: string): string[] {
  const line = stdout.split('\n')[1] ?? '';
  return line.startsWith('[') ? (JSON.parse(line) as string[]) : line.trim().split(/\s+/).filter(Boolean);
}

beforeAll(async () => {
  db = await createTestDatabase();
  sandbox = await testSandbox('auto');
  root = readablePackRoot('least-privilege');
  const declares = 'secrets:\n  - name: api_key\n    required: true\n  - optional_one\n';
  // A pack whose actions receive only what they declare, one of which says otherwise.
  await registerPack(
    db.prisma,
    writeTestPack(
      root,
      'lean',
      {
        names_py: { runner: 'python', file: 'names.py', code: NAMES_PY, extra: declares },
        names_sh: { runner: 'shell', file: 'names.sh', code: NAMES_SH, extra: declares },
        everything: {
          runner: 'python',
          file: 'names.py',
          code: NAMES_PY,
          extra: `${declares}secrets_policy: all\n`,
        },
        needs_token: {
          runner: 'shell',
          file: 'names.sh',
          code: NAMES_SH,
          extra: 'secrets:\n  - name: deploy_token\n    required: true\n',
        },
        needs_nul: {
          runner: 'shell',
          file: 'names.sh',
          code: NAMES_SH,
          extra: 'secrets:\n  - name: with_nul\n    required: true\n',
        },
        needs_locked: {
          runner: 'python',
          file: 'names.py',
          code: NAMES_PY,
          extra: 'secrets:\n  - name: locked\n    required: true\n',
        },
      },
      'secrets_policy: declared\n',
    ),
  );
  // A pack that says nothing: the worker's policy decides.
  await registerPack(
    db.prisma,
    writeTestPack(root, 'plain', {
      names_py: { runner: 'python', file: 'names.py', code: NAMES_PY, extra: declares },
    }),
  );
  const keys = keyService(db, key);
  const secrets: Array<[CreateKeyInput['owner'], string]> = [
    [{ type: 'system' }, 'api_key'],
    [{ type: 'system' }, 'unrelated'],
    [{ type: 'pack', pack: 'lean' }, 'pack_wide'],
    [{ type: 'pack', pack: 'plain' }, 'pack_wide'],
  ];
  for (const [owner, name] of secrets)
    await keys.create(testActor, { owner, name, value: `value-of-${name}-0123456789`, encrypted: true });
  // A required value no environment variable can carry (a NUL, as a row written before values with one were
  // refused would hold).
  const nulAction = await db.prisma.action.findUniqueOrThrow({ where: { ref: 'lean.needs_nul' } });
  await db.prisma.key.create({
    data: {
      ref: 'lean.needs_nul.with_nul',
      ownerType: 'action',
      ownerAction: nulAction.id,
      name: 'with_nul',
      value: key.encrypt('before\0after-nul-value', { context: 'lean.needs_nul.with_nul' }),
      valueType: 'string',
      encrypted: true,
      encryptionKeyHash: key.keyHash,
    },
  });
  // Secrets this worker cannot decrypt: an undeclared one (under `declared` it is never even read) and a required one.
  for (const [ref, name, ownerType] of [
    ['system.undecryptable', 'undecryptable', 'system'],
    ['lean.needs_locked.locked', 'locked', 'action'],
  ] as const) {
    const action =
      ownerType === 'action'
        ? await db.prisma.action.findUniqueOrThrow({ where: { ref: 'lean.needs_locked' } })
        : null;
    await db.prisma.key.create({
      data: {
        ref,
        ownerType,
        ...(action ? { ownerAction: action.id } : {}),
        name,
        value: otherKey.encrypt(`secret-${name}-value`, { context: ref }),
        valueType: 'string',
        encrypted: true,
        encryptionKeyHash: otherKey.keyHash,
      },
    });
  }
});

afterAll(async () => {
  await spawner.close();
  if (root) rmSync(root, { recursive: true, force: true });
  await sandbox?.scratch.close();
  await db?.drop();
});

describe('the declared policy', () => {
  for (const action of ['lean.names_py', 'lean.names_sh'])
    it(`gives ${action} only what it declares; the rest is neither fetched nor decrypted`, async () => {
      const outcome = await run(action);
      expect(outcome.status, outcome.stderr).toBe('succeeded');
      expect(namesSeen(outcome.stdout)).toEqual(['SECRET_API_KEY']);
      expect(outcome.secrets.map((s) => s.ref)).toEqual(['system.api_key']);
      // The undecryptable undeclared secret was never read: no warning about it, as there is under `all`.
      expect(outcome.warnings.map((w) => w.kind)).toEqual(['secret_missing']);
      expect(outcome.warnings[0]?.message).toContain(
        "Secret 'optional_one' (SECRET_OPTIONAL_ONE) is declared",
      );
    });

  it('an action may say all in a declared pack, unless the worker says declared; a pack that says nothing follows the worker', async () => {
    const everything = await run('lean.everything');
    expect(namesSeen(everything.stdout)).toEqual(['SECRET_API_KEY', 'SECRET_PACK_WIDE', 'SECRET_UNRELATED']);
    expect(everything.warnings.map((w) => w.kind).sort()).toEqual(['secret_missing', 'secret_skipped']);
    // The worker's policy, for a pack without one.
    expect(namesSeen((await run('plain.names_py', 'all')).stdout)).toEqual([
      'SECRET_API_KEY',
      'SECRET_PACK_WIDE',
      'SECRET_UNRELATED',
    ]);
    expect(namesSeen((await run('plain.names_py', 'declared')).stdout)).toEqual(['SECRET_API_KEY']);
    // A declared pack stays declared whatever the worker says.
    expect(namesSeen((await run('lean.names_py', 'all')).stdout)).toEqual(['SECRET_API_KEY']);
    // The operator's declared binds every pack: an action (or pack) asking for all cannot get more.
    expect(namesSeen((await run('lean.everything', 'declared')).stdout)).toEqual(['SECRET_API_KEY']);
  });

  it('fails an execution whose required secret is missing, before the action starts, naming it', async () => {
    const outcome = await run('lean.needs_token');
    expect(outcome.status).toBe('failed');
    expect(outcome.stdout).toBe(''); // never started: it would have printed "ran"
    expect(outcome.exitCode).toBeNull();
    expect(outcome.stderr).toContain(
      "lean.needs_token was not started: a secret it requires is missing or unusable — 'deploy_token' (SECRET_DEPLOY_TOKEN) is not set at system, pack or action level.",
    );
    expect(outcome.warnings.map((w) => w.kind)).toEqual(['secret_required']);
    // Set at the pack level, it runs.
    await keyService(db, key).create(testActor, {
      owner: { type: 'pack', pack: 'lean' },
      name: 'deploy_token',
      value: 'deploy-token-value-0123456789',
      encrypted: true,
    });
    const now = await run('lean.needs_token');
    expect(now.status, now.stderr).toBe('succeeded');
    expect(namesSeen(now.stdout)).toEqual(['SECRET_DEPLOY_TOKEN']);
  });

  it('fails an execution whose required secret cannot be decrypted, naming the ref and the reason', async () => {
    const outcome = await run('lean.needs_locked');
    expect(outcome.status).toBe('failed');
    expect(outcome.stdout).toBe('');
    expect(outcome.stderr).toContain(
      'lean.needs_locked was not started: a secret it requires is missing or unusable — lean.needs_locked.locked (SECRET_LOCKED) cannot be used (key_hash_mismatch).',
    );
    expect(outcome.stderr).not.toContain('secret-locked-value');
    expect(outcome.warnings.map((w) => w.kind)).toEqual(['secret_required']);
  });

  it('fails an execution whose required secret its delivery cannot carry, rather than start it without it', async () => {
    const outcome = await run('lean.needs_nul');
    expect(outcome.status).toBe('failed');
    expect(outcome.stdout).toBe('');
    expect(outcome.stderr).toContain(
      'lean.needs_nul was not started: a secret it requires is missing or unusable — lean.needs_nul.with_nul (SECRET_WITH_NUL) cannot be delivered by env',
    );
    expect(outcome.stderr).not.toContain('after-nul-value');
  });
});
