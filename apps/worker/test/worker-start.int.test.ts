/**
 * What a worker checks and states at start, and how it supervises its spawn helper — with real worker processes:
 * the encryption key from a private file, isolation modes a configuration requires, an identity that cannot be used,
 * and a spawn helper killed under running executions.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testableModes } from './support/isolation.js';
import {
  helperPid,
  loot,
  type ProbeResult,
  processesWith,
  readiness,
  WorkerHarness,
  waitUntil,
} from './support/worker-harness.js';

const MODES = await testableModes();
const SANDBOX = MODES.find((m) => m.mode === 'sandbox');
const USER = MODES.find((m) => m.mode === 'user');
const h = new WorkerHarness();

beforeAll(() => h.setUp());
afterAll(() => h.tearDown());

describe('the encryption key out of reach', () => {
  it('reads security.encryption_key_file, and refuses one that others can read', async () => {
    const mode = SANDBOX?.skip === undefined ? 'sandbox' : USER?.skip === undefined ? 'user' : 'none';
    const w = h.startWorker('keyfile', mode, {
      ATTUNE__SECURITY__ENCRYPTION_KEY: '',
      ATTUNE_CONFIG: '',
      ATTUNE__SECURITY__ENCRYPTION_KEY_FILE: h.keyFile,
    });
    await w.port();
    expect(w.output()).toMatch(/"source":"file".*encryption keys loaded/);
    const row = await h.runOn(w, 'victim.victim', { name: `keyfile-${h.token}.txt` });
    // The secret was decrypted with the key from the file and handed to the action.
    expect(row.status, row.stderr ?? '').toBe('succeeded');
    expect(JSON.parse(row.stdout as string).wrote).toBeDefined();
    expect(row.warnings).toEqual([]);
    if (mode !== 'none') {
      const probe = await h.runOn(w, 'hostile.probe', h.probeParams(w));
      expect((probe.result as unknown as ProbeResult).files[h.keyFile]).toMatch(/^ERR/);
      expect(loot(probe.result as unknown as ProbeResult)).not.toContain(h.key);
    }
    w.proc.kill('SIGTERM');
    await w.exited;

    const shared = join(h.privateDir, 'shared.key');
    writeFileSync(shared, `${h.key}\n`);
    chmodSync(shared, 0o644);
    const refused = h.startWorker('keyfile-bad', 'none', {
      ATTUNE__SECURITY__ENCRYPTION_KEY: '',
      ATTUNE_CONFIG: '',
      ATTUNE__SECURITY__ENCRYPTION_KEY_FILE: shared,
    });
    expect(await refused.exited).toBe(2);
    expect(refused.output()).toContain(`chmod 600 ${shared}`);
    expect(refused.output()).not.toContain(h.key);
  });
});

describe('attune-worker', () => {
  it('only starts the service: requesting runs and registering packs are the project CLI’s, and it says so', () => {
    const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
    for (const [command, instead] of [
      ['run', 'attune run'],
      ['register', 'attune pack register'],
    ]) {
      const moved = spawnSync(process.execPath, [bin, command as string, 'examples.check'], {
        encoding: 'utf8',
      });
      expect(moved.status).toBe(2);
      expect(moved.stderr).toContain(`'${command}' is \`${instead}\` now`);
    }
    const usage = spawnSync(process.execPath, [bin, 'start', '--frobnicate'], { encoding: 'utf8' });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('Usage: attune-worker start [--config FILE]');
    expect(spawnSync(process.execPath, [bin], { encoding: 'utf8' }).status).toBe(2);
  });
});

describe('modes a configuration requires', () => {
  it('refuses to start without the required sandbox, saying what to install', async () => {
    const w = h.startWorker('needs-sandbox', 'sandbox', { PATH: '/nonexistent' });
    expect(await w.exited).toBe(2);
    expect(w.output()).toMatch(
      /bubblewrap \(bwrap\) is not installed: install bubblewrap \(Debian\/Ubuntu: apt-get install bubblewrap/,
    );
  });

  it.skipIf(SANDBOX?.skip !== undefined)(
    'refuses to start, rather than in a weaker mode, where bubblewrap refuses the seccomp filter',
    async () => {
      // A bwrap that starts sandboxes but refuses any seccomp filter (as on a host whose kernel or outer container
      // refuses it), first on PATH.
      const dir = mkdtempSync(join(tmpdir(), 'attune-bwrap-'));
      const real = spawnSync('/bin/sh', ['-c', 'command -v bwrap'], { encoding: 'utf8' }).stdout.trim();
      writeFileSync(
        join(dir, 'bwrap'),
        `#!/bin/sh\ncase " $* " in *" --seccomp "*) echo "bwrap: seccomp refused here" >&2; exit 1;; esac\nexec ${real} "$@"\n`,
      );
      chmodSync(dir, 0o755);
      chmodSync(join(dir, 'bwrap'), 0o755);
      try {
        const PATH = `${dir}:${process.env.PATH}`;
        const refused = h.startWorker('seccomp-refused', 'auto', { PATH });
        expect(await refused.exited).toBe(2);
        expect(refused.output()).toContain(
          'bubblewrap starts a sandbox here but not under its seccomp filter (bwrap: seccomp refused here): set worker.sandbox_seccomp: false',
        );
        const without = h.startWorker('seccomp-off', 'auto', {
          PATH,
          ATTUNE__WORKER__SANDBOX_SECCOMP: 'false',
        });
        await without.port();
        expect(without.output()).toMatch(/action isolation: sandbox: .*without a seccomp filter/);
        without.proc.kill('SIGTERM');
        await without.exited;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('refuses an identity that does not exist or is root', async () => {
    const ghost = h.startWorker('ghost', 'none', { ATTUNE__WORKER__RUN_AS: 'no-such-user-attune' });
    expect(await ghost.exited).toBe(2);
    expect(ghost.output()).toContain(
      'worker.run_as: there is no user no-such-user-attune on this host; create it',
    );
    const root = h.startWorker('as-root', 'none', { ATTUNE__WORKER__RUN_AS: '0' });
    expect(await root.exited).toBe(2);
    expect(root.output()).toContain('worker.run_as: actions must not run as root');
  });
});

describe('the spawn helper, supervised', () => {
  it('fails what ran on a dead helper at once, restarts it, and stops taking work when it keeps dying', async () => {
    const mode = SANDBOX?.skip === undefined ? 'sandbox' : USER?.skip === undefined ? 'user' : 'none';
    const w = h.startWorker('helper', mode, { ATTUNE__WORKER__SHUTDOWN_GRACE_MS: '2000' });
    const port = await w.port();
    const workerPid = w.proc.pid as number;
    const id = await h.enqueue(w, `hostile.${h.sleeper}`);
    await waitUntil('the sleeper to run', async () =>
      processesWith(`${h.sleeper}.py`).length > 0 ? true : undefined,
    );
    const helper = helperPid(workerPid) as number;
    expect(helper).toBeGreaterThan(0);
    const killedAt = Date.now();
    process.kill(helper, 'SIGKILL');
    const row = await h.finished(id, 20_000);
    expect(Date.now() - killedAt).toBeLessThan(10_000); // at once, not at the action's 60 s timeout
    expect(row.status).toBe('failed');
    expect(row.stderr).toContain(
      'The spawn helper died (SIGKILL) while the action ran; the action was stopped.',
    );
    await waitUntil(
      'the action to be gone',
      async () => (processesWith(`${h.sleeper}.py`).length === 0 ? true : undefined),
      10_000,
    );
    expect(w.output()).toContain('spawn helper died');

    // A new helper serves the next execution.
    const next = await h.runOn(w, 'hostile.quick');
    expect(next.status).toBe('succeeded');
    expect(helperPid(workerPid)).not.toBe(helper);
    expect((await readiness(port)).status).toBe(200);

    // Two more deaths within the minute: not ready, and no longer taking executions.
    for (let i = 0; i < 2; i++) {
      await h.runOn(w, 'hostile.quick');
      process.kill(helperPid(workerPid) as number, 'SIGKILL');
      await waitUntil('the helper to be gone', async () =>
        helperPid(workerPid) === undefined ? true : undefined,
      );
    }
    const notReady = await waitUntil('not ready, and paused', async () => {
      const r = await readiness(port);
      return r.status === 503 && r.body.broker === 'paused' ? r : undefined;
    });
    expect(notReady.body).toMatchObject({ ready: false, spawner: { ok: false } });
    expect((notReady.body.spawner as { problem: string }).problem).toMatch(
      /the spawn helper died 3 times in the last 60 s/,
    );
    const queued = await h.enqueue(w, 'hostile.quick');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await h.db.prisma.execution.findUniqueOrThrow({ where: { id: queued } })).status).toBe(
      'requested',
    );

    // Shutdown still completes.
    w.proc.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  });
});
