/**
 * The executor bench's closing comparison: how much each target leaves the executor over the bare spawn, beside what
 * bubblewrap alone costs at the OS floor on this host (executor-os-floor.ts) and what the executor costs without
 * isolation (executor-throughput.ts). Where bwrap's own cost is larger than a target's headroom, no executor that
 * starts a fresh sandbox per execution can meet that target on this host. Computed from the sections' measurements;
 * measures nothing itself, and prints nothing where a section could not measure.
 */
import type { Report } from './executor-harness.js';

const LATENCY_TARGETS = { sh: 1.3, python: 1.1 } as const;
const THROUGHPUT_TARGET = 0.9;

export function headroom({ lines, measured }: Report): void {
  const bwrapWall = measured.get('bwrap.wall');
  const bwrapCpu = measured.get('bwrap.cpu');
  const rows: string[] = [];
  for (const kind of ['sh', 'python'] as const) {
    const bare = measured.get(`${kind}.p50.bare`);
    const ours = measured.get(`${kind}.p50.ours`);
    const target = LATENCY_TARGETS[kind];
    if (bare !== undefined && ours !== undefined && bwrapWall !== undefined)
      rows.push(
        `  ${kind.padEnd(7)} p50 ≤ ${target}× leaves ${((target - 1) * bare).toFixed(2)} ms over bare's ${bare.toFixed(2)}; ` +
          `ours adds ${(ours - bare).toFixed(2)}; bwrap alone adds ${bwrapWall.toFixed(2)} at the OS floor`,
      );
  }
  for (const kind of ['sh', 'python'] as const) {
    const bare = measured.get(`${kind}.cpu.bare`);
    const ours = measured.get(`${kind}.cpu.ours`);
    const none = measured.get(`${kind}.cpu.none`);
    if (bare === undefined || ours === undefined || bwrapCpu === undefined) continue;
    rows.push(
      `  ${kind.padEnd(7)} ≥ ${THROUGHPUT_TARGET}× at 8 in flight leaves ${(bare / THROUGHPUT_TARGET - bare).toFixed(1)} ms of CPU per execution over bare's ${bare.toFixed(1)}; ` +
        `ours adds ${(ours - bare).toFixed(1)}` +
        (none === undefined ? '' : ` (${(none - bare).toFixed(1)} without isolation)`) +
        `; bwrap alone costs ${bwrapCpu.toFixed(1)} at the OS floor`,
    );
  }
  if (rows.length > 0)
    lines.push(
      '',
      "headroom (what each target leaves over bare, beside bubblewrap's own cost on this host):",
      ...rows,
    );
}
