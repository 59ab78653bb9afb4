import { AttuneError } from '@attune/core';

/** Stable codes of `@attune/executions` errors. */
export const ExecutionsErrorCode = {
  NotFound: 'ATTUNE_EXECUTIONS_NOT_FOUND',
  InvalidId: 'ATTUNE_EXECUTIONS_INVALID_ID',
  EnqueueFailed: 'ATTUNE_EXECUTIONS_ENQUEUE_FAILED',
} as const;

/** No execution has this id. */
export class ExecutionNotFoundError extends AttuneError {
  constructor(id: string) {
    super({ code: ExecutionsErrorCode.NotFound, category: 'not_found', message: `No execution ${id}.` });
  }
}

/** An execution id that cannot be one: not a positive whole number, or above PostgreSQL's `bigint`. */
export class InvalidExecutionIdError extends AttuneError {
  constructor(problem: string) {
    super({
      code: ExecutionsErrorCode.InvalidId,
      category: 'invalid',
      message: `The execution id ${problem}.`,
      field: 'id',
    });
  }
}

/** The execution was created but could not be handed to the broker; it was marked `failed`. */
export class EnqueueFailedError extends AttuneError {
  /** The execution, now `failed`. */
  readonly executionId: bigint;

  constructor(executionId: bigint) {
    super({
      code: ExecutionsErrorCode.EnqueueFailed,
      category: 'unavailable',
      message: `Execution ${executionId} could not be queued: the broker is unavailable. It was marked failed.`,
    });
    this.executionId = executionId;
  }
}
