/**
 * `@attune/secrets`: where secrets live and how the set of one action is resolved.
 * Concepts: docs/secrets-management.md.
 */

export {
  type DeclaredSecret,
  declaredEnvNames,
  declaredSecretsOf,
  effectiveSecretsPolicy,
  SECRETS_DELIVERIES,
  SECRETS_FILE_FORMATS,
  SECRETS_POLICIES,
  type SecretsDelivery,
  type SecretsFileFormat,
  type SecretsPolicy,
} from './declared.js';
export {
  EncryptionKeyRequiredError,
  InvalidKeyInputError,
  KeyConflictError,
  KeyDeletedError,
  KeyNotFoundError,
  KeyStoreError,
  KeyUndecryptableError,
  KeyVersionConflictError,
  KeyVersionDestroyedError,
  KeyVersionNotFoundError,
  OwnerNotFoundError,
  SecretsError,
  SecretsErrorCode,
  type UndecryptableReason,
  ValueTooLargeError,
} from './errors.js';
export { createSecretsServices, type SecretsServices } from './keyring/create.js';
export { type DataKeyRow, DataKeyStore } from './keyring/data-key-store.js';
export { type DataKeyColumns, DataKeys } from './keyring/data-keys.js';
export { Keyring, type MasterKey } from './keyring/keyring.js';
export { KeyringService, type Progress } from './keyring/keyring-service.js';
export {
  assertKeyringComplete,
  KeyringIncompleteError,
  type KeyringStatus,
  keyringStatus,
  type MasterKeyUse,
} from './keyring/keyring-status.js';
export {
  DataKeyNotFoundError,
  type DestroyReport,
  destroyDataKey,
  REENCRYPT_BATCH,
  REENCRYPT_LOCK,
  ReencryptionRunningError,
  type ReencryptReport,
  reencrypt,
  valuesUnderDataKey,
} from './keyring/reencrypt-job.js';
export {
  type OwnerSelection,
  type Reencrypted,
  type ReencryptRow,
  reencryptRows,
} from './keyring/reencrypt-rows.js';
export { type RewrapReport, rotateMasterKey } from './keyring/rewrap.js';
export { type SealedRow, type SealedValue, ValueCipher, valueContext } from './keyring/value-cipher.js';
export { toKeyPageResource, toKeyResource, toKeyVersionResource } from './keys/key-dto.js';
export { DEFAULT_MAX_VERSIONS, KeyService, type KeyServiceOptions } from './keys/key-service.js';
export { KeyStore, type OwnerColumns } from './keys/key-store.js';
export type {
  CreateKeyInput,
  KeyOwner,
  KeyPage,
  KeyRecord,
  KeyVersionRecord,
  ListKeysInput,
  OwnerType,
  UpdateKeyInput,
} from './keys/key-types.js';
export type { OwnerDirectory, OwnerIdentity } from './keys/owner-directory.js';
export { type ResolvedOwner, resolveOwner } from './keys/owners.js';
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
  RESOLVE_DECLARED_SQL,
  RESOLVE_SQL,
  type ResolvedSecret,
  type ResolvedSecrets,
  type ResolveOptions,
  resolveDeclaredSql,
  SecretResolver,
  type SecretResolverOptions,
  type SecretWarning,
  type SkipReason,
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
export { KeyVersions } from './versions/key-versions.js';
export { KeyVersionStore, type VersionRow } from './versions/version-store.js';
