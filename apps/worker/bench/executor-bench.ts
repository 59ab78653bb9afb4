/**
 * `pnpm bench` for @attune/worker: the executor end to end (claim, resolve, scratch folder, spawn in the sandbox,
 * capture, mask, store) beside a bare, unsandboxed Node `child_process.spawn` of the same interpreter and script with
 * an environment of the same size, in one worker-sized process (~130 MB RSS), in the same run. Prints latency at one
 * in flight and throughput at 8 in flight with isolation on (the strongest mode this host has), the cost of each
 * isolation layer (identity switch, namespaces, scratch folder) measured through the executor, and the same layers
 * at the OS floor with hyperfine (installed by the bench's set-up, scripts/install-sandbox.sh --bench-tools, where
 * it can). Then the cost of provenance (docs/audit.md#provenance: the secrets each execution received, stored in the
 * statement of its outcome) at 8 in flight with isolation on: the same executor storing it and not, in alternating
 * rounds. Last, the headroom each target leaves beside bubblewrap's own cost on this host. Not a test: it prints, it
 * asserts nothing.
 *
 * This file sets the bench up, runs its sections in order and prints them: executor-fixture.ts (ballast, pack,
 * sandboxes, secrets), executor-harness.ts (executors, bare spawn, timers), then executor-latency.ts (one in flight,
 * layer costs), executor-throughput.ts (eight in flight), executor-provenance.ts, executor-os-floor.ts,
 * executor-headroom.ts; executor-cpu.ts measures CPU for them.
 */
import { rmSync } from 'node:fs';
import { createTestDatabase } from '@attune/db/testing';
import type { ProcessSpawner } from '@attune/worker';
import {
  allocateBallast,
  registerPackAndSecrets,
  SCRATCH_BASE,
  sandboxes,
  writeBenchPack,
} from './executor-fixture.js';
import { createHarness, type Report } from './executor-harness.js';
import { headroom } from './executor-headroom.js';
import { oneInFlight } from './executor-latency.js';
import { osFloor } from './executor-os-floor.js';
import { provenance } from './executor-provenance.js';
import { eightInFlight } from './executor-throughput.js';

const ballast = allocateBallast();
const pack = writeBenchPack();

// The pool a worker opens by default (database.pool_size 10): claims, resolutions and outcomes of 8 executions share it.
const db = await createTestDatabase({ poolSize: 10 });
const spawners: ProcessSpawner[] = [];
const modes = await sandboxes();
try {
  await registerPackAndSecrets(db, pack.packDir);
  const bench = createHarness({ db, pack, modes, spawners });
  const { strongest, interpreters } = bench;
  const report: Report = {
    lines: [
      `@attune/worker — executor end to end vs bare unsandboxed child_process.spawn (process RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB)`,
      `isolation: ${strongest.description}; scratch folders in ${SCRATCH_BASE}`,
      `interpreters (both sides): ${interpreters.shell}, ${interpreters.python}`,
    ],
    verdicts: [],
    measured: new Map(),
  };

  await oneInFlight(bench, report);
  await eightInFlight(bench, report);
  await provenance(bench, report);
  await osFloor(bench, report);
  headroom(report);

  report.lines.push('', 'targets:', ...report.verdicts.map((v) => `  ${v}`));
  process.stdout.write(`${report.lines.join('\n')}\n`);
} finally {
  for (const s of spawners) await s.close();
  for (const sandbox of modes.values()) await sandbox.scratch.close().catch(() => undefined);
  await db.drop();
  rmSync(pack.root, { recursive: true, force: true });
  ballast.length = 0;
}
