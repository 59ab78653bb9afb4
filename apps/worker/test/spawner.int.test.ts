/**
 * The spawn helper and the supervision of one action process, against a real helper and real processes: nothing an
 * action or the helper does may leave an execution (and with it the worker's shutdown) waiting forever.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coreDumpLimit, silentLogger } from '@attune/core';
import { afterAll, describe, expect, it } from 'vitest';
import { superviseProcess } from '../src/execution/supervise.js';
import { HelperSpawner, SPAWN_HELPER_PATH } from '../src/helper-spawner.js';
import { DirectSpawner, hasLiveThread, type ProcessSpawner } from '../src/spawner.js';

const spawner = new HelperSpawner();
const cwd = mkdtempSync(join(tmpdir(), 'attune-spawner-'));
const log = silentLogger();
const FIXTURES = join(import.meta.dirname, 'fixtures');
/** A uid no account has, for the sweep tests: a sweep kills every process of its uid, which no other test uses. */
const SWEEP_UID = 1_999_999;
const PYTHON = '/usr/bin/python3';
const IS_ROOT = process.getuid?.() === 0;
/** Both spawners, for the tests they must pass alike. */
const SPAWNERS: Array<[string, () => ProcessSpawner]> = [
  ['the spawn helper', () => new HelperSpawner()],
  ['the direct spawner', () => new DirectSpawner()],
];

