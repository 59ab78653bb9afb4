/**
 * Action isolation, tried as an attacker would (docs/worker.md#security-model): real worker processes and a real API
 * process, holding the encryption key, DATABASE_URL and AMQP_URL in their environment and a private config file
 * and key file, run hostile actions that walk /proc, their parents, other actions and the files actions leave
 * behind. Each claim is proven in the modes that make it, and the unconfined mode (`none`) is run as the control:
 * there the same probes do find the key, so the probes can fail.
 */
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coreDumpLimit } from '@attune/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTOR, CORE_CONTROL, type CoreDumpReport, crashBare } from './support/core-dump-probe.js';
import { TEST_SCRATCH_BASE, testableModes, USER_MODE_RUN_AS } from './support/isolation.js';
import { FILTERED_ERRNO, HOST_VSOCK, syscallParams, UNFILTERED } from './support/syscalls-probe.js';
import {
  executionFolders,
  helperPid,
  loot,
  type ProbeResult,
  processesWith,
  readiness,
  type Worker,
  WorkerHarness,
  waitUntil,
} from './support/worker-harness.js';

const MODES = await testableModes();
const SANDBOX = MODES.find((m) => m.mode === 'sandbox');
const USER = MODES.find((m) => m.mode === 'user');
const h = new WorkerHarness({ api: true });

beforeAll(() => h.setUp());
afterAll(() => h.tearDown());

describe('the unconfined mode (none), as the control', () => {
  it("lets a hostile action read the worker's and the API's key, memory and files — what the other modes must prevent", async () => {
    const w = h.startWorker('none', 'none');
    const port = await w.port();
    expect(w.output()).toContain('ACTION ISOLATION IS OFF');
    expect((await readiness(port)).body.isolation).toMatchObject({ mode: 'none' });
    const row = await h.runOn(w, 'hostile.probe', h.probeParams(w));
    expect(row.status, row.stderr ?? '').toBe('succeeded');
    const result = row.result as unknown as ProbeResult;
    const found = loot(result);
    for (const needle of h.needles()) expect(found).toContain(needle);
    expect(result.procs[String(w.proc.pid)]?.mem).toMatch(/^READ [1-9]/);
    expect(result.procs[String(h.api?.pid)]?.environ).not.toMatch(/^ERR/);
    w.proc.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  });

  it.skipIf(!CORE_CONTROL)(
    'lets a crashing action write its memory to disk where core dumps are allowed (the control of the core-dump tests)',
    () => {
      // The same action, run bare from this process (whose hard limit allows core dumps), in a folder of its own.
      const { report, files } = crashBare();
      expect(report).toMatchObject({ raise_soft: 'raised', signal: 6, dumped: true });
      expect(report.created.length).toBe(1);
      expect(files).toEqual(report.created);
    },
  );

  it('lets two actions of different packs read each other, and what one leaves behind', async () => {
    const w = h.startWorker('none-pair', 'none');
    await w.port();
    const name = `left-${h.token}-none.txt`;
    const [victim, thief] = await Promise.all([
      h.runOn(w, 'victim.victim', { hold: 4, name }),
      (async () => {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        return h.runOn(w, 'hostile.probe', { paths: [`/tmp/${name}`], walk: [], rounds: 3, pause: 0.5 });
      })(),
    ]);
    expect(victim.status).toBe('succeeded');
    expect(loot(thief.result as unknown as ProbeResult)).toContain(h.victimSecret);
    w.proc.kill('SIGTERM');
    await w.exited;
  });
});

/**
 * Runs `hostile.outlive`: it patches the sandbox's init through ptrace (no parent-death signal, a session of its own)
 * and then kills its process group, which holds the outer bwrap, or exits normally (bwrap then exits without waiting
 * for its init); a process it left announces itself on the host. Nothing of it may run after its execution. The
 * seccomp filter refuses the ptrace (`traced: false`); without it (`worker.sandbox_seccomp: false`) the patch succeeds
 * and the kill of the sandbox's init is what ends it all.
 */
