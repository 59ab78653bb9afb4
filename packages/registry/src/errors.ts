import { AttuneError, type ErrorCategory } from '@attune/core';

/** Stable codes of `@attune/registry` errors. */
export const RegistryErrorCode = {
  InvalidPack: 'ATTUNE_REGISTRY_INVALID_PACK',
  PackConflict: 'ATTUNE_REGISTRY_PACK_CONFLICT',
  ActionNotFound: 'ATTUNE_REGISTRY_ACTION_NOT_FOUND',
  InvalidParameters: 'ATTUNE_REGISTRY_INVALID_PARAMETERS',
} as const;

/** One of {@link RegistryErrorCode}'s values. */
export type RegistryErrorCode = (typeof RegistryErrorCode)[keyof typeof RegistryErrorCode];

/** Base class of this package's errors. */
export class RegistryError extends AttuneError {
  /** Stable code. */
  declare readonly code: RegistryErrorCode;

  constructor(code: RegistryErrorCode, category: ErrorCategory, message: string, field?: string) {
    super({ code, category, message, field });
  }
}

/** A pack folder's metadata is invalid. Names the file and the field; nothing of the pack was registered. */
export class InvalidPackError extends RegistryError {
  /** The file at fault, relative to the pack folder. */
  readonly file: string;

  constructor(file: string, field: string | undefined, problem: string) {
    super(RegistryErrorCode.InvalidPack, 'invalid', `${file}${field ? `: ${field}` : ''}: ${problem}`, field);
    this.file = file;
  }
}

/** Registering would remove an action that still owns keys (the database keeps them). Nothing was registered. */
export class PackConflictError extends RegistryError {
  constructor(message: string) {
    super(RegistryErrorCode.PackConflict, 'conflict', message);
  }
}

/** No action with this ref. */
export class ActionNotFoundError extends RegistryError {
  constructor(ref: string) {
    super(RegistryErrorCode.ActionNotFound, 'not_found', `No action '${ref}'. Register its pack first.`);
  }
}

/** Execution parameters do not match the action's parameter schema. Names the parameter, never its value. */
export class InvalidParametersError extends RegistryError {
  /** The parameter at fault. */
  readonly parameter: string;

  constructor(actionRef: string, parameter: string, problem: string) {
    super(
      RegistryErrorCode.InvalidParameters,
      'invalid',
      `Parameters of ${actionRef}: '${parameter}' ${problem}`,
      'parameters',
    );
    this.parameter = parameter;
  }
}
