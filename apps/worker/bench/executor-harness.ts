/**
 * What the executor bench's sections time with; it measures nothing itself. An executor for every isolation mode,
 * wired as the worker wires it, plus one on a direct spawner; a secret resolver that records how long each
 * resolution takes; a bare, unsandboxed child_process.spawn of the same interpreter and script with an environment of
 * the same size; the timers, the percentile and the throughput loop the sections share; the report they fill.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { TestDatabase } from '@attune/db/testing';
import { ExecutionStore } from '@attune/executions';
import { SecretResolver } from '@attune/secrets';
import {
  ActionExecutor,
  type ActionSandbox,
  DirectSpawner,
  HelperSpawner,
  HostSandbox,
  helperIdentity,
  type Interpreters,
  type IsolationMode,
  type ProcessSpawner,
} from '@attune/worker';
import { requestExecution } from '../test/support/services.js';
import { type BenchPack, key, logger, type ScriptKind, scripts } from './executor-fixture.js';

/**
 * What the bench prints, filled section by section: its lines, the verdicts printed under "targets:", and the
 * measurements the closing "headroom" lines compare across sections (ms, by name; see executor-headroom.ts).
 */
export interface Report {
  readonly lines: string[];
  readonly verdicts: string[];
  readonly measured: Map<string, number>;
}

export interface Harness {
  readonly db: TestDatabase;
  readonly pack: BenchPack;
  /** Every mode this host can run, in order sandbox, user, none. */
  readonly modes: Map<IsolationMode, ActionSandbox>;
  /** The strongest mode this host has: the one "with isolation" means. */
  readonly strongest: ActionSandbox;
  /** The interpreter binaries every side runs. */
  readonly interpreters: Interpreters;
  /** How long each secret resolution took, in ms, every executor alike; a section may empty it. */
  readonly resolveTimes: number[];
  /** An executor over the bench's database and timed resolver; its spawner is closed at the end. */
  makeExecutor(spawner: ProcessSpawner, sandbox: ActionSandbox, executions?: ExecutionStore): ActionExecutor;
  /** Each mode's executor, with the helper the worker gives it. */
  readonly executors: Map<IsolationMode, ActionExecutor>;
  /** The helper of the strongest mode. */
  readonly helper: HelperSpawner;
  /** The strongest mode's executor. */
  readonly isolated: ActionExecutor;
  /** The strongest mode on a direct spawner (the worker's own child_process.spawn) instead of the helper. */
  readonly directIsolated: ActionExecutor;
  /** The bare side's environment. */
  readonly bareEnv: Record<string, string>;
  /** The interpreter and script of an action, as the bare side runs them. */
  argvOf(kind: ScriptKind): string[];
  /** One bare run, timed: resolves to its ms. */
  timeBare(kind: ScriptKind): () => Promise<number>;
  /** `count` executions of the action, requested beforehand. */
  requested(kind: ScriptKind, count: number): Promise<bigint[]>;
  /** One execution through `executor`, timed from the claim: resolves to its ms. Takes its id from `queue` if given. */
  ours(executor: ActionExecutor, kind: ScriptKind, queue?: bigint[]): () => Promise<number>;
}

/** Runs `task` `total` times, 8 at a time: executions per second. */
export const throughput = async (task: () => Promise<unknown>, total: number) => {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next++ < total) await task();
    }),
  );
  return total / ((performance.now() - start) / 1000);
};

/** Builds the harness; every spawner it makes goes into `spawners`, for the caller to close. */
export function createHarness(options: {
  db: TestDatabase;
  pack: BenchPack;
  modes: Map<IsolationMode, ActionSandbox>;
  spawners: ProcessSpawner[];
}): Harness {
  const { db, pack, modes, spawners } = options;
  const { packDir } = pack;
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
  const argvOf = (kind: ScriptKind) => [
    kind === 'sh' ? interpreters.shell : interpreters.python,
    join(packDir, 'actions', scripts[kind].file),
  ];
  const bare = (kind: ScriptKind) =>
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
  const requested = async (kind: ScriptKind, count: number) => {
    const ids: bigint[] = [];
    for (let i = 0; i < count; i++) ids.push(await requestExecution(db, `benchpack.${kind}`, {}));
    return ids;
  };
  const ours = (executor: ActionExecutor, kind: ScriptKind, queue?: bigint[]) => async () => {
    const id = queue?.shift() ?? (await requestExecution(db, `benchpack.${kind}`, {}));
    const start = performance.now();
    const outcome = await executor.execute(id);
    if (outcome?.status !== 'succeeded')
      throw new Error(`execution ${id} ended ${outcome?.status}: ${outcome?.stderr}`);
    return performance.now() - start;
  };
  const timeBare = (kind: ScriptKind) => async () => {
    const start = performance.now();
    await bare(kind);
    return performance.now() - start;
  };

  return {
    db,
    pack,
    modes,
    strongest,
    interpreters,
    resolveTimes,
    makeExecutor,
    executors,
    helper,
    isolated,
    directIsolated,
    bareEnv,
    argvOf,
    timeBare,
    requested,
    ours,
  };
}
