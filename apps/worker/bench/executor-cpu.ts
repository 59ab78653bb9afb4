/**
 * CPU time for the executor bench, machine-wide: the busy time of every CPU from /proc/stat (user, nice, system, irq,
 * softirq), so that nothing escapes it — not the processes of a PID namespace, which die with it and are reaped by
 * no one whose counters a parent could read, nor the kernel's own work of tearing namespaces and mounts down, nor the
 * database's backends. It counts what else runs on the machine too: a bench measures on a quiet host.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/stat (USER_HZ: 100 on Linux, whatever the kernel's own HZ). */
const TICKS_PER_SECOND = (() => {
  const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const ticks = Number.parseInt(out.stdout ?? '', 10);
  return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
})();

/** The machine's busy CPU time so far, in ms; undefined where /proc/stat cannot be read (not Linux). */
export function machineCpuMs(): number | undefined {
  let line: string | undefined;
  try {
    line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  } catch {
    return undefined;
  }
  const fields = line?.split(/\s+/).slice(1).map(Number);
  if (!fields || fields.length < 7 || fields.some((f) => !Number.isFinite(f))) return undefined;
  // user nice system idle iowait irq softirq …: idle and iowait are not busy time.
  const [user, nice, system, , , irq, softirq] = fields as number[];
  return (
    (((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0)) * 1000) / TICKS_PER_SECOND
  );
}

/** Runs `task`, and the machine's busy CPU time it took, in ms (undefined where unmeasurable). */
export async function withCpu<T>(task: () => Promise<T>): Promise<{ result: T; cpuMs: number | undefined }> {
  const before = machineCpuMs();
  const result = await task();
  const after = machineCpuMs();
  return { result, cpuMs: before === undefined || after === undefined ? undefined : after - before };
}

/**
 * The machine's CPU time per run of `command`, in ms, run `runs` times in a loop of one small shell (not from this
 * large Node process, whose every fork would be counted): the loop's own fork per run is counted too, the same for
 * every command, so compare commands by difference. Undefined when a run fails or CPU is unmeasurable.
 */
export function cpuPerRun(
  command: readonly string[],
  runs: number,
  env: Record<string, string>,
): number | undefined {
  const loop =
    'n=$1; shift; i=0; while [ "$i" -lt "$n" ]; do "$@" >/dev/null 2>&1 </dev/null || exit 1; i=$((i+1)); done';
  const before = machineCpuMs();
  const run = spawnSync('/bin/sh', ['-c', loop, 'cpu-loop', String(runs), ...command], { env });
  const after = machineCpuMs();
  if (run.status !== 0 || before === undefined || after === undefined) return undefined;
  return (after - before) / runs;
}
