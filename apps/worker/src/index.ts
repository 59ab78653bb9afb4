/**
 * `@attune/worker`: runs actions with their secrets, confined (docs/worker.md#security-model), masks their output
 * and records executions. Concepts: docs/worker.md.
 */

export { buildChildEnv, type ExecutionContextEnv } from './child-env.js';
export { main as workerCli } from './cli.js';
export { runDemo } from './demo.js';
export {
  createExecutor,
  helperIdentity,
  logIsolation,
  type WorkerExecutor,
} from './execution/create-executor.js';
export type { DeliveredSecrets, SecretDelivery } from './execution/delivery/delivery.js';
export { EnvDelivery } from './execution/delivery/env-delivery.js';
export { ActionExecutor, type ActionExecutorOptions } from './execution/executor.js';
export { AuditedExpiry, type ExpiryExecution, type ExpiryRecorder } from './execution/expiry-audit.js';
export { ActionUnavailableError, type ExecutionContext } from './execution/prepare-context.js';
export type { ExecutionOutcome, SecretSource } from './execution/types.js';
export { type HelperExit, HelperSpawner, SPAWN_HELPER_PATH } from './helper-spawner.js';
export { MASK, SecretMasker, type UnmaskedSecret } from './masking/masker.js';
export { OutputCapture } from './masking/output-capture.js';
export { BubblewrapSandbox } from './sandbox/bubblewrap.js';
export { HostSandbox } from './sandbox/host-sandbox.js';
export { type ActionIdentity, describeIdentity, lookupIdentity } from './sandbox/identity.js';
export type { ActionSandbox, Interpreters, IsolationMode, SandboxLaunch } from './sandbox/sandbox.js';
export { type ScratchDir, ScratchDirError, ScratchRoot } from './sandbox/scratch-dir.js';
export { createSandbox, IsolationUnavailableError, type SandboxSelection } from './sandbox/select-sandbox.js';
export { type Disposition, ExecutionConsumer } from './service/consumer.js';
export { type Readiness, startHealthServer } from './service/health-server.js';
export { WorkerIdInUseError, WorkerPresence } from './service/presence.js';
export { type RunningWorker, startWorker } from './service/start-worker.js';
export { WorkerService } from './service/worker-service.js';
export {
  DirectSpawner,
  type OutputHandlers,
  type ProcessExit,
  type ProcessSpawner,
  type SpawnedProcess,
  type SpawnerHealth,
  SpawnFailedError,
  type SpawnSpec,
} from './spawner.js';
