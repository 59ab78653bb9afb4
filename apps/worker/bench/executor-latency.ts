/**
 * The executor bench at one in flight: p50 latency of the shell and the python action, bare beside the executor in
 * every isolation mode and on a direct spawner, runs interleaved (target: ≤ 1.3× bare for sh, ≤ 1.1× for python, with
 * isolation). Then the cost of each isolation layer through the executor (identity switch, namespaces: p50
 * differences between modes) and of the scratch folder on its own (make + remove).
 */

import { quantile as p } from '@attune/core/bench';
import type { IsolationMode } from '@attune/worker';
import type { Harness, Report } from './executor-harness.js';

const ONE_IN_FLIGHT = 120;

export async function oneInFlight(bench: Harness, { lines, verdicts, measured }: Report): Promise<void> {
  const { modes, strongest, executors, directIsolated, timeBare, ours } = bench;
  // One in flight: p50 latency, runs interleaved so drift hits every side alike.
  lines.push(
    '',
    'one in flight (p50 ms):',
    `${'kind'.padEnd(8)} ${'bare'.padStart(7)} ${[...modes.keys()].map((m) => m.padStart(8)).join(' ')} ${'ratio'.padStart(7)} ${'direct'.padStart(8)}`,
  );
  const layerRows: string[] = [];
  for (const kind of ['sh', 'python'] as const) {
    const runs = new Map<string, number[]>([
      ['bare', []],
      ['direct', []],
    ]);
    for (const mode of modes.keys()) runs.set(mode, []);
    for (let i = 0; i < 10; i++) {
      await timeBare(kind)();
      for (const executor of executors.values()) await ours(executor, kind)();
    }
    for (let i = 0; i < ONE_IN_FLIGHT; i++) {
      runs.get('bare')?.push(await timeBare(kind)());
      for (const [mode, executor] of executors) runs.get(mode)?.push(await ours(executor, kind)());
      if (i % 3 === 0) runs.get('direct')?.push(await ours(directIsolated, kind)());
    }
    const med = (name: string) => p(runs.get(name) ?? [], 0.5);
    const ratio = med(strongest.mode) / med('bare');
    measured.set(`${kind}.p50.bare`, med('bare'));
    measured.set(`${kind}.p50.ours`, med(strongest.mode));
    lines.push(
      `${kind.padEnd(8)} ${med('bare').toFixed(2).padStart(7)} ${[...modes.keys()].map((m) => med(m).toFixed(2).padStart(8)).join(' ')} ${`${ratio.toFixed(2)}×`.padStart(7)} ${med('direct').toFixed(2).padStart(8)}`,
    );
    const target = kind === 'sh' ? 1.3 : 1.1;
    verdicts.push(
      `p50 with isolation (${strongest.mode}) ≤ ${target}× bare for ${kind} at one in flight: ${ratio.toFixed(2)}× ${ratio <= target ? 'met' : 'MISSED'}`,
    );
    const delta = (a: IsolationMode, b: IsolationMode) =>
      modes.has(a) && modes.has(b) ? `${(med(a) - med(b)).toFixed(2)} ms` : 'n/a';
    layerRows.push(
      `  ${kind.padEnd(7)} identity switch (user − none) ${delta('user', 'none').padStart(9)}   namespaces (sandbox − user) ${delta('sandbox', 'user').padStart(9)}`,
    );
  }

  // The scratch folder on its own: make (mkdir ×2, chmod, chown) and remove, as each execution does.
  const scratchTimes: number[] = [];
  for (let i = 0; i < 300; i++) {
    const start = performance.now();
    const dir = await strongest.scratch.create(`bench${i}`);
    await strongest.scratch.remove(dir);
    scratchTimes.push(performance.now() - start);
  }
  lines.push('', 'cost of each isolation layer, through the executor (p50 differences):', ...layerRows);
  lines.push(`  scratch folder (make + remove, p50): ${p(scratchTimes, 0.5).toFixed(3)} ms`);
}
