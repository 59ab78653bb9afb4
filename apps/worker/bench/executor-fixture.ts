/**
 * The executor bench's fixture; it measures nothing. A worker-sized process (ballast), the bench pack (a shell and a
 * python action) written to a temp folder, a sandbox for every isolation mode this host can run with its scratch
 * folders on a tmpfs where the host has one, and the secrets the actions receive (10 system, 10 pack).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EncryptionKey } from '@attune/crypto';
import type { TestDatabase } from '@attune/db/testing';
import { registerPack } from '@attune/registry';
import {
  type ActionSandbox,
  createSandbox,
  type IsolationMode,
  IsolationUnavailableError,
} from '@attune/worker';
import { pino } from 'pino';
import { keyService, testActor } from '../test/support/services.js';

export const logger = pino({ level: 'silent' });
export const key = EncryptionKey.fromPassword('executor-bench-password-0123456789abcdef');

/** A worker-sized process: the fork in child_process.spawn costs in proportion to it. Held until the bench ends. */
export function allocateBallast(): Buffer[] {
  const ballast: Buffer[] = [];
  while (process.memoryUsage().rss < 130 * 1024 * 1024) ballast.push(Buffer.alloc(8 * 1024 * 1024, 1));
  return ballast;
}

/** The bench pack's actions: each reads its parameters and prints one of its secrets. */
export const scripts = {
  sh: { file: 'noop.sh', runner: 'shell', code: '#!/bin/sh\nread -r params\necho "ok $SECRET_S0"\n' },
  python: {
    file: 'noop.py',
    runner: 'python',
    code: 'import json, os, sys\njson.load(sys.stdin)\nprint(json.dumps({"ok": os.environ["SECRET_S0"]}))\n',
  },
} as const;

export type ScriptKind = keyof typeof scripts;

/** Where the bench pack lives: `root` is the bench's temp folder (removed at the end), `packDir` the pack in it. */
export interface BenchPack {
  readonly root: string;
  readonly packDir: string;
}

/** Writes the bench pack. The pack must be readable by the identity actions run as. */
export function writeBenchPack(): BenchPack {
  const root = join(tmpdir(), `attune-bench-${process.pid}`);
  const packDir = join(root, 'benchpack');
  mkdirSync(join(packDir, 'actions'), { recursive: true });
  chmodSync(root, 0o755);
  writeFileSync(join(packDir, 'pack.yaml'), 'ref: benchpack\nlabel: bench\nversion: 1.0.0\n');
  for (const [name, s] of Object.entries(scripts)) {
    writeFileSync(
      join(packDir, 'actions', `${name}.yaml`),
      `name: ${name}\nrunner_type: ${s.runner}\nentry_point: ${s.file}\ntimeout: 30\n`,
    );
    writeFileSync(join(packDir, 'actions', s.file), s.code);
    chmodSync(join(packDir, 'actions', s.file), 0o755);
  }
  return { root, packDir };
}

/** tmpfs's magic number in statfs: where docs/worker.md recommends putting `worker.scratch_dir`. */
const TMPFS_MAGIC = 0x01021994;

/** The scratch folders' parent: a tmpfs (/dev/shm) as recommended where the host has one, else the temp folder. */
export const SCRATCH_BASE = (() => {
  try {
    return statfsSync('/dev/shm').type === TMPFS_MAGIC ? '/dev/shm' : tmpdir();
  } catch {
    return tmpdir();
  }
})();

/** Whether the host has this user. */
function hasUser(name: string): boolean {
  return spawnSync('id', ['-u', name]).status === 0;
}

/** Every mode this host can run, each with a scratch root of its own. */
export async function sandboxes(): Promise<Map<IsolationMode, ActionSandbox>> {
  const out = new Map<IsolationMode, ActionSandbox>();
  for (const mode of ['sandbox', 'user', 'none'] as const) {
    try {
      const { sandbox } = await createSandbox({
        config: {
          mode,
          // `user` mode as an identity of its own (nobody, where the host has it): its executor sweeps every process
          // of its identity after each run, which would kill the sandbox's helper, which runs as attune-action.
          runAs: mode === 'user' && process.getuid?.() === 0 && hasUser('nobody') ? 'nobody' : undefined,
          scratchDir: join(SCRATCH_BASE, `attune-bench-scratch-${process.getuid?.()}`),
          sandboxReadOnlyPaths: [],
          seccomp: true,
        },
        workerId: `bench-${mode}-${process.pid}`,
        path: process.env.PATH,
      });
      out.set(mode, sandbox);
    } catch (error) {
      if (!(error instanceof IsolationUnavailableError)) throw error;
    }
  }
  return out;
}

/** Registers the bench pack and creates its secrets: s0…s9 of the system and s0…s9 of the pack. */
export async function registerPackAndSecrets(db: TestDatabase, packDir: string): Promise<void> {
  await registerPack(db.prisma, packDir);
  const keys = keyService(db, key, logger);
  for (let i = 0; i < 10; i++) {
    await keys.create(testActor, {
      owner: { type: 'system' },
      name: `s${i}`,
      value: `system-secret-value-${i}`.padEnd(32, 'x'),
      encrypted: true,
    });
    await keys.create(testActor, {
      owner: { type: 'pack', pack: 'benchpack' },
      name: `s${i}`,
      value: `pack-secret-value-${i}`.padEnd(32, 'x'),
      encrypted: true,
    });
  }
}