async function expectNothingOutlives(
  w: Worker,
  mode: string,
  normal: boolean,
  traced: boolean,
): Promise<void> {
  const marker = `${mode}-${normal ? 'exit' : 'kill'}-${h.token}`;
  // What it leaves would run for 90 s: its execution must end long before (and nothing of it be left then).
  const row = await h.runOn(w, 'hostile.outlive', { marker, seconds: 90, normal });
  expect(row.durationMs).toBeLessThan(20_000);
  expect(row.stdout).toContain(normal ? 'exiting normally' : 'killing the outer bwrap');
  if (mode.startsWith('sandbox') && process.arch === 'x64')
    expect(row.stdout).toMatch(traced ? /init patched: 0 1\b/ : /ptrace refused: 1\b/);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect(readFileSync('/proc/net/unix', 'utf8')).not.toContain(`attune-outlive-${marker}`);
  expect(processesWith('outlive.py')).toEqual([]);
}

async function runSyscalls(w: Worker): Promise<Record<string, number>> {
  const row = await h.runOn(w, 'hostile.syscalls', syscallParams);
  expect(row.status, row.stderr ?? '').toBe('succeeded');
  return row.result as Record<string, number>;
}

// Without its seccomp filter, the sandbox still ends everything of an action that disarmed its init through ptrace:
// with the spawn helper, and with worker.spawner: direct.
for (const [name, id, extra] of [
  ['spawn helper', 'noseccomp-helper', {}],
  ['worker.spawner: direct', 'noseccomp-direct', { ATTUNE__WORKER__SPAWNER: 'direct' }],
] as const) {
  describe.skipIf(!SANDBOX || SANDBOX.skip !== undefined)(
    `isolation sandbox without its seccomp filter (worker.sandbox_seccomp: false), ${name}`,
    () => {
      let w: Worker;

      beforeAll(async () => {
        w = h.startWorker(id, 'sandbox', {
          ATTUNE__WORKER__SANDBOX_SECCOMP: 'false',
          ...extra,
        });
        await w.port();
      });

      afterAll(async () => {
        w?.proc.kill('SIGTERM');
        await w?.exited;
      });

      it('says so at start', () => {
        expect(w.output()).toContain('worker.sandbox_seccomp is false');
        expect(w.output()).toContain('without a seccomp filter');
      });

      it.skipIf(!syscallParams)('lets the calls the filter refuses through (the control)', async () => {
        const result = await runSyscalls(w);
        for (const call of UNFILTERED) expect({ call, errno: result[call] }).not.toEqual({ call, errno: 1 });
        // bwrap's --disable-userns refuses it with ENOSPC (bwrap before 0.8.0 would let it through).
        expect(result['clone CLONE_NEWUSER']).not.toBe(1);
        // Where the host has vsock, so does the sandbox without the filter (the family is not namespaced).
        if (HOST_VSOCK) expect(result['socket AF_VSOCK']).toBe(0);
      });

      it.each([
        ['kills its supervisor', false],
        ['exits normally', true],
      ])('leaves nothing running of an action that disarms its sandbox and %s', async (_how, normal) => {
        await expectNothingOutlives(w, `sandbox-${id}`, normal, true);
      });
    },
  );
}

