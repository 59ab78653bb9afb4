import { AuditLog, AuditWriteError } from '@attune/audit';
import { type Actor, actorFields, type Logger } from '@attune/core';
import { ActionNotFoundError, type PackStore, resolveParameters } from '@attune/registry';
import { EnqueueFailedError, ExecutionNotFoundError, InvalidExecutionIdError } from './errors.js';
import { type ExecutionRecord, type ExecutionStore, MAX_EXECUTION_ID } from './execution-store.js';
import { type ExecutionStatus, isTerminal } from './status.js';

/** What is published to the workers for each execution: the reference implementation's message shape. */
export interface ExecutionRequestMessage {
  readonly execution_id: number;
  readonly action_ref: string;
}

/** Dependencies of {@link ExecutionService}. */
export interface ExecutionServiceOptions {
  readonly executions: ExecutionStore;
  /** Where actions are looked up (the registry's store). */
  readonly actions: Pick<PackStore, 'findAction'>;
  /** Hands an execution to the workers (the broker's publisher); needed by {@link ExecutionService.request} only. */
  readonly publish?: ((message: ExecutionRequestMessage) => Promise<void>) | undefined;
  readonly logger: Logger;
  /** The audit log execution requests are recorded in (docs/audit.md). */
  readonly audit?: AuditLog;
}

const DEFAULT_AUDIT = new AuditLog();

/** Options of {@link ExecutionService.waitFor}. */
export interface WaitOptions {
  readonly timeoutMs: number;
  /** Between two reads (default 100 ms). */
  readonly pollMs?: number;
  /** Called when the status changes (progress for a person at a terminal). */
  readonly onStatus?: (status: ExecutionStatus, workerId: string | null) => void;
}

/**
 * Executions for an {@link Actor}: request one, read one, wait for one to end. The one implementation behind the
 * API's `/api/v1/executions` and the CLI's `attune run`.
 */
export class ExecutionService {
  readonly #o: ExecutionServiceOptions;

  constructor(options: ExecutionServiceOptions) {
    this.#o = options;
  }

  /**
   * Creates an execution in state `requested` with validated parameters, and publishes it to the workers. If
   * publishing fails, the execution is marked `failed` with an `enqueue_failed` warning instead of waiting forever.
   * @throws {ActionNotFoundError} {@link InvalidParametersError} {@link EnqueueFailedError}
   */
  async request(actor: Actor, actionRef: string, parameters: unknown = {}): Promise<bigint> {
    const { publish } = this.#o;
    if (!publish) throw new Error('ExecutionService.request needs a publisher');
    const id = await this.create(actor, actionRef, parameters);
    try {
      await publish({ execution_id: Number(id), action_ref: actionRef });
    } catch {
      await this.#o.executions.markEnqueueFailed(id);
      this.#o.logger.warn(
        { ...actorFields(actor), executionId: String(id) },
        'execution could not be queued',
      );
      throw new EnqueueFailedError(id);
    }
    return id;
  }

  /**
   * Creates an execution in state `requested` without publishing it (a caller that hands it to a worker itself).
   * @throws {ActionNotFoundError} {@link InvalidParametersError}
   */
  async create(actor: Actor, actionRef: string, parameters: unknown = {}): Promise<bigint> {
    const action = await this.#o.actions.findAction(actionRef);
    if (!action) throw new ActionNotFoundError(actionRef);
    const params = resolveParameters(actionRef, action.parameters, parameters);
    const audit = this.#o.audit ?? DEFAULT_AUDIT;
    // The request and its audit event: one statement, so they commit together or not at all (one round trip).
    let id: bigint;
    try {
      id = await this.#o.executions.create(
        { actionId: action.id, actionRef, parameters: params },
        undefined,
        audit.along({ actor, action: 'execution.requested', ref: actionRef }, { execution: 'id' }),
      );
    } catch {
      throw new AuditWriteError('execution.requested', actionRef, true);
    }
    this.#o.logger.info(
      { ...actorFields(actor), executionId: String(id), action: actionRef },
      'execution requested',
    );
    return id;
  }

  /**
   * An execution, masked as stored. `id` as given by a caller: a positive whole number up to 2^63 − 1.
   * @throws {InvalidExecutionIdError} {@link ExecutionNotFoundError}
   */
  async get(_actor: Actor, id: bigint | string): Promise<ExecutionRecord> {
    const checked = checkId(id);
    const record = await this.#o.executions.get(checked);
    if (!record) throw new ExecutionNotFoundError(String(id));
    return record;
  }

  /**
   * Waits until the execution ends; returns it, or null when `timeoutMs` passed first (it is still queued or
   * running).
   * @throws {InvalidExecutionIdError} {@link ExecutionNotFoundError}
   */
  async waitFor(actor: Actor, id: bigint | string, options: WaitOptions): Promise<ExecutionRecord | null> {
    const deadline = Date.now() + options.timeoutMs;
    let shown: ExecutionStatus | undefined;
    for (;;) {
      const record = await this.get(actor, id);
      if (record.status !== shown) {
        shown = record.status;
        options.onStatus?.(record.status, record.workerId);
      }
      if (isTerminal(record.status)) return record;
      if (Date.now() >= deadline) return null;
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 100));
    }
  }
}

function checkId(id: bigint | string): bigint {
  if (typeof id === 'string' && !/^[1-9][0-9]{0,18}$/.test(id))
    throw new InvalidExecutionIdError('must be a positive whole number');
  const value = BigInt(id);
  if (value < 1n) throw new InvalidExecutionIdError('must be a positive whole number');
  if (value > MAX_EXECUTION_ID) throw new InvalidExecutionIdError('is above the largest id (2^63 − 1)');
  return value;
}
