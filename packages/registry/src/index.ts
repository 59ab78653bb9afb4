/**
 * `@attune/registry`: packs and actions from disk into the database, and execution requests.
 * Pack format: docs/packs.md.
 */
export {
  ActionNotFoundError,
  InvalidPackError,
  InvalidParametersError,
  PackConflictError,
  RegistryError,
  RegistryErrorCode,
} from './errors.js';
export {
  EnqueueFailedError,
  type ExecutionRequestMessage,
  enqueueExecution,
  requestExecution,
  resolveParameters,
} from './execution-requests.js';
export {
  type ActionDefinition,
  loadPack,
  matchesType,
  PARAMETER_TYPES,
  type PackDefinition,
  type ParameterSpec,
  resolveEntryPoint,
} from './pack-loader.js';
export { type RegistrationReport, registerPack, registerPackDefinition } from './pack-registry.js';