for (const { mode, skip } of [SANDBOX, USER].filter((m) => m !== undefined)) {
  describe.skipIf(skip !== undefined)(
    `isolation ${mode}${skip ? ` (not available here: ${skip})` : ''}`,
    () => {
      let w: Worker;
      let port: number;

      beforeAll(async () => {
        w = h.startWorker(mode, mode);
        port = await w.port();
      });

      afterAll(async () => {
        w?.proc.kill('SIGTERM');
        await w?.exited;
      });

      it('states its mode at start and in /readyz', async () => {
        expect(w.output()).toContain(`action isolation: ${mode}:`);
        expect(w.output()).not.toContain('ACTION ISOLATION IS OFF');
        // Ready once it consumes from the broker.
        const ready = await waitUntil('ready', async () => {
          const r = await readiness(port);
          return r.status === 200 ? r : undefined;
        });
        expect(ready.body.isolation).toMatchObject({ mode });
        expect((ready.body.isolation as { uid: number }).uid).not.toBe(0);
        // User-mode tests run as an identity of their own, apart from the sandboxed tests running at the same time.
        if (mode === 'user' && USER_MODE_RUN_AS)
          expect(ready.body.isolation).toMatchObject({ runAs: USER_MODE_RUN_AS });
      });

      it("gives a hostile action nothing of the worker's or the API's environment, memory or files", async () => {
        const row = await h.runOn(w, 'hostile.probe', h.probeParams(w));
        expect(row.status, row.stderr ?? '').toBe('succeeded');
        const result = row.result as unknown as ProbeResult;
        expect(result.uid).not.toBe(0);
        const found = loot(result);
        for (const needle of h.needles()) expect(found).not.toContain(needle);
        for (const pid of [w.proc.pid, h.api?.pid, helperPid(w.proc.pid as number), process.pid]) {
          const seen = result.procs[String(pid)];
          if (mode === 'sandbox') {
            // A PID namespace of its own: the worker, the API and the test runner are not even there.
            expect(seen).toBeUndefined();
          } else {
            expect(seen?.environ).toMatch(/^ERR/);
            expect(seen?.mem).toMatch(/^ERR/);
          }
        }
        for (const file of [h.configFile, h.keyFile]) expect(result.files[file]).toMatch(/^ERR/);
        if (mode === 'sandbox') {
          // Its parents end at the sandbox's own init; nothing of the host's process table is visible.
          expect(result.parents.at(-1)).toBe(1);
          expect(Object.keys(result.procs).length).toBeLessThan(5);
        }
      });

      it('runs an action that declares network: false only where the network can be cut off', async () => {
        const target = { host: '127.0.0.1', port: 5432 };
        const online = await h.runOn(w, 'hostile.online', target);
        expect(online.stdout).toBe('connected\n');
        const offline = await h.runOn(w, 'hostile.offline', target);
        if (mode === 'sandbox') {
          expect(offline.status).toBe('succeeded');
          expect(offline.stdout).toMatch(/^no connection: /);
        } else {
          expect(offline.status).toBe('failed');
          expect(offline.stderr).toContain('declares network: false, which needs worker.isolation sandbox');
        }
      });

      it('removes a booby-trapped scratch folder without touching anything outside it', async () => {
        // Files the action's identity may not delete, and a process of the action swapping folders of its scratch
        // with symlinks to them while the worker removes it.
        const target = mkdtempSync(join(tmpdir(), `attune-target-${mode}-`));
        chmodSync(target, 0o755);
        for (let i = 0; i < 20; i++) writeFileSync(join(target, `f${String(i).padStart(2, '0')}`), 'keep\n');
        const names = readdirSync(target);
        const row = await h.runOn(w, 'hostile.rmrace', { target, names, seconds: 5 });
        expect(row.status, row.stderr ?? '').toBe('succeeded');
        expect(readdirSync(target)).toHaveLength(20);
        expect(executionFolders(join(TEST_SCRATCH_BASE, `w-${w.id}`))).toEqual([]);
        // The swapping process did not outlive the execution.
        expect(processesWith('rmrace.py')).toEqual([]);
        rmSync(target, { recursive: true, force: true });
      });

      it('leaves no process of an action behind to spy on the actions that come after it', async () => {
        const loot = `/tmp/attune-loot-${mode}-${h.token}.txt`;
        const implant = await h.runOn(w, 'hostile.implant', { loot, seconds: 30 });
        expect(implant.status, implant.stderr ?? '').toBe('succeeded');
        expect(implant.stdout).toBe('implanted\n');
        expect(processesWith('implant.py')).toEqual([]);
        const victim = await h.runOn(w, 'victim.victim', { hold: 1, name: `after-implant-${h.token}.txt` });
        expect(victim.status).toBe('succeeded');
        expect(existsSync(loot) ? readFileSync(loot, 'utf8') : '').not.toContain(h.victimSecret);
        rmSync(loot, { force: true });
      });

      it.each([
        ['kills its supervisor', false],
        ['exits normally', true],
      ])('leaves nothing running of an action that disarms its sandbox and %s', async (_how, normal) => {
        await expectNothingOutlives(w, mode, normal, false);
      });

      it.skipIf(!syscallParams)(
        mode === 'sandbox'
          ? 'refuses a hostile action every system call of its seccomp filter'
          : 'has no seccomp filter: a hostile action may trace its own processes',
        async () => {
          const result = await runSyscalls(w);
          if (mode === 'sandbox') {
            expect(w.output()).toContain('under a seccomp filter');
            // EPERM, but the vsock family's EAFNOSUPPORT (as where the kernel has none) and clone3's ENOSYS.
            for (const [call, errno] of Object.entries(result))
              expect({ call, errno }).toEqual({ call, errno: FILTERED_ERRNO[call] ?? 1 });
            expect(Object.keys(result)).toEqual(
              expect.arrayContaining([...UNFILTERED, 'bpf', 'userfaultfd', 'clone CLONE_NEWUSER']),
            );
          } else {
            for (const call of UNFILTERED.filter((c) => c !== 'unshare'))
              expect({ call, errno: result[call] }).not.toEqual({ call, errno: 1 });
          }
        },
      );

      it('writes no core dump of a hostile action that crashes, nor of the worker, the API or the helper', async () => {
        const row = await h.runOn(w, 'hostile.coredump');
        expect(row.status, row.stderr ?? '').toBe('succeeded');
        const result = row.result as unknown as CoreDumpReport;
        // RLIMIT_CORE 0, soft and hard, inherited from the worker and the helper; the action cannot raise it.
        expect(result).toMatchObject({
          soft: 0,
          hard: 0,
          raise_hard: 'ValueError',
          limit_after: [0, 0],
          signal: 6,
        });
        // With a file core_pattern the kernel itself then writes nothing (a collector is not bound by the limit: the
        // worker warns of one at start, docs/deployment.md#core-dumps).
        if (!COLLECTOR) expect(result).toMatchObject({ dumped: false, created: [] });
        const pids = { worker: w.proc.pid, api: h.api?.pid, helper: helperPid(w.proc.pid as number) };
        for (const [name, pid] of Object.entries(pids)) {
          if (pid === undefined) throw new Error(`no ${name} process to check`);
          expect({ name, limit: coreDumpLimit(pid) }).toEqual({ name, limit: { soft: 0, hard: 0 } });
        }
      });

      it('removes a scratch folder deeper than PATH_MAX', async () => {
        const row = await h.runOn(w, 'hostile.deep');
        expect(row.status, row.stderr ?? '').toBe('succeeded');
        expect(executionFolders(join(TEST_SCRATCH_BASE, `w-${w.id}`))).toEqual([]);
      });
    },
  );
}

