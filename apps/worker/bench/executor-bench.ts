/**
 * `pnpm bench` for @attune/worker: the executor end to end (claim, resolve, spawn, capture, mask, store) beside a bare
 * Node `child_process.spawn` of the same command with an environment of the same size, in one worker-sized process
 * (~130 MB RSS), in the same run. Prints latency at one in flight, throughput at 8 in flight, secret resolution p99
 * inside the worker at 8 in flight, and (where hyperfine exists) the OS floor. Not a test: it prints, it asserts nothing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { EncryptionKey } from '@attune/crypto';
import { createTestDatabase } from '@attune/db/testing';
import { registerPack, requestExecution } from '@attune/registry';
import { KeyRepository, SecretResolver } from '@attune/secrets';
import {
  ActionExecutor,
  DirectSpawner,
  HelperSpawner,
  type ProcessSpawner,
  resolveInterpreters,
} from '@attune/worker';
import { pino } from 'pino';

const ONE_IN_FLIGHT = 150;
const EIGHT_TOTAL = 320;
const logger = pino({ level: 'silent' });
const key = EncryptionKey.fromPassword('executor-bench-password-0123456789abcdef');

// A worker-sized process: the fork in child_process.spawn costs in proportion to it.
const ballast: Buffer[] = [];
while (process.memoryUsage().rss < 130 * 1024 * 1024) ballast.push(Buffer.alloc(8 * 1024 * 1024, 1));

const root = mkdtempSync(join(tmpdir(), 'attune-bench-'));
const packDir = join(root, 'benchpack');
mkdirSync(join(packDir, 'actions'), { recursive: true });
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

const db = await createTestDatabase();
const spawners: ProcessSpawner[] = [];
try {
  await registerPack(db.prisma, packDir);
  const keys = new KeyRepository({ prisma: db.prisma, encryptionKey: key, logger });
  for (let i = 0; i < 10; i++) {
    await keys.create({
      owner: { type: 'system' },
      name: `s${i}`,
      value: `system-secret-value-${i}`.padEnd(32, 'x'),
      encrypted: true,
    });
    await keys.create({
      owner: { type: 'pack', pack: 'benchpack' },
      name: `s${i}`,
      value: `pack-secret-value-${i}`.padEnd(32, 'x'),
      encrypted: true,
    });
  }
  const resolver = new SecretResolver({ sql: db.sql, encryptionKey: key, logger });
  const interpreters = resolveInterpreters();
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
  } as SecretResolver;
  const makeExecutor = (spawner: ProcessSpawner) => {
    spawners.push(spawner);
    return new ActionExecutor({
      db,
      resolver: timedResolver,
      spawner,
      logger,
      config: {
        workerId: 'bench',
        outputCapBytes: 10 * 1024 * 1024,
        killGraceMs: 1000,
        maskMinLength: 6,
        passthroughEnv: [],
      },
      parentEnv: process.env,
      interpreters,
    });
  };
  const helperExec = makeExecutor(new HelperSpawner());
  const directExec = makeExecutor(new DirectSpawner());

  // The same environment size as the executor builds: base vars, context, 10 secrets.
  const bareEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: '/root',
    LANG: 'C.UTF-8',
  };
  Object.assign(bareEnv, {
    ATTUNE_EXECUTION_ID: '123456',
    ATTUNE_ACTION: 'benchpack.sh',
    ATTUNE_PACK: 'benchpack',
  });
  for (let i = 0; i < 10; i++) bareEnv[`SECRET_S${i}`] = `pack-secret-value-${i}`.padEnd(32, 'x');
  // The very command the executor runs: the same resolved interpreters.
  const argvOf = (kind: keyof typeof scripts) =>
    kind === 'sh'
      ? [interpreters.shell, join(packDir, 'actions', 'noop.sh')]
      : [interpreters.python, join(packDir, 'actions', 'noop.py')];
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
  const ours = (executor: ActionExecutor, kind: keyof typeof scripts) => async () => {
    const id = await requestExecution(db.prisma, `benchpack.${kind}`, {});
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
    `@attune/worker — executor end to end vs bare child_process.spawn (process RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB)`,
  ];
  const verdicts: string[] = [];

  // One in flight: p50 latency, runs interleaved so drift hits both sides alike.
  lines.push(
    '',
    'one in flight (p50 ms):',
    `${'kind'.padEnd(8)} ${'bare'.padStart(7)} ${'ours'.padStart(7)} ${'ratio'.padStart(7)} ${'ours/direct'.padStart(12)}`,
  );
  for (const kind of ['sh', 'python'] as const) {
    const runs = { bare: [] as number[], ours: [] as number[], direct: [] as number[] };
    for (let i = 0; i < 10; i++) {
      await timeBare(kind)();
      await ours(helperExec, kind)();
    }
    for (let i = 0; i < ONE_IN_FLIGHT; i++) {
      runs.bare.push(await timeBare(kind)());
      runs.ours.push(await ours(helperExec, kind)());
      if (i % 3 === 0) runs.direct.push(await ours(directExec, kind)());
    }
    const ratio = p(runs.ours, 0.5) / p(runs.bare, 0.5);
    lines.push(
      `${kind.padEnd(8)} ${p(runs.bare, 0.5).toFixed(2).padStart(7)} ${p(runs.ours, 0.5).toFixed(2).padStart(7)} ${`${ratio.toFixed(2)}×`.padStart(7)} ${p(runs.direct, 0.5).toFixed(2).padStart(12)}`,
    );
    const target = kind === 'sh' ? 1.3 : 1.1;
    verdicts.push(
      `p50 ≤ ${target}× bare for ${kind} at one in flight: ${ratio.toFixed(2)}× ${ratio <= target ? 'met' : 'MISSED'}`,
    );
  }

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
  lines.push('', 'eight in flight (executions/s):');
  for (const kind of ['sh', 'python'] as const) {
    const bareRate = await throughput(timeBare(kind), EIGHT_TOTAL);
    resolveTimes.length = 0;
    const lag = monitorEventLoopDelay({ resolution: 1 });
    lag.enable();
    const oursRate = await throughput(ours(helperExec, kind), EIGHT_TOTAL);
    lag.disable();
    const resolveP99 = p(resolveTimes, 0.99);
    const ratio = oursRate / bareRate;
    lines.push(
      `  ${kind.padEnd(7)} bare ${bareRate.toFixed(0).padStart(5)}/s  ours ${oursRate.toFixed(0).padStart(5)}/s  ${ratio.toFixed(2)}×  ` +
        `resolve p99 ${resolveP99.toFixed(2)} ms  event-loop delay max ${(lag.max / 1e6).toFixed(1)} ms`,
    );
    verdicts.push(
      `throughput ≥ 0.9× bare at 8 in flight (${kind}): ${ratio.toFixed(2)}× ${ratio >= 0.9 ? 'met' : 'MISSED'}`,
    );
    verdicts.push(
      `secret resolution p99 ≤ 15 ms at 8 in flight (${kind}): ${resolveP99.toFixed(2)} ms ${resolveP99 <= 15 ? 'met' : 'MISSED'}`,
    );
  }

  // Stretch: the OS floor for the same shell command, where hyperfine is installed.
  const hf = spawnSync(
    'hyperfine',
    [
      '-N',
      '--warmup',
      '20',
      '--runs',
      '200',
      '--export-json',
      join(root, 'hf.json'),
      `${argvOf('sh').join(' ')}`,
    ],
    {
      encoding: 'utf8',
      env: bareEnv,
    },
  );
  if (hf.status === 0) {
    const { results } = JSON.parse((await import('node:fs')).readFileSync(join(root, 'hf.json'), 'utf8')) as {
      results: Array<{ median: number }>;
    };
    const floor = (results[0]?.median ?? 0) * 1000;
    const oursSh: number[] = [];
    for (let i = 0; i < 100; i++) oursSh.push(await ours(helperExec, 'sh')());
    const ratio = p(oursSh, 0.5) / floor;
    lines.push(
      '',
      `OS floor (hyperfine -N, median): ${floor.toFixed(2)} ms; executor sh p50 ${p(oursSh, 0.5).toFixed(2)} ms = ${ratio.toFixed(2)}× floor`,
    );
    verdicts.push(
      `stretch: executor sh ≤ 2× the OS floor: ${ratio.toFixed(2)}× ${ratio <= 2 ? 'met' : 'MISSED'}`,
    );
  } else {
    lines.push(
      '',
      'OS floor: hyperfine not installed (apt-get install hyperfine); stretch target not measured',
    );
  }
  lines.push('', 'targets:', ...verdicts.map((v) => `  ${v}`));
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  for (const s of spawners) await s.close();
  await db.drop();
  ballast.length = 0;
}
