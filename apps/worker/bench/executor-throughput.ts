/**
 * The executor bench at eight in flight, isolation on: executions per second of the shell and the python action,
 * bare beside the executor (target: ≥ 0.9× bare), with the p99 of secret resolution inside the busy worker (target:
 * ≤ 15 ms) and the event loop's longest delay while the executor runs. At eight in flight two cores are saturated,
 * so throughput is CPU per execution: each side's is printed (machine-wide, executor-cpu.ts), and the executor's
 * again without isolation (mode none, the same helper and executor), which tells the sandbox's share from the rest.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { quantile as p } from '@attune/core/bench';
import type { ActionExecutor } from '@attune/worker';
import { withCpu } from './executor-cpu.js';
import { type Harness, type Report, throughput } from './executor-harness.js';

const EIGHT_TOTAL = 320;

export async function eightInFlight(bench: Harness, { lines, verdicts, measured }: Report): Promise<void> {
  const { strongest, executors, isolated, resolveTimes, timeBare, requested, ours } = bench;
  const unisolated = strongest.mode === 'none' ? undefined : executors.get('none');
  lines.push('', `eight in flight (executions/s, machine CPU per execution; isolation ${strongest.mode}):`);
  const cpu = (ms: number | undefined) =>
    ms === undefined ? '   n/a' : `${(ms / EIGHT_TOTAL).toFixed(1).padStart(6)} ms`;
  const run = async (executor: ActionExecutor, kind: 'sh' | 'python') => {
    const queue = await requested(kind, EIGHT_TOTAL);
    return withCpu(() => throughput(ours(executor, kind, queue), EIGHT_TOTAL));
  };
  for (const kind of ['sh', 'python'] as const) {
    const bare = await withCpu(() => throughput(timeBare(kind), EIGHT_TOTAL));
    const none = unisolated ? await run(unisolated, kind) : undefined;
    resolveTimes.length = 0;
    const lag = monitorEventLoopDelay({ resolution: 1 });
    lag.enable();
    const isolatedRun = await run(isolated, kind);
    lag.disable();
    const resolveP99 = p(resolveTimes, 0.99);
    const ratio = isolatedRun.result / bare.result;
    const side = (label: string, r: { result: number; cpuMs: number | undefined }) =>
      `${label} ${r.result.toFixed(0).padStart(5)}/s ${cpu(r.cpuMs)}`;
    lines.push(
      `  ${kind.padEnd(7)} ${side('bare', bare)}  ${side('ours', isolatedRun)}  ${ratio.toFixed(2)}×` +
        (none
          ? `   without isolation: ${side('ours', none)}  ${(none.result / bare.result).toFixed(2)}×`
          : ''),
      `          resolve p99 ${resolveP99.toFixed(2)} ms  event-loop delay max ${(lag.max / 1e6).toFixed(1)} ms`,
    );
    const record = (name: string, ms: number | undefined) => {
      if (ms !== undefined) measured.set(`${kind}.cpu.${name}`, ms / EIGHT_TOTAL);
    };
    record('bare', bare.cpuMs);
    record('ours', isolatedRun.cpuMs);
    record('none', none?.cpuMs);
    verdicts.push(
      `throughput with isolation ≥ 0.9× bare at 8 in flight (${kind}): ${ratio.toFixed(2)}× ${ratio >= 0.9 ? 'met' : 'MISSED'}`,
    );
    verdicts.push(
      `secret resolution p99 ≤ 15 ms at 8 in flight (${kind}): ${resolveP99.toFixed(2)} ms ${resolveP99 <= 15 ? 'met' : 'MISSED'}`,
    );
  }
}