describe.skipIf(SANDBOX?.skip !== undefined)('the sandbox between actions', () => {
  let w: Worker;

  beforeAll(async () => {
    w = h.startWorker('pair', 'sandbox', { ATTUNE__WORKER__CONCURRENCY: '4' });
    await w.port();
  });

  afterAll(async () => {
    w?.proc.kill('SIGTERM');
    await w?.exited;
  });

  it("keeps two running actions of different packs out of each other's environment, argv and files", async () => {
    const name = `left-${h.token}-pair.txt`;
    const [victim, thief] = await Promise.all([
      h.runOn(w, 'victim.victim', { hold: 4, name }),
      (async () => {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        return h.runOn(w, 'hostile.probe', {
          paths: [`/tmp/${name}`, `/dev/shm/${name}`, `/var/tmp/${name}`],
          walk: ['/tmp', '/scratch', TEST_SCRATCH_BASE],
          rounds: 3,
          pause: 0.5,
        });
      })(),
    ]);
    expect(victim.status, victim.stderr ?? '').toBe('succeeded');
    expect(thief.status, thief.stderr ?? '').toBe('succeeded');
    const v = JSON.parse(victim.stdout as string) as {
      started: number;
      ended: number;
      wrote: Record<string, unknown>;
    };
    const t = thief.result as unknown as ProbeResult;
    // They did run at once: the thief's rounds fall inside the victim's run.
    expect(t.rounds.some((at) => at > v.started && at < v.ended)).toBe(true);
    // The victim could write to its scratch, its tmp and /tmp (its own), but not where others could look.
    expect(v.wrote[`/tmp/${name}`]).toBe(true);
    expect(loot(t)).not.toContain(h.victimSecret);
  });

  it('leaves nothing an action wrote for the next action, nor on the host', async () => {
    const name = `left-${h.token}-after.txt`;
    const victim = await h.runOn(w, 'victim.victim', { name });
    expect(victim.status).toBe('succeeded');
    const thief = await h.runOn(w, 'hostile.probe', {
      paths: [`/tmp/${name}`, `/dev/shm/${name}`, `/var/tmp/${name}`, `/scratch/${name}`],
      walk: ['/tmp', '/scratch'],
    });
    expect(loot(thief.result as unknown as ProbeResult)).not.toContain(h.victimSecret);
    // On the host: no such file anywhere the victim could reach, and no scratch folder left.
    for (const place of ['/tmp', '/var/tmp', '/dev/shm']) expect(existsSync(join(place, name))).toBe(false);
    const scratch = join(TEST_SCRATCH_BASE, `w-${w.id}`);
    expect(executionFolders(scratch)).toEqual([]);
  });

  it('removes scratch folders when the worker stops mid-run, and what a killed worker left when it restarts', async () => {
    const stopping = h.startWorker('scratch-stop', 'sandbox', { ATTUNE__WORKER__SHUTDOWN_GRACE_MS: '300' });
    await stopping.port();
    const scratch = join(TEST_SCRATCH_BASE, `w-${stopping.id}`);
    const id = await h.enqueue(stopping, `hostile.${h.sleeper}`);
    await waitUntil('the sleeper to run', async () =>
      readdirSync(scratch).some((e) => e.startsWith(`${id}-`)) ? true : undefined,
    );
    stopping.proc.kill('SIGTERM');
    expect(await stopping.exited).toBe(0);
    expect((await h.db.prisma.execution.findUniqueOrThrow({ where: { id } })).status).toBe('cancelled');
    expect(existsSync(scratch)).toBe(false);

    const killed = h.startWorker('scratch-kill', 'sandbox');
    await killed.port();
    const killedScratch = join(TEST_SCRATCH_BASE, `w-${killed.id}`);
    const id2 = await h.enqueue(killed, `hostile.${h.sleeper}`);
    await waitUntil('the sleeper to run', async () =>
      readdirSync(killedScratch).some((e) => e.startsWith(`${id2}-`)) ? true : undefined,
    );
    killed.proc.kill('SIGKILL');
    await killed.exited;
    // Until its heartbeat is stale, the database would take a restart for a second live worker with its id.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    // Its helper saw its pipe close and killed the action; the folder is still there until a restart.
    await waitUntil('the sleeper to die with its worker', async () =>
      processesWith(`${h.sleeper}.py`).length === 0 ? true : undefined,
    );
    expect(readdirSync(killedScratch).some((e) => e.startsWith(`${id2}-`))).toBe(true);
    const again = h.startWorker('scratch-kill', 'sandbox');
    await again.port();
    expect(executionFolders(killedScratch)).toEqual([]);
    again.proc.kill('SIGTERM');
    await again.exited;
  });
});
