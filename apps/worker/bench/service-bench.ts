/**
 * `pnpm bench` for the worker service: end-to-end throughput and latency of a trivial shell action through RabbitMQ
 * (request → publish → worker process → stored result) with 1 and 2 worker processes, beside a bare Node spawn loop
 * of the same command in the same run, as ratios; and our per-job overhead beside published figures of peers.
 * Not a test: it prints, it asserts nothing.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExecutionPublisher } from '@attune/broker';
import { isolatedBroker } from '@attune/broker/testing';
import { DEFAULT_AMQP_URL } from '@attune/config';
import { quantile as p } from '@attune/core/bench';
import { createTestDatabase } from '@attune/db/testing';
import { registerPack } from '@attune/registry';
import { requestExecution } from '../test/support/services.js';

const TOTAL = 400;
const IN_FLIGHT = 8;
const LATENCY_RUNS = 60;
const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const isolated = isolatedBroker('bench', process.env.AMQP_URL || DEFAULT_AMQP_URL);
const broker = isolated.config;

const root = mkdtempSync(join(tmpdir(), 'attune-svcbench-'));
// The workers run actions as another identity (worker.isolation auto): the pack must be readable by it.
chmodSync(root, 0o755);
const packDir = join(root, 'svcbench');
mkdirSync(join(packDir, 'actions'), { recursive: true });
writeFileSync(join(packDir, 'pack.yaml'), 'ref: svcbench\nlabel: bench\nversion: 1.0.0\n');
writeFileSync(
  join(packDir, 'actions', 'noop.yaml'),
  'name: noop\nrunner_type: shell\nentry_point: noop.sh\ntimeout: 30\n',
);
writeFileSync(join(packDir, 'actions', 'noop.sh'), '#!/bin/sh\nread -r params\necho ok\n');
chmodSync(join(packDir, 'actions', 'noop.sh'), 0o755);
const command = [existsSync('/bin/bash') ? '/bin/bash' : '/bin/sh', join(packDir, 'actions', 'noop.sh')];

const db = await createTestDatabase();
const workers: ChildProcess[] = [];
const publisher = new ExecutionPublisher(broker);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function startWorker(id: string): Promise<ChildProcess> {
  const proc = spawn(process.execPath, [BIN, 'start'], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/root',
      DATABASE_URL: db.url as string,
      ...isolated.env,
      ATTUNE__WORKER__ID: id,
      ATTUNE__WORKER__CONCURRENCY: String(IN_FLIGHT),
      ATTUNE__WORKER__HTTP_PORT: '-1',
      ATTUNE_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  workers.push(proc);
  return sleep(1500).then(() => proc);
}

function bareOnce(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0] as string, command.slice(1), {
      env: { PATH: process.env.PATH ?? '' },
      detached: true,
      stdio: 'pipe',
    });
    child.stdout.on('data', () => undefined);
    child.stdin.end('{}\n');
    child.once('error', reject);
    child.once('close', () => resolve());
  });
}

async function bareThroughput(): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next++ < TOTAL) await bareOnce();
    }),
  );
  return TOTAL / ((performance.now() - start) / 1000);
}

async function serviceThroughput(): Promise<number> {
  const ids: bigint[] = [];
  for (let i = 0; i < TOTAL; i++) ids.push(await requestExecution(db, 'svcbench.noop', {}));
  const start = performance.now();
  await Promise.all(
    ids.map((id) => publisher.publish({ execution_id: Number(id), action_ref: 'svcbench.noop' })),
  );
  for (;;) {
    const done = await db.prisma.execution.count({
      where: { id: { in: ids }, status: { in: ['succeeded', 'failed', 'timeout'] } },
    });
    if (done === TOTAL) break;
    await sleep(5);
  }
  return TOTAL / ((performance.now() - start) / 1000);
}

async function serviceLatency(): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < LATENCY_RUNS; i++) {
    const id = await requestExecution(db, 'svcbench.noop', {});
    const start = performance.now();
    await publisher.publish({ execution_id: Number(id), action_ref: 'svcbench.noop' });
    for (;;) {
      const [row] = await db.sql.query<{ status: string }>(
        'SELECT status FROM attune.execution WHERE id = $1',
        [String(id)],
        'bench_status',
      );
      if (row && row.status !== 'requested' && row.status !== 'running') break;
      await sleep(0.5);
    }
    samples.push(performance.now() - start);
  }
  return samples;
}

try {
  await registerPack(db.prisma, packDir);
  const lines = [
    'attune worker service — trivial shell action through RabbitMQ vs a bare spawn loop (same run)',
    '',
  ];
  const bareLatency: number[] = [];
  for (let i = 0; i < LATENCY_RUNS; i++) {
    const start = performance.now();
    await bareOnce();
    bareLatency.push(performance.now() - start);
  }
  const bareRate = await bareThroughput();
  lines.push(
    `bare spawn loop, ${IN_FLIGHT} in flight: ${bareRate.toFixed(0)}/s; one at a time p50 ${p(bareLatency, 0.5).toFixed(2)} ms`,
  );

  await startWorker('bench-1');
  await serviceThroughput(); // warm-up: connections, prepared statements, helper
  const one = await serviceThroughput();
  const latency = await serviceLatency();
  await startWorker('bench-2');
  const two = await serviceThroughput();
  // The command's own cost, without Node: hyperfine -N where installed, else the bare spawn from this process.
  const hf = spawnSync(
    'hyperfine',
    ['-N', '--warmup', '20', '--runs', '200', '--export-json', join(root, 'hf.json'), command.join(' ')],
    {
      env: { PATH: process.env.PATH ?? '' },
    },
  );
  const floor =
    hf.status === 0
      ? ((JSON.parse(readFileSync(join(root, 'hf.json'), 'utf8')) as { results: Array<{ median: number }> })
          .results[0]?.median ?? 0) * 1000
      : p(bareLatency, 0.5);
  const floorLabel = hf.status === 0 ? 'the command itself (hyperfine -N median)' : 'bare spawn p50';
  const overhead = p(latency, 0.5) - floor;
  lines.push(
    `1 worker  (concurrency ${IN_FLIGHT}): ${one.toFixed(0)}/s = ${(one / bareRate).toFixed(2)}× bare`,
    `2 workers (concurrency ${IN_FLIGHT} each): ${two.toFixed(0)}/s = ${(two / bareRate).toFixed(2)}× bare, ${(two / 2 / bareRate).toFixed(2)}× bare per worker (2 cores shared by both and the bench)`,
    `end-to-end latency, one at a time: p50 ${p(latency, 0.5).toFixed(2)} ms, p99 ${p(latency, 0.99).toFixed(2)} ms`,
    '',
    `per-job overhead (p50 end to end − ${floorLabel} ${floor.toFixed(2)} ms): ${overhead.toFixed(2)} ms`,
    '  published per-job overheads of peers: Windmill ~12 ms (dedicated workers), n8n 20–50 ms',
    '',
    'targets:',
    `  ≥ 0.9× bare spawn throughput per worker (1 worker): ${(one / bareRate).toFixed(2)}× ${one / bareRate >= 0.9 ? 'met' : 'MISSED'}`,
    `  per-job overhead well under Windmill's ~12 ms: ${overhead.toFixed(2)} ms ${overhead < 12 ? 'met' : 'MISSED'}`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  for (const w of workers) w.kill('SIGTERM');
  await Promise.all(
    workers.map(
      (w) => new Promise((resolve) => (w.exitCode !== null ? resolve(null) : w.once('exit', resolve))),
    ),
  );
  await publisher.close();
  await isolated.remove();
  await db.drop();
}
