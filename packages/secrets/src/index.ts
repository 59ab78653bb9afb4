/**
 * `@attune/secrets`: where secrets live and how the set of one action is resolved.
 * Concepts: docs/secrets-management.md.
 */
export {
  EncryptionKeyRequiredError,
  InvalidKeyInputError,
  KeyConflictError,
  KeyNotFoundError,
  KeyStoreError,
  KeyUndecryptableError,
  OwnerNotFoundError,
  SecretsError,
  SecretsErrorCode,
  type UndecryptableReason,
  ValueTooLargeError,
} from './errors.js';
export { KeyService, type KeyServiceOptions } from './keys/key-service.js';
export { KeyStore } from './keys/key-store.js';
export type {
  CreateKeyInput,
  KeyOwner,
  KeyPage,
  KeyRecord,
  ListKeysInput,
  OwnerType,
  UpdateKeyInput,
} from './keys/key-types.js';
export type { OwnerDirectory, OwnerIdentity } from './keys/owner-directory.js';
export {
  envVarName,
  MAX_NAME_LENGTH,
  MAX_REF_LENGTH,
  SECRET_ENV_PREFIX,
  validateKeyRef,
  validateSecretName,
} from './names.js';
export { SecretManager, type SecretManagerOptions } from './secret-manager.js';
export {
  ActionNotFoundError,
  prepareSecretEnv,
  RESOLVE_SQL,
  type ResolvedSecret,
  type ResolvedSecrets,
  SecretResolver,
  type SecretResolverOptions,
  type SecretWarning,
} from './secret-resolver.js';
export {
  decodeValue,
  encodeValue,
  MAX_VALUE_BYTES,
  type SecretValue,
  type StoredRow,
  type StoredValue,
  validateSecretValue,
} from './stored-value.js';
export { findUnstorable, MAX_NESTING, type TextProblem, textProblem, type Unstorable } from './text.js';
