import type { WorkerConfig } from '@attune/config';
import { errorSummary, type Logger } from '@attune/core';
import type { ClaimedExecution, ExecutionStore } from '@attune/executions';
import type { SecretResolver } from '@attune/secrets';
import type { SecretMasker } from '../masking/masker.js';
import { MaskerCache } from '../masking/masker-cache.js';
import type { ActionSandbox } from '../sandbox/sandbox.js';
import { createSandbox } from '../sandbox/select-sandbox.js';
import type { ProcessSpawner } from '../spawner.js';
import type { SecretDelivery } from './delivery/delivery.js';
import type { ExpiryRecorder } from './expiry-audit.js';
import { type Ending, endingOf, unavailable } from './outcome.js';
import { ActionUnavailableError, prepareExecutionContext } from './prepare-context.js';
import { type RunResult, superviseProcess } from './supervise.js';
import { type ExecutionOutcome, toSecretReceived } from './types.js';

/** Dependencies of {@link ActionExecutor}. */
export interface ActionExecutorOptions {
  /** Where executions are claimed and their ends stored. */
  readonly executions: Pick<ExecutionStore, 'claim' | 'finish'>;
  readonly resolver: Pick<SecretResolver, 'resolveForAction'>;
  readonly spawner: ProcessSpawner;
  /** How actions are confined; from {@link createSandbox}. */
  readonly sandbox: ActionSandbox;
  /** How secrets reach the action; the seed's `SECRET_<NAME>` variables when not given. */
  readonly delivery?: SecretDelivery;
  /** Where expiry refusals and grace-period deliveries are recorded (the audit log); not recorded when absent. */
  readonly expiry?: ExpiryRecorder;
  readonly logger: Logger;
  readonly config: Pick<
    WorkerConfig,
    'workerId' | 'outputCapBytes' | 'killGraceMs' | 'maskMinLength' | 'passthroughEnv'
  > &
    Partial<Pick<WorkerConfig, 'secretsPolicy'>>;
  /** The worker's environment, from which only the allowlist is taken. */
  readonly parentEnv: Readonly<Record<string, string | undefined>>;
  /** Makes each execution's masker; the default reuses a recent one for the same secrets ({@link MaskerCache}). */
  readonly createMasker?: (
    secrets: ReadonlyArray<{ ref: string; value: unknown }>,
    minLength: number,
  ) => SecretMasker;
}

/**
 * The seed's `ActionExecutor`: claims an execution, prepares its context (secrets resolved system → pack → action
 * and injected as `SECRET_<NAME>`), runs the action in its sandbox and its own scratch folder with a timeout,
 * removes the scratch folder, masks the output, and stores the terminal state. See docs/worker.md.
 */
export class ActionExecutor {
  readonly #o: ActionExecutorOptions;

  constructor(options: ActionExecutorOptions) {
    // By default, an execution with the same secrets as a recent one reuses its masker (MaskerCache).
    const maskers = new MaskerCache();
    this.#o = { ...options, createMasker: options.createMasker ?? ((list, min) => maskers.get(list, min)) };
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
    const { executions, config, sandbox } = this.#o;
    // claim → prepare (secrets resolved while the scratch folder is made) → run in the sandbox → mask → record.
    const row = await executions.claim(id, config.workerId);
    if (!row) return null;
    const log = this.#o.logger.child({ executionId: id, action: row.action_ref, workerId: config.workerId });
    const started = performance.now();
    // The secrets are resolved while the scratch folder is made: the query is sent first, then the folder (system
    // calls) is made while it is answered.
    const preparing = prepareExecutionContext(row, this.#o).then(
      (context) => ({ context }),
      (error: unknown) => ({ error }),
    );
    const scratchMade = sandbox.scratch.create(row.id).then(
      (dir) => ({ dir }),
      (error: unknown) => ({ error }),
    );
    const prepared = await preparing;
    if ('error' in prepared) {
      const { error } = prepared;
      if (!(error instanceof ActionUnavailableError))
        log.error({ err: errorSummary(error) }, 'preparing execution failed');
      const made = await scratchMade;
      if ('dir' in made)
        await sandbox.scratch
          .remove(made.dir)
          .catch((removal: unknown) =>
            log.error({ err: errorSummary(removal) }, 'scratch folder could not be removed'),
          );
      else log.error({ err: errorSummary(made.error) }, 'scratch folder could not be made');
      return this.#finish(
        row,
        log,
        started,
        unavailable(error, 'internal error while preparing the execution'),
      );
    }
    const { context } = prepared;
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
      // `file` delivery: the secrets file, written now that the folder exists; its path as the action sees it.
      let env = context.env;
      if (context.secretFile) {
        const { name, content } = context.secretFile;
        try {
          sandbox.scratch.writeFile(scratch, name, content);
        } catch (error) {
          log.error({ err: errorSummary(error) }, 'the secrets file could not be written');
          return this.#finish(row, log, started, unavailable(error, 'the secrets file could not be written'));
        }
        env = { ...env, ATTUNE_SECRETS_FILE: sandbox.scratchFilePath(scratch, name) };
      }
      const spec = sandbox.spawnSpec({ ...context, env, scratch });
      await this.#o.expiry?.delivered({ id: row.id, actionRef: row.action_ref }, context.expiredDelivered);
      run = await superviseProcess(this.#o.spawner, spec, {
        timeoutMs: context.timeoutMs,
        killGraceMs: config.killGraceMs,
        outputCapBytes: config.outputCapBytes,
        longestForm: context.masker.longestForm,
        signal: options.signal,
        log,
      });
    } finally {
      // Whatever the outcome: no process of the action outlives it, nor anything it wrote (removed before the
      // outcome is stored: an execution seen finished has no folder left).
      await this.#sweep(log);
      await sandbox.scratch
        .remove(scratch)
        .catch((error: unknown) =>
          log.error({ err: errorSummary(error) }, 'scratch folder could not be removed'),
        );
    }
    return this.#finish(row, log, started, endingOf(run, context, config.workerId));
  }

  #store(row: ClaimedExecution, r: Ending, durationMs: number): Promise<boolean> {
    return this.#o.executions.finish(row.id, this.#o.config.workerId, {
      status: r.status,
      exitCode: r.exit.code,
      durationMs,
      stdout: r.stdout,
      stderr: r.stderr,
      stdoutTruncated: r.truncated[0],
      stderrTruncated: r.truncated[1],
      result: r.result,
      warnings: r.warnings,
      secrets: r.secrets.map(toSecretReceived),
    });
  }

  /** Kills what actions left running, where the mode needs it (see {@link ActionSandbox.leftoverUid}). */
  async #sweep(log: Logger): Promise<void> {
    const uid = this.#o.sandbox.leftoverUid;
    if (uid === undefined) return;
    const killed = await this.#o.spawner.sweep(uid).catch((error: unknown) => {
      log.error({ err: errorSummary(error) }, 'processes left by actions could not be swept');
      return 0;
    });
    if (killed > 0) log.warn({ killed }, 'processes that outlived their execution were killed');
  }

  async #finish(
    row: ClaimedExecution,
    log: Logger,
    started: number,
    ending: Ending,
  ): Promise<ExecutionOutcome> {
    const durationMs = Math.round(performance.now() - started);
    let r = ending;
    let stored: boolean;
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
    if (!stored) {
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
