/**
 * Errors of `@attune/secrets`. Every message names a key by its ref (or name), never by its value; no error carries
 * a database error as `cause` on a write path, because Prisma's messages echo the arguments, values included.
 */

import { AttuneError, type ErrorCategory } from '@attune/core';

/** Stable codes of the errors this package throws. */
export const SecretsErrorCode = {
  InvalidInput: 'ATTUNE_SECRETS_INVALID_INPUT',
  Conflict: 'ATTUNE_SECRETS_CONFLICT',
  NotFound: 'ATTUNE_SECRETS_NOT_FOUND',
  OwnerNotFound: 'ATTUNE_SECRETS_OWNER_NOT_FOUND',
  EncryptionKeyRequired: 'ATTUNE_SECRETS_ENCRYPTION_KEY_REQUIRED',
  Undecryptable: 'ATTUNE_SECRETS_UNDECRYPTABLE',
  Store: 'ATTUNE_SECRETS_STORE',
  VersionConflict: 'ATTUNE_SECRETS_VERSION_CONFLICT',
  VersionNotFound: 'ATTUNE_SECRETS_VERSION_NOT_FOUND',
  Deleted: 'ATTUNE_SECRETS_DELETED',
  VersionDestroyed: 'ATTUNE_SECRETS_VERSION_DESTROYED',
} as const;

/** One of {@link SecretsErrorCode}'s values. */
export type SecretsErrorCode = (typeof SecretsErrorCode)[keyof typeof SecretsErrorCode];

/** Base class of this package's errors. */
export class SecretsError extends AttuneError {
  /** Stable code; branch on it or on the class, never on the message. */
  declare readonly code: SecretsErrorCode;

  constructor(code: SecretsErrorCode, category: ErrorCategory, message: string, field?: string) {
    super({ code, category, message, field });
  }
}

/** Input was refused; nothing was written. `field` names the input field at fault. */
export class InvalidKeyInputError extends SecretsError {
  /** The field at fault: `name`, `ref`, `value`, `owner`, `encrypted`, `page`, `perPage`. */
  declare readonly field: string;

  constructor(field: string, message: string, category: 'invalid' | 'too_large' = 'invalid') {
    super(SecretsErrorCode.InvalidInput, category, message, field);
  }
}

/** The value is larger than the documented limit (`MAX_VALUE_BYTES`). Nothing was written. */
export class ValueTooLargeError extends InvalidKeyInputError {
  /** Size of the refused value in bytes. */
  readonly size: number;

  constructor(size: number, limit: number) {
    super('value', `The value is ${size} bytes; at most ${limit} are accepted.`, 'too_large');
    this.size = size;
  }
}

/** A key with this ref exists, or the owner already has a key with this name or env var. Nothing was written. */
export class KeyConflictError extends SecretsError {
  /** `ref` (the ref is taken) or `name` (the owner has a key with the same env var name). */
  declare readonly field: 'ref' | 'name';

  constructor(field: 'ref' | 'name', message: string) {
    super(SecretsErrorCode.Conflict, 'conflict', message, field);
  }
}

/** No key has this ref. */
export class KeyNotFoundError extends SecretsError {
  /** The ref asked for. */
  readonly ref: string;

  constructor(ref: string) {
    super(SecretsErrorCode.NotFound, 'not_found', `No key with ref '${ref}'.`);
    this.ref = ref;
  }
}

/** The owning pack or action does not exist. Nothing was written. */
export class OwnerNotFoundError extends SecretsError {
  constructor(kind: 'pack' | 'action', id: number | string) {
    super(
      SecretsErrorCode.OwnerNotFound,
      'not_found',
      `No ${kind} ${typeof id === 'number' ? `with id ${id}` : `'${id}'`}.`,
    );
  }
}

/** Encryption (or decryption) was asked for, and no encryption key is configured. Nothing was written. */
export class EncryptionKeyRequiredError extends SecretsError {
  constructor(ref: string, action: 'encrypt' | 'decrypt') {
    super(
      SecretsErrorCode.EncryptionKeyRequired,
      'refused',
      `Cannot ${action} key '${ref}': no encryption key is configured. Set security.encryption_key_file ` +
        '(recommended) or security.encryption_key in the configuration file (--config FILE or ATTUNE_CONFIG; ' +
        './attune.yaml is read when present), or ATTUNE__SECURITY__ENCRYPTION_KEY_FILE in the environment.',
    );
  }
}

/** Why a stored value could not be turned back into its plaintext. */
export type UndecryptableReason =
  | 'no_key_configured'
  | 'key_hash_mismatch'
  | 'data_key_destroyed'
  | 'authentication_failed'
  | 'malformed_ciphertext'
  | 'invalid_value';

/** A stored encrypted value could not be decrypted. Names the ref and the reason only. */
export class KeyUndecryptableError extends SecretsError {
  /** The key's ref. */
  readonly ref: string;
  /** Machine-readable reason. */
  readonly reason: UndecryptableReason;

  constructor(ref: string, reason: UndecryptableReason, detail: string) {
    super(
      SecretsErrorCode.Undecryptable,
      'refused',
      `Key '${ref}' cannot be decrypted (${reason}): ${detail}`,
    );
    this.ref = ref;
    this.reason = reason;
  }
}

/** The database failed (unreachable, or an unexpected error). `dbCode` carries the driver's code, not its message. */
export class KeyStoreError extends SecretsError {
  /** Prisma or PostgreSQL error code, when there was one. */
  readonly dbCode: string | undefined;

  constructor(operation: string, ref: string | undefined, dbCode: string | undefined) {
    super(
      SecretsErrorCode.Store,
      'unavailable',
      `Database error while ${operation}${ref ? ` key '${ref}'` : ''}${dbCode ? ` (${dbCode})` : ''}; nothing was changed.`,
    );
    this.dbCode = dbCode;
  }
}

/** A check-and-set write named a version that is not the current one. Nothing was written. */
export class KeyVersionConflictError extends SecretsError {
  /** The current version. */
  readonly current: number;

  constructor(ref: string, expected: number, current: number) {
    super(
      SecretsErrorCode.VersionConflict,
      'conflict',
      `Key '${ref}' is at version ${current}, not ${expected}: someone changed it meanwhile. Nothing was written; read it again and retry.`,
      'expected_version',
    );
    this.current = current;
  }
}

/** The secret has no such version (never written, or pruned by its retention limit). */
export class KeyVersionNotFoundError extends SecretsError {
  constructor(ref: string, version: number) {
    super(SecretsErrorCode.VersionNotFound, 'not_found', `Key '${ref}' has no version ${version}.`);
  }
}

/** The version's value was destroyed: its metadata is all that is left. */
export class KeyVersionDestroyedError extends SecretsError {
  constructor(ref: string, version: number, what: string) {
    super(
      SecretsErrorCode.VersionDestroyed,
      'conflict',
      `Version ${version} of key '${ref}' was destroyed; ${what}.`,
    );
  }
}

/** The secret is soft-deleted: it must be undeleted (or purged) first. */
export class KeyDeletedError extends SecretsError {
  constructor(ref: string, what: string) {
    super(
      SecretsErrorCode.Deleted,
      'conflict',
      `Key '${ref}' is deleted; ${what} (attune key undelete ${ref}, or delete it for good with --purge).`,
    );
  }
}
