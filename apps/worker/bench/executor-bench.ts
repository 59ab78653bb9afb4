/**
 * `pnpm bench` for @attune/worker: the executor end to end (claim, resolve, scratch folder, spawn in the sandbox,
 * capture, mask, store) beside a bare, unsandboxed Node `child_process.spawn` of the same interpreter and script with
 * an environment of the same size, in one worker-sized process (~130 MB RSS), in the same run. Prints latency at one
 * in flight and throughput at 8 in flight with isolation on (the strongest mode this host has), the cost of each
 * isolation layer (identity switch, namespaces, scratch folder) measured through the executor, and the same layers
 * at the OS floor with hyperfine (installed by the bench's set-up, scripts/install-sandbox.sh --bench-tools, where
 * it can). Then the cost of provenance (docs/audit.md#provenance: the secrets each execution received, stored in the
 * statement of its outcome) at 8 in flight with isolation on: the same executor storing it and not, in alternating
 * rounds. Not a test: it prints, it asserts nothing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { EncryptionKey } from '@attune/crypto';
import type { SqlQueryable } from '@attune/db';
import { createTestDatabase } from '@attune/db/testing';
import { ExecutionStore, type RunEnding } from '@attune/executions';
import { registerPack } from '@attune/registry';
import { SecretResolver } from '@attune/secrets';
import {
  ActionExecutor,
  type ActionSandbox,
  BubblewrapSandbox,
  createSandbox,
  DirectSpawner,
  HelperSpawner,
  HostSandbox,
  helperIdentity,
  type IsolationMode,
  IsolationUnavailableError,
  type ProcessSpawner,
} from '@attune/worker';
import { pino } from 'pino';
import { keyService, requestExecution, testActor } from '../test/support/services.js';

const ONE_IN_FLIGHT = 120;
const EIGHT_TOTAL = 320;
const PROVENANCE_ROUNDS = 8; // per side, alternating which side goes first
const PROVENANCE_ROUND = 250;
const logger = pino({ level: 'silent' });
const key = EncryptionKey.fromPassword('executor-bench-password-0123456789abcdef');

/** The product's store, with the time of each `finish` (the statement that stores outcome and provenance). */
class TimedStore extends ExecutionStore {
  readonly finishTimes: number[] = [];

  override async finish(
    id: string,
    workerId: string,
    ending: RunEnding,
    tx?: SqlQueryable,
  ): Promise<boolean> {
    const start = performance.now();
    try {
      return await super.finish(id, workerId, ending, tx);
    } finally {
      this.finishTimes.push(performance.now() - start);
    }
  }
}

/** The bench's "provenance off": the same statement, with no secrets to store. A bench switch, not a product one. */
class NoProvenance extends TimedStore {
  override finish(id: string, workerId: string, ending: RunEnding, tx?: SqlQueryable): Promise<boolean> {
    return super.finish(id, workerId, { ...ending, secrets: [] }, tx);
  }
}

// A worker-sized process: the fork in child_process.spawn costs in proportion to it.
const ballast: Buffer[] = [];
while (process.memoryUsage().rss < 130 * 1024 * 1024) ballast.push(Buffer.alloc(8 * 1024 * 1024, 1));

// The pack must be readable by the identity actions run as.
const root = join(tmpdir(), `attune-bench-${process.pid}`);
const packDir = join(root, 'benchpack');
mkdirSync(join(packDir, 'actions'), { recursive: true });
chmodSync(root, 0o755);
writeFileSync(join(packDir, 'pack.yaml'), 'ref: benchpack\nlabel: bench\nversion: 1.0.0\n');
const scripts = {
  sh: { file: 'noop.sh', runner: 'shell', code: '#!/bin/sh\nread -r params\necho "ok $SECRET_S0"\n' },
  python: {
    file: 'noop.py',
    runner: 'python',
    code: 'import json, os, sys\njson.load(sys.stdin)\nprint(json.dumps({"ok": os.environ["SECRET_S0"]}))\n',
  },
} as const;
for (const [name, s] of Object.entries(scripts)) {
  writeFileSync(
    join(packDir, 'actions', `${name}.yaml`),
    `name: ${name}\nrunner_type: ${s.runner}\nentry_point: ${s.file}\ntimeout: 30\n`,
  );
  writeFileSync(join(packDir, 'actions', s.file), s.code);
  chmodSync(join(packDir, 'actions', s.file), 0o755);
}