/** Processes of `uid` that run. */
function processesOf(uid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (statSync(`/proc/${entry}`).uid === uid && hasLiveThread(Number(entry))) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

afterAll(async () => {
  await spawner.close();
  rmSync(cwd, { recursive: true, force: true });
});

describe('spawn helper', () => {
  it('answers a sweep it cannot carry out with an error, never leaving it pending', async () => {
    await expect(spawner.sweep('not-a-uid' as unknown as number)).rejects.toThrow(/could not sweep/);
    // The helper carries on: the next request is served.
    expect(await spawner.sweep(2_000_000_000)).toBe(0);
  });

  // The helper this test process starts inherits its hard limit above 0, and must lower it itself.
  it.skipIf(!((coreDumpLimit()?.hard ?? 0) > 0))(
    'starts every child with core dumps off, soft and hard, whatever limit the worker gave it',
    async () => {
      const parent = coreDumpLimit();
      const chunks: Buffer[] = [];
      const run = spawner.spawn(
        {
          argv: ['/bin/sh', '-c', 'ulimit -c; ulimit -Hc; ulimit -c unlimited 2>/dev/null || echo refused'],
          env: {},
          cwd,
          stdin: '',
        },
        { onStdout: (chunk) => chunks.push(chunk), onStderr: () => undefined },
      );
      await run.exit;
      expect({ parent, child: Buffer.concat(chunks).toString() }).toEqual({
        parent,
        child: '0\n0\nrefused\n',
      });
    },
  );

  // The child grows its stdout pipe to 1 MiB, fills it and exits at once. The reader (the worker; here the test)
  // stops reading for 1.5 s after some events, which holds the helper up in its writes: a write the child's exit
  // signal interrupts then returns part of an event, and the helper's drain deadline passes with most of the output
  // still in the pipe. Each event must arrive whole, and every byte before the exit event.
  it.each([1, 4, 8, 12])(
    'delivers all a child wrote, in whole events, however late the worker reads (pause after event %i)',
    async (pauseAfter) => {
      const size = 1 << 20;
      const code = `import fcntl, os\nfcntl.fcntl(1, 1031, 1 << 20)  # F_SETPIPE_SZ\nos.write(1, b"x" * ${size})`;
      const helper = spawn('python3', ['-u', SPAWN_HELPER_PATH], { stdio: ['pipe', 'pipe', 'inherit'] });
      const request = {
        op: 'spawn',
        id: 1,
        argv: ['python3', '-c', code],
        env: { PATH: process.env.PATH },
        cwd,
      };
      helper.stdin.write(`${JSON.stringify(request)}\n`);
      let received = 0;
      let events = 0;
      let pending = '';
      const exit = await new Promise<unknown>((resolve, reject) => {
        helper.once('error', reject);
        helper.stdout.setEncoding('utf8');
        helper.stdout.on('data', (text: string) => {
          const lines = (pending + text).split('\n');
          pending = lines.pop() ?? '';
          for (const line of lines) {
            let event: { ev: string; data?: string };
            try {
              event = JSON.parse(line);
            } catch {
              reject(new Error(`a cut event line: ${line.length} characters`));
              return;
            }
            if (event.ev === 'out') received += Buffer.from(event.data ?? '', 'base64').length;
            if (event.ev === 'exit' || event.ev === 'error') resolve(event);
            if (++events === pauseAfter) {
              helper.stdout.pause();
              setTimeout(() => helper.stdout.resume(), 1500);
            }
          }
        });
      }).finally(() => helper.stdin.end());
      expect(exit).toMatchObject({ ev: 'exit', code: 0 });
      expect(received).toBe(size);
    },
  );
});

describe('spawn helper under a hostile action or a failing worker', () => {
  it('keeps serving when a pipe it closed is still in the batch of ready pipes it is handling', () => {
    // Before: os.read on the closed pipe (EBADF) killed the helper, and every execution running on it.
    const report = JSON.parse(
      execFileSync('python3', [join(FIXTURES, 'helper-stale-key.py'), SPAWN_HELPER_PATH], {
        encoding: 'utf8',
      }),
    ) as { code: number; events: Array<[number, string]> };
    expect(report.code).toBe(0);
    expect(report.events).toEqual(
      expect.arrayContaining([
        [1, 'exit'],
        [2, 'exit'],
      ]),
    );
  }, 30_000);

  it('kills every action it runs when the worker is gone while it relays output', async () => {
    // Before: the write of an output event failed (EPIPE) before the helper read the end of its requests, and it died
    // leaving its actions running, unsupervised.
    const helper = spawn('python3', ['-u', SPAWN_HELPER_PATH], { stdio: ['pipe', 'pipe', 'ignore'] });
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    const pids: number[] = [];
    helper.stdout.setEncoding('utf8');
    helper.stdout.on('data', (text: string) => {
      for (const m of text.matchAll(/"ev":"started","pid":(\d+)/g)) pids.push(Number(m[1]));
    });
    helper.stdin.write(`${JSON.stringify({ op: 'spawn', id: 1, argv: ['sleep', '37'], env, cwd })}\n`);
    helper.stdin.write(`${JSON.stringify({ op: 'spawn', id: 2, argv: ['cat', '/dev/zero'], env, cwd })}\n`);
    // Both started (python3 may be a pyenv shim, slow to start while other tests load the machine).
    const deadline = Date.now() + 20_000;
    while (pids.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(pids).toHaveLength(2);
    const exited = new Promise((resolve) => helper.once('exit', resolve));
    helper.stdout.destroy(); // the worker is gone: both of its pipe ends close
    helper.stdin.destroy();
    await exited;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(pids.filter(hasLiveThread)).toEqual([]);
  });

  it.each(SPAWNERS)(
    '%s: refuses a start whose seccomp filter cannot be opened, naming it',
    async (_name, make) => {
      const s = make();
      try {
        const missing = `/nonexistent/attune-seccomp-${process.pid}.bpf`;
        const run = s.spawn(
          { argv: ['/bin/true'], env: {}, cwd: '/', stdin: '', supervisor: true, seccompFilter: missing },
          { onStdout: () => undefined, onStderr: () => undefined },
        );
        await expect(run.exit).rejects.toThrow(`the seccomp filter ${missing} cannot be opened`);
      } finally {
        await s.close();
      }
    },
  );

  it.each(SPAWNERS)(
    '%s: a sweep kills a leftover that forks under a new pid all the time',
    async (_name, make) => {
      if (!IS_ROOT || !existsSync(PYTHON)) return; // switching to SWEEP_UID needs root (CI runs as root)
      const s = make();
      try {
        // The action leaves a process in a session of its own (a child subreaper, which reaps what the chain leaves:
        // this host's init reaps no orphan) whose child forks and exits, over and over, for 8 s.
        const code = [
          'import ctypes, os, time',
          'if os.fork() == 0:',
          '    os.setsid()',
          '    for fd in (0, 1, 2): os.close(fd)',
          '    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER',
          '    if os.fork() == 0:',
          '        end = time.monotonic() + 8',
          '        while time.monotonic() < end:',
          '            if os.fork(): os._exit(0)',
          '        os._exit(0)',
          '    while True:',
          '        try: os.wait()',
          '        except ChildProcessError: os._exit(0)',
          'time.sleep(0.3)  # the leftover has its own session before this process exits and its group is killed',
        ].join('\n');
        const run = s.spawn(
          { argv: [PYTHON, '-c', code], env: {}, cwd: '/', stdin: '', uid: SWEEP_UID, gid: SWEEP_UID },
          { onStdout: () => undefined, onStderr: () => undefined },
        );
        expect(await run.exit).toMatchObject({ code: 0 });
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(processesOf(SWEEP_UID).length).toBeGreaterThan(0);
        // Before: each pid a scan found was gone by its kill, the sweep saw nothing killed and stopped.
        await s.sweep(SWEEP_UID);
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(processesOf(SWEEP_UID)).toEqual([]);
      } finally {
        await s.close();
        if (IS_ROOT) spawnSync('pkill', ['-9', '-U', String(SWEEP_UID)]);
      }
    },
    30_000,
  );

  it.each(SPAWNERS)(
    '%s: a sweep while another execution runs kills a leftover whose main thread ended',
    async (_name, make) => {
      if (!IS_ROOT || !existsSync(PYTHON)) return; // switching to SWEEP_UID needs root (CI runs as root)
      const s = make();
      const quiet = { onStdout: () => undefined, onStderr: () => undefined };
      const as = { env: {}, cwd: '/', stdin: '', uid: SWEEP_UID, gid: SWEEP_UID };
      try {
        // Another execution of the same identity runs meanwhile: the sweep must keep it, so it scans.
        const keeper = s.spawn({ ...as, argv: [PYTHON, '-c', 'import time; time.sleep(5)'] }, quiet);
        // The leftover's main thread exits (its process shows as a zombie) while a second thread runs on.
        const code = [
          'import ctypes, os, threading, time',
          'if os.fork() == 0:',
          '    os.setsid()',
          '    threading.Thread(target=lambda: time.sleep(20)).start()',
          '    ctypes.CDLL(None).syscall(60, 0)  # SYS_exit: this thread only',
          'time.sleep(0.3)',
        ].join('\n');
        const spy = s.spawn({ ...as, argv: [PYTHON, '-c', code] }, quiet);
        expect(await spy.exit).toMatchObject({ code: 0 });
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(processesOf(SWEEP_UID).length).toBe(2); // the keeper and the leftover
        await s.sweep(SWEEP_UID);
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(processesOf(SWEEP_UID).length).toBe(1); // the keeper
        keeper.kill('SIGKILL');
        await keeper.exit;
      } finally {
        await s.close();
        if (IS_ROOT) spawnSync('pkill', ['-9', '-U', String(SWEEP_UID)]);
      }
    },
    30_000,
  );

  it('direct spawner: reports the exit of an action whose leftover holds its output pipe', async () => {
    // Before: it waited for the pipes to close, until the timeout, and stored a clean exit as a timeout.
    // The marker comment names the leftover for the pkill at the end.
    const code = `# attune-direct-drain-test\nimport os, time\nprint('{"ok": true}', flush=True)\nif os.fork() == 0:\n  os.setsid(); time.sleep(20); os._exit(0)\n`;
    const direct = new DirectSpawner();
    const started = Date.now();
    const run = await superviseProcess(
      direct,
      { argv: ['python3', '-c', code], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, cwd, stdin: '' },
      {
        timeoutMs: 15_000,
        killGraceMs: 1000,
        outputCapBytes: 1 << 20,
        longestForm: 0,
        log,
        unkillableAfterMs: 2000,
      },
    );
    await direct.close();
    spawnSync('pkill', ['-f', 'attune-direct-drain-test']);
    expect(run.timedOut).toBe(false);
    expect(run.exit).toEqual({ code: 0, signal: null });
    expect(run.stdout.text()).toBe('{"ok": true}\n');
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 30_000);
});

describe('supervision', () => {
  it('stops waiting for a process that SIGKILL does not end, and says so', async () => {
    // What a process stuck in the kernel looks like to the worker: the kill is delivered, nothing ends.
    const kills: string[] = [];
    let real: { kill(signal: 'SIGTERM' | 'SIGKILL'): void } | undefined;
    const deaf: ProcessSpawner = {
      spawn: (spec, handlers) => {
        const proc = spawner.spawn(spec, handlers);
        real = proc;
        return {
          exit: proc.exit,
          kill: (signal) => {
            kills.push(signal);
          },
        };
      },
      sweep: (uid) => spawner.sweep(uid),
      health: () => spawner.health(),
      close: async () => undefined,
    };
    const started = Date.now();
    const run = await superviseProcess(
      deaf,
      { argv: ['sleep', '60'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, cwd, stdin: '' },
      { timeoutMs: 200, killGraceMs: 200, outputCapBytes: 1024, longestForm: 0, log, unkillableAfterMs: 500 },
    );
    expect(run.timedOut).toBe(true);
    expect(kills).toEqual(['SIGTERM', 'SIGKILL']);
    expect(run.spawnError).toMatch(/did not end 0\.5 s after SIGKILL/);
    expect(Date.now() - started).toBeLessThan(30_000);
    real?.kill('SIGKILL');
  });
});
