import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { WorkerConfig } from '@attune/config';
import type { EncryptionKey } from '@attune/crypto';
import type { Database } from '@attune/db';
import { resolveEntryPoint } from '@attune/registry';
import { envVarName, prepareSecretEnv, type ResolvedSecret, SecretResolver } from '@attune/secrets';
import type { Logger } from 'pino';
import { buildChildEnv } from './child-env.js';
import { SecretMasker } from './masker.js';
import { OutputCapture } from './output-capture.js';
import {
  DirectSpawner,
  HelperSpawner,
  type ProcessExit,
  type ProcessSpawner,
  SpawnFailedError,
} from './spawner.js';

/** Terminal states an execution can end in here. */
export type TerminalStatus = 'succeeded' | 'failed' | 'timeout' | 'cancelled';

/** A warning recorded on an execution. Names secrets by ref, never by value. */
export interface ExecutionWarning {
  readonly kind:
    | 'secret_skipped'
    | 'secret_missing'
    | 'secret_not_masked'
    | 'output_truncated'
    | 'action_unavailable'
    | 'worker_shutdown';
  readonly message: string;
  readonly ref?: string;
}

/** Where a secret handed to the action came from (no value). */
export interface SecretSource {
  readonly envName: string;
  readonly ref: string;
  readonly level: ResolvedSecret['level'];
  readonly overrides: readonly string[];
}

/** What {@link ActionExecutor.execute} reports. Output and result are masked, as stored. */
export interface ExecutionOutcome {
  readonly id: string;
  readonly actionRef: string;
  readonly status: TerminalStatus;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly durationMs: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly result: unknown;
  readonly warnings: readonly ExecutionWarning[];
  readonly secrets: readonly SecretSource[];
}

/** The prepared context of one execution: what the action process gets. */
export interface ExecutionContext {
  readonly argv: readonly string[];
  readonly env: Record<string, string>;
  readonly cwd: string;
  readonly stdin: string;
  readonly timeoutMs: number;
  readonly masker: SecretMasker;
  readonly warnings: ExecutionWarning[];
  readonly secrets: readonly SecretSource[];
}

/** Dependencies of {@link ActionExecutor}. */
export interface ActionExecutorOptions {
  readonly db: Database;
  readonly resolver: SecretResolver;
  readonly spawner: ProcessSpawner;
  readonly logger: Logger;
  readonly config: Pick<
    WorkerConfig,
    'workerId' | 'outputCapBytes' | 'killGraceMs' | 'maskMinLength' | 'passthroughEnv'
  >;
  /** The worker's environment, from which only the allowlist is taken. */
  readonly parentEnv: Readonly<Record<string, string | undefined>>;
  /** Interpreters; resolved with {@link resolveInterpreters} when not given. */
  readonly interpreters?: Interpreters;
}

interface ClaimedRow {
  id: string;
  action_ref: string;
  parameters: unknown;
  runner_type: 'python' | 'shell' | null;
  entry_point: string | null;
  timeout_seconds: number | null;
  expected_secrets: string[] | null;
  pack_ref: string | null;
  pack_path: string | null;
}

/** Claims the execution (only one worker can) and reads what running it needs, in one statement. */
const CLAIM_SQL = `
WITH claimed AS (
  UPDATE "attune"."execution" SET status = 'running', worker_id = $2, started_at = now()
  WHERE id = $1 AND status IN ('requested', 'scheduled')
  RETURNING id, action_id, action_ref, parameters
)
SELECT c.id::text AS id, c.action_ref, c.parameters, a.runner_type, a.entry_point, a.timeout_seconds,
       a.expected_secrets, p.ref AS pack_ref, p.path AS pack_path
FROM claimed c
LEFT JOIN "attune"."action" a ON a.id = c.action_id
LEFT JOIN "attune"."pack" p ON p.id = a.pack_id`;

const FINISH_SQL = `
UPDATE "attune"."execution"
SET status = $2::"attune"."execution_status", exit_code = $3, duration_ms = $4, stdout = $5, stderr = $6,
    stdout_truncated = $7, stderr_truncated = $8, result = $9::jsonb, warnings = $10::jsonb, finished_at = now()
WHERE id = $1 AND status = 'running' AND worker_id = $11
RETURNING id::text AS id`;

/** The interpreters actions run with, resolved once when the worker starts. */
export interface Interpreters {
  /** Absolute path of python3. */
  readonly python: string;
  /** Absolute path of bash, or sh where bash is missing. */
  readonly shell: string;
}

/**
 * Finds the real interpreters once. `python3` on PATH may be a wrapper (pyenv's shim is a shell script that costs
 * ~100 ms per start); asking python for `sys.executable` gives the binary itself.
 */
