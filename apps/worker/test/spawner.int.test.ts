/**
 * The spawn helper and the supervision of one action process, against a real helper and real processes: nothing an
 * action or the helper does may leave an execution (and with it the worker's shutdown) waiting forever.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@attune/core';
import { afterAll, describe, expect, it } from 'vitest';
import { superviseProcess } from '../src/execution/supervise.js';
import { HelperSpawner } from '../src/helper-spawner.js';
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
