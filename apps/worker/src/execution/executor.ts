import type { WorkerConfig } from '@attune/config';
import type { EncryptionKey } from '@attune/crypto';
import type { Database } from '@attune/db';
import { SecretResolver } from '@attune/secrets';
import type { Logger } from 'pino';
import { HelperSpawner } from '../helper-spawner.js';
import { maskJsonNumbers } from '../masking/json-numbers.js';
import type { SecretMasker } from '../masking/masker.js';
import type { ActionSandbox } from '../sandbox/sandbox.js';
import { createSandbox } from '../sandbox/select-sandbox.js';
import { DirectSpawner, type ProcessExit, type ProcessSpawner } from '../spawner.js';
import {
  ActionUnavailableError,
  type ClaimedRow,
  type ExecutionContext,
  prepareExecutionContext,
} from './prepare-context.js';
import { storableText, storableValue } from './storable.js';
import { type RunResult, superviseProcess } from './supervise.js';
import type { ExecutionOutcome, ExecutionWarning, SecretSource, TerminalStatus } from './types.js';

/** Dependencies of {@link ActionExecutor}. */
export interface ActionExecutorOptions {
  readonly db: Database;
  readonly resolver: Pick<SecretResolver, 'resolveForAction'>;
  readonly spawner: ProcessSpawner;
  /** How actions are confined; from {@link createSandbox}. */
  readonly sandbox: ActionSandbox;
  readonly logger: Logger;
  readonly config: Pick<
    WorkerConfig,
    'workerId' | 'outputCapBytes' | 'killGraceMs' | 'maskMinLength' | 'passthroughEnv'
  >;
  /** The worker's environment, from which only the allowlist is taken. */
  readonly parentEnv: Readonly<Record<string, string | undefined>>;
  /** Makes each execution's masker; the default is {@link SecretMasker}. */
  readonly createMasker?: (
    secrets: ReadonlyArray<{ ref: string; value: unknown }>,
    minLength: number,
  ) => SecretMasker;
}

/** Claims the execution (only one worker can) and reads what running it needs, in one statement. */
const CLAIM_SQL = `
WITH claimed AS (
  UPDATE "attune"."execution" SET status = 'running', worker_id = $2, started_at = now()
  WHERE id = $1 AND status IN ('requested', 'scheduled')
  RETURNING id, action_id, action_ref, parameters
)
SELECT c.id::text AS id, c.action_ref, c.parameters, a.runner_type, a.entry_point, a.timeout_seconds,
       a.expected_secrets, a.network, p.ref AS pack_ref, p.path AS pack_path
FROM claimed c
LEFT JOIN "attune"."action" a ON a.id = c.action_id
LEFT JOIN "attune"."pack" p ON p.id = a.pack_id`;

const FINISH_SQL = `
UPDATE "attune"."execution"
SET status = $2::"attune"."execution_status", exit_code = $3, duration_ms = $4, stdout = $5, stderr = $6,
    stdout_truncated = $7, stderr_truncated = $8, result = $9::jsonb, warnings = $10::jsonb, finished_at = now()
WHERE id = $1 AND status = 'running' AND worker_id = $11
RETURNING id::text AS id`;

/** What is stored of an execution's end. */
interface Ending {
  status: TerminalStatus;
  exit: ProcessExit;
  stdout: string;
  stderr: string;
  result: unknown;
  warnings: ExecutionWarning[];
  secrets: readonly SecretSource[];
  truncated: [boolean, boolean];
}

/**
 * The seed's `ActionExecutor`: claims an execution, prepares its context (secrets resolved system → pack → action
 * and injected as `SECRET_<NAME>`), runs the action in its sandbox and its own scratch folder with a timeout,
 * removes the scratch folder, masks the output, and stores the terminal state. See docs/worker.md.
 */
export class ActionExecutor {
  readonly #o: ActionExecutorOptions;

  constructor(options: ActionExecutorOptions) {
    this.#o = options;
  }

  /** How this executor confines actions. */
  get sandbox(): ActionSandbox {
    return this.#o.sandbox;
  }