/** tmpfs's magic number in statfs: where docs/worker.md recommends putting `worker.scratch_dir`. */
const TMPFS_MAGIC = 0x01021994;

/** The scratch folders' parent: a tmpfs (/dev/shm) as recommended where the host has one, else the temp folder. */
const SCRATCH_BASE = (() => {
  try {
    return statfsSync('/dev/shm').type === TMPFS_MAGIC ? '/dev/shm' : tmpdir();
  } catch {
    return tmpdir();
  }
})();

/** Whether the host has this user. */
function hasUser(name: string): boolean {
  return spawnSync('id', ['-u', name]).status === 0;
}

/** Every mode this host can run, each with a scratch root of its own. */
async function sandboxes(): Promise<Map<IsolationMode, ActionSandbox>> {
  const out = new Map<IsolationMode, ActionSandbox>();
  for (const mode of ['sandbox', 'user', 'none'] as const) {
    try {
      const { sandbox } = await createSandbox({
        config: {
          mode,
          // `user` mode as an identity of its own (nobody, where the host has it): its executor sweeps every process
          // of its identity after each run, which would kill the sandbox's helper, which runs as attune-action.
          runAs: mode === 'user' && process.getuid?.() === 0 && hasUser('nobody') ? 'nobody' : undefined,
          scratchDir: join(SCRATCH_BASE, `attune-bench-scratch-${process.getuid?.()}`),
          sandboxReadOnlyPaths: [],
        },
        workerId: `bench-${mode}-${process.pid}`,
        path: process.env.PATH,
      });
      out.set(mode, sandbox);
    } catch (error) {
      if (!(error instanceof IsolationUnavailableError)) throw error;
    }
  }
  return out;
}

