/**
 * `@attune/worker`: runs actions with their secrets, masks their output and records executions.
 * Concepts: docs/worker.md.
 */

export { buildChildEnv, type ExecutionContextEnv } from './child-env.js';
export { main as workerCli } from './cli.js';
export { runDemo } from './demo.js';
export {
  ActionExecutor,
  type ActionExecutorOptions,
  ActionUnavailableError,
  createExecutor,
  type ExecutionContext,
  type ExecutionOutcome,
  type ExecutionWarning,
  type Interpreters,
  resolveInterpreters,
  type SecretSource,
  type TerminalStatus,
} from './executor.js';
export { createLogger, REDACT_PATHS } from './logger.js';
export { MASK, SecretMasker, type UnmaskedSecret } from './masker.js';
export { OutputCapture } from './output-capture.js';
export {
  DirectSpawner,
  HelperSpawner,
  type OutputHandlers,
  type ProcessExit,
  type ProcessSpawner,
  SPAWN_HELPER_PATH,
  type SpawnedProcess,
  SpawnFailedError,
  type SpawnSpec,
} from './spawner.js';
export { WorkerIdInUseError, WorkerService } from './worker-service.js';