  /**
   * Runs one execution to its terminal state and stores it. Returns null when the execution is not claimable
   * (already running elsewhere, finished, or unknown): another worker has it, or had it.
   */
  async execute(
    executionId: bigint | string,
    options: { signal?: AbortSignal } = {},
  ): Promise<ExecutionOutcome | null> {
    const id = String(executionId);
    const { db, config, sandbox } = this.#o;
    const [row] = await db.sql.query<ClaimedRow>(CLAIM_SQL, [id, config.workerId], 'attune_claim_execution');
    if (!row) return null;
    const log = this.#o.logger.child({ executionId: id, action: row.action_ref, workerId: config.workerId });
    const started = performance.now();
    // The scratch folder is made while the secrets are resolved: neither waits for the other.
    const scratchMade = sandbox.scratch.create(row.id).then(
      (dir) => ({ dir }),
      (error: unknown) => ({ error }),
    );
    let context: ExecutionContext;
    try {
      context = await prepareExecutionContext(row, this.#o);
    } catch (error) {
      if (!(error instanceof ActionUnavailableError))
        log.error({ err: errorSummary(error) }, 'preparing execution failed');
      const made = await scratchMade;
      if ('dir' in made) await sandbox.scratch.remove(made.dir).catch(() => undefined);
      return this.#finish(
        row,
        log,
        started,
        unavailable(error, 'internal error while preparing the execution'),
      );
    }
    const made = await scratchMade;
    if ('error' in made) {
      log.error({ err: errorSummary(made.error) }, 'scratch folder could not be made');
      return this.#finish(row, log, started, unavailable(made.error, 'the scratch folder could not be made'));
    }
    const scratch = made.dir;
    log.info(
      { secretCount: context.secrets.length, warningCount: context.warnings.length, isolation: sandbox.mode },
      'execution started',
    );
    let run: RunResult;
    try {
      const spec = sandbox.spawnSpec({ ...context, scratch });
      run = await superviseProcess(this.#o.spawner, spec, {
        timeoutMs: context.timeoutMs,
        killGraceMs: config.killGraceMs,
        outputCapBytes: config.outputCapBytes,
        longestForm: context.masker.longestForm,
        signal: options.signal,
        log,
      });
    } finally {
      // Whatever the outcome: no process of the action outlives it, nor anything it wrote.
      await this.#sweep(log);
      await sandbox.scratch
        .remove(scratch)
        .catch((error: unknown) =>
          log.error({ err: errorSummary(error) }, 'scratch folder could not be removed'),
        );
    }
    return this.#finish(row, log, started, endingOf(run, context, config.workerId));
  }

  #store(row: ClaimedRow, r: Ending, durationMs: number): Promise<Array<{ id: string }>> {
    return this.#o.db.sql.query<{ id: string }>(
      FINISH_SQL,
      [
        row.id,
        r.status,
        r.exit.code,
        durationMs,
        r.stdout,
        r.stderr,
        r.truncated[0],
        r.truncated[1],
        r.result === undefined ? null : JSON.stringify(r.result),
        JSON.stringify(r.warnings),
        this.#o.config.workerId,
      ],
      'attune_finish_execution',
    );
  }

  /** Kills what actions left running, where the mode needs it (see {@link ActionSandbox.leftoverUid}). */
  async #sweep(log: Logger): Promise<void> {
    const uid = this.#o.sandbox.leftoverUid;
    if (uid === undefined) return;
    const killed = await this.#o.spawner.sweep(uid).catch(() => 0);
    if (killed > 0) log.warn({ killed }, 'processes that outlived their execution were killed');
  }

  async #finish(row: ClaimedRow, log: Logger, started: number, ending: Ending): Promise<ExecutionOutcome> {
    const durationMs = Math.round(performance.now() - started);
    let r = ending;
    let stored: Array<{ id: string }>;
    try {
      stored = await this.#store(row, r, durationMs);
    } catch (error) {
      // Data the database refuses (SQLSTATE class 22) is the output's fault, not the database's: store the
      // outcome without it, rather than requeue and lose the execution as abandoned.
      if (!String((error as { code?: unknown }).code ?? '').startsWith('22')) throw error;
      log.error(
        { err: errorSummary(error) },
        'the output could not be stored; storing the outcome without it',
      );
      r = {
        ...r,
        status: 'failed',
        stdout: '',
        stderr: '[attune: output withheld: the database refused it]\n',
        result: undefined,
        warnings: [
          ...r.warnings,
          { kind: 'output_withheld', message: "The action's output could not be stored; it was withheld." },
        ],
      };
      stored = await this.#store(row, r, durationMs);
    }
    if (stored.length === 0) {
      // Another worker's reaper declared it abandoned (our heartbeats stopped reaching the database); its record stands.
      log.warn({ status: r.status }, 'execution was marked abandoned meanwhile; outcome not stored');
    }
    log.info(
      {
        status: r.status,
        exitCode: r.exit.code,
        signal: r.exit.signal,
        durationMs,
        warnings: r.warnings.length,
      },
      'execution finished',
    );
    return {
      id: row.id,
      actionRef: row.action_ref,
      status: r.status,
      exitCode: r.exit.code,
      signal: r.exit.signal,
      durationMs,
      stdout: r.stdout,
      stderr: r.stderr,
      result: r.result ?? null,
      warnings: r.warnings,
      secrets: r.secrets,
    };
  }
}

