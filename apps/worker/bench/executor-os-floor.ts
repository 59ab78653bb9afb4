/**
 * The OS floor of each isolation layer, without Node or the executor: hyperfine -N (installed by
 * scripts/install-sandbox.sh --bench-tools where it can) on the shell action bare, behind an identity switch
 * (setpriv, on a root worker) and inside bwrap; then the executor's p50 for the same action with isolation, as a
 * multiple of that floor. Not measured where hyperfine is missing.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BubblewrapSandbox } from '@attune/worker';
import { type Harness, p, type Report } from './executor-harness.js';

export async function osFloor(bench: Harness, { lines }: Report): Promise<void> {
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
  const sh = argvOf('sh');
  const floor = hyperfine('floor', sh);
  if (floor === undefined) {
    lines.push(
      '',
      'OS floor: hyperfine is not installed (scripts/install-sandbox.sh --bench-tools installs it); not measured',
    );
    return;
  }
  lines.push('', `OS floor (hyperfine -N, median ms): ${sh.join(' ')}: ${floor.toFixed(2)}`);
  const id = strongest.identity;
  const root = (process.getuid?.() ?? 1) === 0;
  // A root worker switches identity before bwrap; measured with setpriv, which costs one more exec than the
  // helper's switch in its fork.
  const asIdentity = root
    ? ['setpriv', `--reuid=${id.uid}`, `--regid=${id.gid}`, '--clear-groups', '--']
    : [];
  const setpriv = root ? hyperfine('uid', [...asIdentity, ...sh]) : undefined;
  if (setpriv !== undefined)
    lines.push(
      `  + identity switch (setpriv … sh): ${setpriv.toFixed(2)} (+${(setpriv - floor).toFixed(2)})`,
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
    await sandbox.scratch.remove(dir);
    if (bwrap !== undefined)
      lines.push(
        `  + namespaces (${root ? 'setpriv … ' : ''}bwrap … sh): ${bwrap.toFixed(2)} (+${(bwrap - (setpriv ?? floor)).toFixed(2)} for bwrap)`,
      );
  }
  const oursSh: number[] = [];
  for (let i = 0; i < 100; i++) oursSh.push(await ours(isolated, 'sh')());
  const ratio = p(oursSh, 0.5) / floor;
  lines.push(
    `  executor sh with isolation, p50 ${p(oursSh, 0.5).toFixed(2)} ms = ${ratio.toFixed(2)}× the floor`,
  );
}
