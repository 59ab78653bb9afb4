/**
 * `@attune/executions`: the one store of `attune.execution` and `attune.worker`, the one list of statuses and
 * warning kinds, the one wire shape, and the one implementation of requesting and waiting for a run (API and CLI).
 * Concepts: docs/glossary.md#execution, docs/deployment.md#failure-semantics.
 */
export {
  EnqueueFailedError,
  ExecutionNotFoundError,
  ExecutionsErrorCode,
  InvalidExecutionIdError,
} from './errors.js';
export {
  type ExecutionRequestedResource,
  type ExecutionResource,
  toExecutionResource,
} from './execution-dto.js';
export {
  type ExecutionRequestMessage,
  ExecutionService,
  type ExecutionServiceOptions,
  type WaitOptions,
} from './execution-service.js';
export {
  type ClaimedExecution,
  type ExecutionRecord,
  ExecutionStore,
  MAX_EXECUTION_ID,
  type RunEnding,
  type SecretReceived,
  type SecretUse,
  type SecretUseCount,
} from './execution-store.js';
export { describeSecretReceived, type ExecutionSummary, formatExecution } from './execution-text.js';
export {
  type ActiveKeys,
  type SecretUsage,
  SecretUsageService,
  type UnusedSecret,
} from './secret-usage.js';
export {
  EXECUTION_STATUSES,
  type ExecutionStatus,
  isTerminal,
  type RunStatus,
  TERMINAL_STATUSES,
  type TerminalStatus,
} from './status.js';
export {
  type SecretUseResource,
  toSecretUsageResource,
  toSecretUseResource,
  toUnusedSecretResource,
} from './usage-dto.js';
export { type ExecutionWarning, WARNING_KINDS, type WarningKind } from './warnings.js';
export { type WorkerRecord, type WorkerStatus, WorkerStore } from './worker-store.js';