/** The ending of an execution that could not be started here. */
function unavailable(error: unknown, internal: string): Ending {
  const message = error instanceof ActionUnavailableError ? error.message : `The worker failed: ${internal}.`;
  return {
    status: 'failed',
    exit: { code: null, signal: null },
    stdout: '',
    stderr: `${message}\n`,
    result: undefined,
    warnings: [{ kind: 'action_unavailable', message }],
    secrets: [],
    truncated: [false, false],
  };
}

/**
 * The ending of a run: its status, and its output masked. The result is parsed from the raw stdout and then masked
 * as data, so a secret the action printed with any JSON escaping is caught once decoded. When masking fails, the
 * output is withheld (never stored unmasked) and the execution fails.
 */
function endingOf(run: RunResult, context: ExecutionContext, workerId: string): Ending {
  const { masker, warnings } = context;
  const status: TerminalStatus = run.timedOut
    ? 'timeout'
    : run.cancelled
      ? 'cancelled'
      : run.exit.code === 0 && !run.spawnError
        ? 'succeeded'
        : 'failed';
  if (run.cancelled) {
    warnings.push({
      kind: 'worker_shutdown',
      message: `Worker ${workerId} shut down while the action ran; it was stopped.`,
    });
  }
  for (const [name, capture] of [
    ['stdout', run.stdout],
    ['stderr', run.stderr],
  ] as const) {
    if (capture.truncated) {
      warnings.push({
        kind: 'output_truncated',
        message: `${name} was ${capture.total} bytes; the first ${capture.cap} were kept`,
      });
    }
  }
  const notes =
    (run.spawnError ? `${run.spawnError}\n` : '') +
    (run.timedOut ? `[attune: timed out after ${context.timeoutMs / 1000} s]\n` : '');
  const truncated: [boolean, boolean] = [run.stdout.truncated, run.stderr.truncated];
  try {
    const stdout = storableText(run.stdout.finish(masker));
    const stderr = storableText(run.stderr.finish(masker)) + notes;
    let parsed: unknown;
    if (!run.stdout.truncated) {
      const raw = run.stdout.text();
      // Numbers holding a secret are masked in the text, before parsing rounds them (only needed when the text
      // holds a secret at all, i.e. when masking changed it).
      parsed = parseJson(stdout === storableText(raw) ? raw : maskJsonNumbers(raw, masker));
    }
    const result = parsed === undefined ? undefined : storableValue(masker.maskValue(parsed));
    return { status, exit: run.exit, stdout, stderr, result, warnings, secrets: context.secrets, truncated };
  } catch (error) {
    const kind = (error as Error)?.name ?? 'Error';
    warnings.push({
      kind: 'output_withheld',
      message: `The action's output could not be masked (${kind}); it was withheld rather than stored unmasked.`,
    });
    return {
      status: 'failed',
      exit: run.exit,
      stdout: '',
      stderr: `[attune: output withheld: it could not be masked (${kind})]\n${notes}`,
      result: undefined,
      warnings,
      secrets: context.secrets,
      truncated,
    };
  }
}

