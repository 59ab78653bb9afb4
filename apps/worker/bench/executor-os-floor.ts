/**
 * The OS floor of each isolation layer, without Node or the executor: hyperfine -N (installed by
 * scripts/install-sandbox.sh --bench-tools where it can) on the shell action bare, behind an identity switch
 * (setpriv, on a root worker) and inside bwrap, each with the machine's CPU time per run (a loop of one small shell,
 * executor-cpu.ts: hyperfine's own counters miss what dies with a PID namespace); then the executor's p50 for the same
 * action with isolation, as a multiple of that floor. Not measured where hyperfine is missing.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { quantile as p } from '@attune/core/bench';
import { BubblewrapSandbox } from '@attune/worker';
import { cpuPerRun } from './executor-cpu.js';
import type { Harness, Report } from './executor-harness.js';

export async function osFloor(bench: Harness, { lines, measured }: Report): Promise<void> {
  const { pack, modes, strongest, interpreters, isolated, bareEnv, argvOf, ours } = bench;
  // The OS floor of each layer, without Node or the executor: hyperfine -N on the shell action.
  const hyperfine = (label: string, command: string[]): number | undefined => {
    const out = join(pack.root, `hf-${label}.json`);
    const hf = spawnSync(
      'hyperfine',
      ['-N', '--warmup', '20', '--runs', '200', '--export-json', out, command.join(' ')],
      { encoding: 'utf8', env: bareEnv },
    );
    if (hf.status !== 0) return undefined;
    const { results } = JSON.parse(readFileSync(out, 'utf8')) as { results: Array<{ median: number }> };
    return (results[0]?.median ?? 0) * 1000;
  };
  const CPU_RUNS = 200;
  const cpu = (command: string[]) => cpuPerRun(command, CPU_RUNS, bareEnv);
  const cpuText = (ms: number | undefined, base?: number) =>
    ms === undefined
      ? 'CPU n/a'
      : `CPU ${ms.toFixed(2)}${base === undefined ? '' : ` (+${(ms - base).toFixed(2)})`}`;
  const sh = argvOf('sh');
  const floor = hyperfine('floor', sh);
  if (floor === undefined) {
    lines.push(
      '',
      'OS floor: hyperfine is not installed (scripts/install-sandbox.sh --bench-tools installs it); not measured',
    );
    return;
  }
  const floorCpu = cpu(sh);
  lines.push(
    '',
    `OS floor (hyperfine -N, median ms; machine CPU ms per run in a shell loop of ${CPU_RUNS}): ${sh.join(' ')}: ${floor.toFixed(2)}, ${cpuText(floorCpu)}`,
  );
  const id = strongest.identity;
  const root = (process.getuid?.() ?? 1) === 0;
  // A root worker switches identity before bwrap; measured with setpriv, which costs one more exec than the
  // helper's switch in its fork.
  const asIdentity = root
    ? ['setpriv', `--reuid=${id.uid}`, `--regid=${id.gid}`, '--clear-groups', '--']
    : [];
  const setpriv = root ? hyperfine('uid', [...asIdentity, ...sh]) : undefined;
  const setprivCpu = root ? cpu([...asIdentity, ...sh]) : undefined;
  if (setpriv !== undefined)
    lines.push(
      `  + identity switch (setpriv … sh): ${setpriv.toFixed(2)} (+${(setpriv - floor).toFixed(2)}), ${cpuText(setprivCpu, floorCpu)}`,
    );
  const sandbox = modes.get('sandbox');
  if (sandbox instanceof BubblewrapSandbox) {
    const dir = await sandbox.scratch.create('hyperfine');
    const wrapped = [
      ...asIdentity,
      sandbox.bwrap.path,
      ...sandbox.args({ scratch: dir, packPath: pack.packDir, network: true }),
      interpreters.shell,
      '/pack/actions/noop.sh',
    ];
    const bwrap = hyperfine('bwrap', wrapped);
    const bwrapCpu = cpu(wrapped);
    await sandbox.scratch.remove(dir);
    const cpuBase = root ? setprivCpu : floorCpu;
    if (bwrap !== undefined) {
      lines.push(
        `  + namespaces (${root ? 'setpriv … ' : ''}bwrap … sh): ${bwrap.toFixed(2)} (+${(bwrap - (setpriv ?? floor)).toFixed(2)} for bwrap), ${cpuText(bwrapCpu, cpuBase)}`,
      );
      measured.set('bwrap.wall', bwrap - (setpriv ?? floor));
      if (bwrapCpu !== undefined && cpuBase !== undefined) measured.set('bwrap.cpu', bwrapCpu - cpuBase);
    }
  }
  const oursSh: number[] = [];
  for (let i = 0; i < 100; i++) oursSh.push(await ours(isolated, 'sh')());
  const ratio = p(oursSh, 0.5) / floor;
  lines.push(
    `  executor sh with isolation, p50 ${p(oursSh, 0.5).toFixed(2)} ms = ${ratio.toFixed(2)}× the floor`,
  );
}
