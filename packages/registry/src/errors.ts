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
export class RegistryError extends Error {
  /** Stable code. */
  readonly code: RegistryErrorCode;

  constructor(code: RegistryErrorCode, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A pack folder's metadata is invalid. Names the file and the field; nothing of the pack was registered. */
export class InvalidPackError extends RegistryError {
  /** The file at fault, relative to the pack folder. */
  readonly file: string;
  /** The field at fault (dotted path), when there is one. */
  readonly field: string | undefined;

  constructor(file: string, field: string | undefined, problem: string) {
    super(RegistryErrorCode.InvalidPack, `${file}${field ? `: ${field}` : ''}: ${problem}`);
    this.file = file;
    this.field = field;
  }
}

/** Registering would remove an action that still owns keys (the database keeps them). Nothing was registered. */
export class PackConflictError extends RegistryError {
  constructor(message: string) {
    super(RegistryErrorCode.PackConflict, message);
  }
}

/** No action with this ref. */
export class ActionNotFoundError extends RegistryError {
  constructor(ref: string) {
    super(RegistryErrorCode.ActionNotFound, `No action '${ref}'. Register its pack first.`);
  }
}

/** Execution parameters do not match the action's parameter schema. Names the parameter, never its value. */
export class InvalidParametersError extends RegistryError {
  /** The parameter at fault. */
  readonly parameter: string;

  constructor(actionRef: string, parameter: string, problem: string) {
    super(RegistryErrorCode.InvalidParameters, `Parameters of ${actionRef}: '${parameter}' ${problem}`);
    this.parameter = parameter;
  }
}