function parseJson(text: string): unknown {
  const trimmed = text.trim();
  if (!trimmed || !/^[[{"\d\-tfn]/.test(trimmed)) return undefined;
  try {
    return JSON.parse(trimmed);
  } catch {
    return undefined;
  }
}

function errorSummary(error: unknown): { name: string; code?: string } {
  // Class and code only: an error's message may quote data.
  const e = error as { name?: string; code?: unknown };
  return { name: e?.name ?? 'Error', ...(typeof e?.code === 'string' ? { code: e.code } : {}) };
}

/** An executor as the worker runs it, and what to close when done. */
export interface WorkerExecutor {
  readonly executor: ActionExecutor;
  readonly spawner: ProcessSpawner;
  readonly sandbox: ActionSandbox;
  /** Stops the spawner (killing what still runs) and removes this worker's scratch folders. */
  close(): Promise<void>;
}

/**
 * Wires an executor as the worker runs it: the isolation chosen for this host (logged, with a loud warning when
 * there is none), the configured spawner, and a resolver with the configured key.
 * @throws {IsolationUnavailableError} when the configuration requires a mode this host cannot give.
 */
export async function createExecutor(options: {
  config: WorkerConfig;
  db: Database;
  encryptionKey: EncryptionKey | undefined;
  logger: Logger;
  parentEnv: Readonly<Record<string, string | undefined>>;
}): Promise<WorkerExecutor> {
  const { config, db, logger } = options;
  const { sandbox, notes } = await createSandbox({
    config: config.isolation,
    workerId: config.workerId,
    path: options.parentEnv.PATH,
  });
  logIsolation(logger, sandbox, notes);
  const spawner =
    config.spawner === 'helper'
      ? new HelperSpawner({
          path: options.parentEnv.PATH,
          ...helperIdentity(sandbox),
          onHelperExit: (exit) =>
            logger.error(
              { reason: exit.reason, executionsLost: exit.lost, restarts: exit.restarts },
              'spawn helper died; its executions failed, and a new helper starts with the next one',
            ),
        })
      : new DirectSpawner();
  // What an earlier worker's actions left running as the actions' identity.
  if (sandbox.leftoverUid !== undefined) {
    const killed = await spawner.sweep(sandbox.leftoverUid);
    if (killed > 0) logger.warn({ killed }, 'processes left by earlier actions were killed at start');
  }
  const executor = new ActionExecutor({
    db,
    resolver: new SecretResolver({ sql: db.sql, encryptionKey: options.encryptionKey, logger }),
    spawner,
    sandbox,
    logger,
    config,
    parentEnv: options.parentEnv,
  });
  return {
    executor,
    spawner,
    sandbox,
    async close() {
      await spawner.close();
      await sandbox.scratch.close().catch(() => undefined);
    },
  };
}

/**
 * In the sandbox on a root worker, the spawn helper runs as the actions' identity, with the python3 that identity
 * found: no root process then parses requests or starts actions, and no start needs an identity switch (a fork
 * instead of a vfork). Sandboxed actions cannot see it (it is outside their PID namespace). In `user` mode it stays
 * the worker's: there, actions share the helper's would-be uid and could read its memory, which holds the
 * requests — the secrets — of other executions.
 */
function helperIdentity(sandbox: ActionSandbox): {
  identity?: { uid: number; gid: number };
  python?: string;
} {
  const self = process.getuid?.();
  if (
    sandbox.mode !== 'sandbox' ||
    sandbox.identity.uid === self ||
    !sandbox.interpreters.python.startsWith('/')
  )
    return {};
  return {
    identity: { uid: sandbox.identity.uid, gid: sandbox.identity.gid },
    python: sandbox.interpreters.python,
  };
}

/** States the isolation mode at start; `none` is a loud warning every time. */
export function logIsolation(logger: Logger, sandbox: ActionSandbox, notes: readonly string[]): void {
  for (const note of notes) logger.warn({ isolation: sandbox.mode }, note);
  const fields = {
    isolation: sandbox.mode,
    runAs: { uid: sandbox.identity.uid, gid: sandbox.identity.gid, name: sandbox.identity.name },
    scratchDir: sandbox.scratch.path,
    interpreters: sandbox.interpreters,
  };
  if (sandbox.mode === 'none') {
    logger.warn(
      fields,
      'ACTION ISOLATION IS OFF (worker.isolation none): every action runs as this worker and can read its environment and memory ' +
        '(the encryption key, DATABASE_URL, AMQP_URL) and the secrets of every other action. For development only: ' +
        'install bubblewrap (scripts/install-sandbox.sh) or start the worker as root.',
    );
  } else {
    logger.info(fields, `action isolation: ${sandbox.description}`);
  }
}
