/**
 * The spawn helper and the supervision of one action process, against a real helper and real processes: nothing an
 * action or the helper does may leave an execution (and with it the worker's shutdown) waiting forever.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@attune/core';
import { afterAll, describe, expect, it } from 'vitest';
import { superviseProcess } from '../src/execution/supervise.js';
import { HelperSpawner, SPAWN_HELPER_PATH } from '../src/helper-spawner.js';
import type { ProcessSpawner } from '../src/spawner.js';

const spawner = new HelperSpawner();
const cwd = mkdtempSync(join(tmpdir(), 'attune-spawner-'));
const log = silentLogger();

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
