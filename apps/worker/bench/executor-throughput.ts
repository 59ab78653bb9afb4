/**
 * The executor bench at eight in flight, isolation on: executions per second of the shell and the python action,
 * bare beside the executor (target: ≥ 0.9× bare), with the p99 of secret resolution inside the busy worker (target:
 * ≤ 15 ms) and the event loop's longest delay while the executor runs.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type Harness, p, type Report, throughput } from './executor-harness.js';

const EIGHT_TOTAL = 320;

export async function eightInFlight(bench: Harness, { lines, verdicts }: Report): Promise<void> {
  const { strongest, isolated, resolveTimes, timeBare, requested, ours } = bench;
  // Eight in flight: throughput, and how long secret resolution takes inside the busy worker.
  lines.push('', `eight in flight (executions/s, isolation ${strongest.mode}):`);
  for (const kind of ['sh', 'python'] as const) {
    const bareRate = await throughput(timeBare(kind), EIGHT_TOTAL);
    resolveTimes.length = 0;
    const lag = monitorEventLoopDelay({ resolution: 1 });
    lag.enable();
    const queue = await requested(kind, EIGHT_TOTAL);
    const oursRate = await throughput(ours(isolated, kind, queue), EIGHT_TOTAL);
    lag.disable();
    const resolveP99 = p(resolveTimes, 0.99);
    const ratio = oursRate / bareRate;
    lines.push(
      `  ${kind.padEnd(7)} bare ${bareRate.toFixed(0).padStart(5)}/s  ours ${oursRate.toFixed(0).padStart(5)}/s  ${ratio.toFixed(2)}×  ` +
        `resolve p99 ${resolveP99.toFixed(2)} ms  event-loop delay max ${(lag.max / 1e6).toFixed(1)} ms`,
    );
    verdicts.push(
      `throughput with isolation ≥ 0.9× bare at 8 in flight (${kind}): ${ratio.toFixed(2)}× ${ratio >= 0.9 ? 'met' : 'MISSED'}`,
    );
    verdicts.push(
      `secret resolution p99 ≤ 15 ms at 8 in flight (${kind}): ${resolveP99.toFixed(2)} ms ${resolveP99 <= 15 ? 'met' : 'MISSED'}`,
    );
  }
}
