/**
 * `@attune/registry`: packs and actions from disk into the database (the one owner of `attune.pack` and
 * `attune.action`), and the validation of an action's parameters.
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
  type ActionDefinition,
  loadPack,
  matchesType,
  PARAMETER_TYPES,
  type PackDefinition,
  type ParameterSpec,
  resolveEntryPoint,
} from './pack-loader.js';
export { registerPack, registerPackDefinition } from './pack-registry.js';
export { PackService } from './pack-service.js';
export { type ActionRecord, type PackRecord, PackStore, type RegistrationReport } from './pack-store.js';
export { MAX_PARAMETERS_BYTES, resolveParameters } from './parameters.js';