// The pool a worker opens by default (database.pool_size 10): claims, resolutions and outcomes of 8 executions share it.
const db = await createTestDatabase({ poolSize: 10 });
const spawners: ProcessSpawner[] = [];
const modes = await sandboxes();
try {
  await registerPack(db.prisma, packDir);
  const keys = keyService(db, key, logger);
  for (let i = 0; i < 10; i++) {
    await keys.create(testActor, {
      owner: { type: 'system' },
      name: `s${i}`,
      value: `system-secret-value-${i}`.padEnd(32, 'x'),
      encrypted: true,
    });
    await keys.create(testActor, {
      owner: { type: 'pack', pack: 'benchpack' },
      name: `s${i}`,
      value: `pack-secret-value-${i}`.padEnd(32, 'x'),
      encrypted: true,
    });
  }
  const strongest = (modes.get('sandbox') ?? modes.get('user') ?? modes.get('none')) as ActionSandbox;
  // Every side runs the very same interpreter binaries: those the action identity finds in the strongest mode.
  const interpreters = strongest.interpreters;
  const none = modes.get('none') as ActionSandbox;
  modes.set('none', new HostSandbox('none', none.identity, interpreters, none.scratch));
  const resolver = new SecretResolver({ sql: db.sql, encryptionKey: key, logger });
  const resolveTimes: number[] = [];
  const timedResolver = {
    resolveForAction: async (ref: string) => {
      const start = performance.now();
      try {
        return await resolver.resolveForAction(ref);
      } finally {
        resolveTimes.push(performance.now() - start);
      }
    },
  };
  const makeExecutor = (
    spawner: ProcessSpawner,
    sandbox: ActionSandbox,
    executions: ExecutionStore = new ExecutionStore(db.sql),
  ) => {
    spawners.push(spawner);
    return new ActionExecutor({
      executions,
      resolver: timedResolver,
      spawner,
      sandbox,
      logger,
      config: {
        workerId: 'bench',
        outputCapBytes: 10 * 1024 * 1024,
        killGraceMs: 1000,
        maskMinLength: 6,
        passthroughEnv: [],
      },
      parentEnv: process.env,
    });
  };
  // Each mode with the helper the worker gives it (createExecutor): in the sandbox on a root worker, a helper that
  // runs as the actions' identity, so no start needs an identity switch; otherwise the worker's own.
  const helpers = new Map<IsolationMode, HelperSpawner>();
  const helperFor = (sandbox: ActionSandbox): HelperSpawner => {
    let helper = helpers.get(sandbox.mode);
    if (!helper) {
      helper = new HelperSpawner({ path: process.env.PATH, ...helperIdentity(sandbox) });
      helpers.set(sandbox.mode, helper);
    }
    return helper;
  };
  const executors = new Map(
    [...modes].map(([mode, sandbox]) => [mode, makeExecutor(helperFor(sandbox), sandbox)]),
  );
  const helper = helperFor(strongest);
  const isolated = executors.get(strongest.mode) as ActionExecutor;
  const directIsolated = makeExecutor(new DirectSpawner(), strongest);

  // The same environment size as the executor builds: base vars, context, 10 secrets.
  const bareEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: '/root',
    LANG: 'C.UTF-8',
    TMPDIR: '/tmp',
    ATTUNE_EXECUTION_ID: '123456',
    ATTUNE_ACTION: 'benchpack.sh',
    ATTUNE_PACK: 'benchpack',
  };
  for (let i = 0; i < 10; i++) bareEnv[`SECRET_S${i}`] = `pack-secret-value-${i}`.padEnd(32, 'x');
  const argvOf = (kind: keyof typeof scripts) => [
    kind === 'sh' ? interpreters.shell : interpreters.python,
    join(packDir, 'actions', scripts[kind].file),
  ];
  const bare = (kind: keyof typeof scripts) =>
    new Promise<void>((resolve, reject) => {
      const [file, ...args] = argvOf(kind);
      const child = spawn(file as string, args, {
        env: bareEnv,
        cwd: packDir,
        detached: true,
        stdio: 'pipe',
      });
      const chunks: Buffer[] = [];
      child.stdout.on('data', (c: Buffer) => chunks.push(c));
      child.stderr.on('data', () => undefined);
      child.stdin.end('{}\n');
      child.once('error', reject);
      child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`bare exited ${code}`))));
    });
  // Executions are requested beforehand, as the API would: the worker's part starts at the claim.
  const requested = async (kind: keyof typeof scripts, count: number) => {
    const ids: bigint[] = [];
    for (let i = 0; i < count; i++) ids.push(await requestExecution(db, `benchpack.${kind}`, {}));
    return ids;
  };
  const ours = (executor: ActionExecutor, kind: keyof typeof scripts, queue?: bigint[]) => async () => {
    const id = queue?.shift() ?? (await requestExecution(db, `benchpack.${kind}`, {}));
    const start = performance.now();
    const outcome = await executor.execute(id);
    if (outcome?.status !== 'succeeded')
      throw new Error(`execution ${id} ended ${outcome?.status}: ${outcome?.stderr}`);
    return performance.now() - start;
  };
  const timeBare = (kind: keyof typeof scripts) => async () => {
    const start = performance.now();
    await bare(kind);
    return performance.now() - start;
  };

  const p = (xs: number[], q: number) =>
    [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))] as number;
  const lines: string[] = [
    `@attune/worker — executor end to end vs bare unsandboxed child_process.spawn (process RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB)`,
    `isolation: ${strongest.description}; scratch folders in ${SCRATCH_BASE}`,
    `interpreters (both sides): ${interpreters.shell}, ${interpreters.python}`,
  ];
  const verdicts: string[] = [];

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

  // Eight in flight: throughput, and how long secret resolution takes inside the busy worker.
  const throughput = async (task: () => Promise<unknown>, total: number) => {
    let next = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next++ < total) await task();
      }),
    );
    return total / ((performance.now() - start) / 1000);
  };
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

  // Provenance on and off, same executor otherwise, at 8 in flight with isolation on: rounds alternate sides (and
  // which side goes first) so that drift hits both alike. The ratio judged is the median of the rounds' on/off
  // ratios: each compares two runs back to back, which the load of other processes on the host moves less than it
  // moves the ratio of the two sides' medians (printed too).
  const sides = {
    on: { store: new TimedStore(db.sql), rates: [] as number[] },
    off: { store: new NoProvenance(db.sql), rates: [] as number[] },
  };
  const sideExecutors = {
    on: makeExecutor(helper, strongest, sides.on.store),
    off: makeExecutor(helper, strongest, sides.off.store),
  };
  await throughput(ours(sideExecutors.on, 'sh'), 40);
  await throughput(ours(sideExecutors.off, 'sh'), 40);
  sides.on.store.finishTimes.length = 0;
  sides.off.store.finishTimes.length = 0;
  const roundRatios: number[] = [];
  const sampleIds: { on?: bigint; off?: bigint } = {};
  for (let round = 0; round < PROVENANCE_ROUNDS; round++) {
    const order = round % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const);
    const rate = { on: 0, off: 0 };
    for (const side of order) {
      const queue = await requested('sh', PROVENANCE_ROUND);
      sampleIds[side] = queue[0];
      rate[side] = await throughput(ours(sideExecutors[side], 'sh', queue), PROVENANCE_ROUND);
      sides[side].rates.push(rate[side]);
    }
    roundRatios.push(rate.on / rate.off);
  }
  // What each side stored, read back from one of its executions.
  const storedSecrets = async (id: bigint | undefined) =>
    (
      await db.sql.query<{ n: number }>(
        `SELECT jsonb_array_length(secrets)::int AS n FROM "attune"."execution" WHERE id = $1`,
        [String(id)],
      )
    )[0]?.n ?? '?';
  const stored = { on: await storedSecrets(sampleIds.on), off: await storedSecrets(sampleIds.off) };
  const median = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    const mid = sorted.length / 2;
    return Number.isInteger(mid)
      ? ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
      : (sorted[Math.floor(mid)] as number);
  };
  const onRate = median(sides.on.rates);
  const offRate = median(sides.off.rates);
  const provenanceRatio = median(roundRatios);
  const finishOn = p(sides.on.store.finishTimes, 0.5);
  const finishOff = p(sides.off.store.finishTimes, 0.5);
  lines.push(
    '',
    `provenance at eight in flight (sh, isolation ${strongest.mode}, ${PROVENANCE_ROUNDS} alternating rounds of ${PROVENANCE_ROUND} per side, secrets stored per execution: on ${stored.on}, off ${stored.off}):`,
    `  on  ${onRate.toFixed(0).padStart(5)}/s  off ${offRate.toFixed(0).padStart(5)}/s (medians, ${(onRate / offRate).toFixed(2)}×)  ` +
      `on/off per round ${roundRatios.map((r) => r.toFixed(2)).join(' ')}, median ${provenanceRatio.toFixed(2)}×`,
    `  finish statement p50: on ${finishOn.toFixed(2)} ms  off ${finishOff.toFixed(2)} ms  (+${(finishOn - finishOff).toFixed(2)} ms per execution)`,
  );
  verdicts.push(
    `provenance costs ≤ 5% of throughput at 8 in flight (on/off ≥ 0.95): ${provenanceRatio.toFixed(2)}× ${provenanceRatio >= 0.95 ? 'met' : 'MISSED'}`,
  );

  // The OS floor of each layer, without Node or the executor: hyperfine -N on the shell action.
  const hyperfine = (label: string, command: string[]): number | undefined => {
    const out = join(root, `hf-${label}.json`);
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
  } else {
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
        ...sandbox.args({ scratch: dir, packPath: packDir, network: true }),
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
  lines.push('', 'targets:', ...verdicts.map((v) => `  ${v}`));
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  for (const s of spawners) await s.close();
  for (const sandbox of modes.values()) await sandbox.scratch.close().catch(() => undefined);
  await db.drop();
  rmSync(root, { recursive: true, force: true });
  ballast.length = 0;
}