export function resolveInterpreters(
  python = 'python3',
  env: Readonly<Record<string, string | undefined>> = process.env,
): Interpreters {
  const probe = spawnSync(python, ['-c', 'import sys; print(sys.executable)'], {
    encoding: 'utf8',
    env: { PATH: env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: env.HOME ?? '/' },
  });
  const resolved = probe.status === 0 ? probe.stdout.trim() : '';
  return {
    python: resolved && isAbsolute(resolved) ? resolved : python,
    shell: existsSync('/bin/bash') ? '/bin/bash' : '/bin/sh',
  };
}

/**
 * The seed's `ActionExecutor`: claims an execution, prepares its context (secrets resolved system → pack → action
 * and injected as `SECRET_<NAME>`), runs the action in its own process group with a timeout, captures and masks
 * its output, and stores the terminal state. See docs/worker.md.
 */
export class ActionExecutor {
  readonly #o: ActionExecutorOptions;
  readonly #interpreters: Interpreters;

  constructor(options: ActionExecutorOptions) {
    this.#o = options;
    this.#interpreters = options.interpreters ?? resolveInterpreters('python3', options.parentEnv);
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
    const { db, config } = this.#o;
    const [row] = await db.sql.query<ClaimedRow>(CLAIM_SQL, [id, config.workerId], 'attune_claim_execution');
    if (!row) return null;
    const log = this.#o.logger.child({ executionId: id, action: row.action_ref, workerId: config.workerId });
    const started = performance.now();
    let context: ExecutionContext;
    try {
      context = await this.prepareExecutionContext(row);
    } catch (error) {
      const message =
        error instanceof ActionUnavailableError
          ? error.message
          : 'internal error while preparing the execution';
      if (!(error instanceof ActionUnavailableError))
        log.error({ err: errorSummary(error) }, 'preparing execution failed');
      const warnings: ExecutionWarning[] = [{ kind: 'action_unavailable', message }];
      return this.#finish(row, log, started, {
        status: 'failed',
        exit: { code: null, signal: null },
        stdout: '',
        stderr: `${message}\n`,
        warnings,
        secrets: [],
        truncated: [false, false],
        masker: new SecretMasker([], 1),
      });
    }
    log.info(
      { secretCount: context.secrets.length, warningCount: context.warnings.length },
      'execution started',
    );
    const stdout = new OutputCapture(config.outputCapBytes, context.masker.longestForm);
    const stderr = new OutputCapture(config.outputCapBytes, context.masker.longestForm);
    const proc = this.#o.spawner.spawn(
      { argv: context.argv, env: context.env, cwd: context.cwd, stdin: context.stdin },
      { onStdout: (c) => stdout.push(c), onStderr: (c) => stderr.push(c) },
    );
    let timedOut = false;
    let cancelled = false;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = () => {
      proc.kill('SIGTERM');
      killTimer ??= setTimeout(() => proc.kill('SIGKILL'), config.killGraceMs);
    };
    const timeoutTimer = setTimeout(() => {
      timedOut = true;
      log.warn({ timeoutMs: context.timeoutMs }, 'execution timed out; sending SIGTERM');
      stop();
    }, context.timeoutMs);
    // The worker is shutting down and its grace period is over: stop the action and record it cancelled.
    const onAbort = () => {
      if (timedOut) return;
      cancelled = true;
      log.warn('worker shutting down; stopping the action');
      stop();
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    let exit: ProcessExit;
    let spawnError: string | undefined;
    try {
      exit = await proc.exit;
    } catch (error) {
      exit = { code: null, signal: null };
      spawnError = error instanceof SpawnFailedError ? error.message : 'the action process failed';
    } finally {
      clearTimeout(timeoutTimer);
      clearTimeout(killTimer);
    }
    const status: TerminalStatus = timedOut
      ? 'timeout'
      : cancelled
        ? 'cancelled'
        : exit.code === 0 && !spawnError
          ? 'succeeded'
          : 'failed';
    if (cancelled) {
      context.warnings.push({
        kind: 'worker_shutdown',
        message: `Worker ${config.workerId} shut down while the action ran; it was stopped.`,
      });
    }
    for (const [name, capture] of [
      ['stdout', stdout],
      ['stderr', stderr],
    ] as const) {
      if (capture.truncated) {
        context.warnings.push({
          kind: 'output_truncated',
          message: `${name} was ${capture.total} bytes; the first ${capture.cap} were kept`,
        });
      }
    }
    const stderrText =
      stderr.finish(context.masker) +
      (spawnError ? `${spawnError}\n` : '') +
      (timedOut ? `[attune: timed out after ${context.timeoutMs / 1000} s]\n` : '');
    return this.#finish(row, log, started, {
      status,
      exit,
      stdout: stdout.finish(context.masker),
      stderr: stderrText,
      warnings: context.warnings,
      secrets: context.secrets,
      truncated: [stdout.truncated, stderr.truncated],
      masker: context.masker,
    });
  }

  /**
   * The seed's `prepare_execution_context`: resolves the action's secrets (one query), builds the child's
   * environment from the allowlist plus context plus `SECRET_*`, and the masker for this execution's values.
   * Secrets that cannot be resolved, and declared ones that do not exist, are warnings, not failures.
   */
  async prepareExecutionContext(row: ClaimedRow): Promise<ExecutionContext> {
    if (!row.runner_type || !row.entry_point || !row.pack_ref || row.timeout_seconds === null) {
      throw new ActionUnavailableError(`Action ${row.action_ref} no longer exists; register its pack again.`);
    }
    if (!row.pack_path)
      throw new ActionUnavailableError(`Pack ${row.pack_ref} has no registered folder; register it again.`);
    let script: string;
    try {
      script = resolveEntryPoint(row.pack_path, row.entry_point);
    } catch {
      throw new ActionUnavailableError(
        `Entry point ${row.entry_point} of ${row.action_ref} is missing from ${row.pack_path}/actions on worker ${this.#o.config.workerId}.`,
      );
    }
    const resolved = await this.#o.resolver.resolveForAction(row.action_ref);
    const warnings: ExecutionWarning[] = resolved.warnings.map((w) => ({
      kind: 'secret_skipped',
      ref: w.ref,
      message: w.message,
    }));
    const present = new Set([
      ...resolved.secrets.map((s) => s.envName),
      ...resolved.warnings.map((w) => w.envName),
    ]);
    for (const name of row.expected_secrets ?? []) {
      if (!present.has(envVarName(name))) {
        warnings.push({
          kind: 'secret_missing',
          message: `Secret '${name}' (${envVarName(name)}) is declared by ${row.action_ref} but not set at system, pack or action level.`,
        });
      }
    }
    const masker = new SecretMasker(resolved.secrets, this.#o.config.maskMinLength);
    for (const short of masker.unmasked) {
      warnings.push({
        kind: 'secret_not_masked',
        ref: short.ref,
        message: `Secret ${short.ref} (or a string inside it) is ${short.length} characters, under the ${this.#o.config.maskMinLength}-character minimum, and is not masked in output.`,
      });
    }
    const env = buildChildEnv({
      parentEnv: this.#o.parentEnv,
      passthrough: this.#o.config.passthroughEnv,
      context: { ATTUNE_EXECUTION_ID: row.id, ATTUNE_ACTION: row.action_ref, ATTUNE_PACK: row.pack_ref },
      secrets: prepareSecretEnv(resolved.secrets),
    });
    return {
      argv:
        row.runner_type === 'python'
          ? [this.#interpreters.python, script]
          : [this.#interpreters.shell, script],
      env,
      cwd: row.pack_path,
      stdin: `${JSON.stringify(row.parameters ?? {})}\n`,
      timeoutMs: row.timeout_seconds * 1000,
      masker,
      warnings,
      secrets: resolved.secrets.map((s) => ({
        envName: s.envName,
        ref: s.ref,
        level: s.level,
        overrides: s.overrides,
      })),
    };
  }

  async #finish(
    row: ClaimedRow,
    log: Logger,
    started: number,
    r: {
      status: TerminalStatus;
      exit: ProcessExit;
      stdout: string;
      stderr: string;
      warnings: ExecutionWarning[];
      secrets: readonly SecretSource[];
      truncated: [boolean, boolean];
      masker: SecretMasker;
    },
  ): Promise<ExecutionOutcome> {
    const durationMs = Math.round(performance.now() - started);
    // The result is parsed from the masked stdout, so it holds nothing the stored stdout does not.
    const result = parseJson(r.stdout);
    const stored = await this.#o.db.sql.query<{ id: string }>(
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
        result === undefined ? null : JSON.stringify(result),
        JSON.stringify(r.warnings),
        this.#o.config.workerId,
      ],
      'attune_finish_execution',
    );
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
      result: result ?? null,
      warnings: r.warnings,
      secrets: r.secrets,
    };
  }
}

/** The action cannot be run on this worker (gone, or its files are missing). The execution fails with this message. */
export class ActionUnavailableError extends Error {
  readonly code = 'ATTUNE_ACTION_UNAVAILABLE';
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

/**
 * Wires an executor as the worker runs it: the configured spawner and a resolver with the configured key. The
 * caller closes the returned spawner when done.
 */
export function createExecutor(options: {
  config: WorkerConfig;
  db: Database;
  encryptionKey: EncryptionKey | undefined;
  logger: Logger;
  parentEnv: Readonly<Record<string, string | undefined>>;
}): { executor: ActionExecutor; spawner: ProcessSpawner } {
  const { config, db, logger } = options;
  const spawner =
    config.spawner === 'helper' ? new HelperSpawner({ path: options.parentEnv.PATH }) : new DirectSpawner();
  const executor = new ActionExecutor({
    db,
    resolver: new SecretResolver({ sql: db.sql, encryptionKey: options.encryptionKey, logger }),
    spawner,
    logger,
    config,
    parentEnv: options.parentEnv,
  });
  return { executor, spawner };
}
