/**
 * The one error base of Attune. Every error a package or app throws on purpose extends {@link AttuneError}: a stable
 * `code` to branch on, a `category` that decides the HTTP status and the CLI exit code (each in one table below),
 * and optionally the input `field` at fault. Rule kept from the first version: no message and no `cause` ever holds
 * a secret value; errors name secrets by ref.
 */

/** What kind of failure an error is; the only thing the HTTP status and the exit code depend on. */
export const ERROR_CATEGORIES = [
  /** The input is wrong (a bad name, parameters, configuration); nothing was changed. */
  'invalid',
  /** The input is larger than a documented limit; nothing was changed. */
  'too_large',
  /** No valid credential was presented. */
  'unauthenticated',
  /** The caller is known but may not do this. */
  'denied',
  /** What was named (a secret, an owner, an action, an execution, a token) does not exist. */
  'not_found',
  /** The change collides with what exists (a ref or name taken, a worker id in use). */
  'conflict',
  /** Well-formed, but the system's state refuses it: no encryption key configured, a value that cannot be decrypted. */
  'refused',
  /** Too many requests; try later. */
  'rate_limited',
  /** A dependency (database, broker) is unavailable; try later. */
  'unavailable',
  /** A bug or an unexpected failure. */
  'internal',
] as const;

/** One of {@link ERROR_CATEGORIES}. */
export type ErrorCategory = (typeof ERROR_CATEGORIES)[number];

/** What an {@link AttuneError} is made of. */
export interface AttuneErrorInit {
  readonly code: string;
  readonly category: ErrorCategory;
  readonly message: string;
  /** The input field at fault, where there is one (`value`, `ref`, `worker.run_as`…). */
  readonly field?: string | undefined;
  readonly cause?: unknown;
}

/** Base class of every error Attune throws on purpose. */
export class AttuneError extends Error {
  /** Stable machine-readable code (`ATTUNE_<PACKAGE>_<WHAT>`); branch on it or on the class, never on the message. */
  readonly code: string;
  readonly category: ErrorCategory;
  readonly field: string | undefined;

  constructor(init: AttuneErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.code = init.code;
    this.category = init.category;
    this.field = init.field;
  }
}

/**
 * HTTP status of each category: the API's error handler answers with it. `refused` is 409 (the request conflicts
 * with the server's state, as a stored value that cannot be decrypted always was).
 */
export const HTTP_STATUS: Readonly<Record<ErrorCategory, number>> = {
  invalid: 400,
  too_large: 413,
  unauthenticated: 401,
  denied: 403,
  not_found: 404,
  conflict: 409,
  refused: 409,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

/** Exit code of each category: what `attune` and `attune-worker` return (docs/cli.md#exit-codes). */
export const EXIT_CODE: Readonly<Record<ErrorCategory, number>> = {
  invalid: 2,
  too_large: 2,
  unauthenticated: 5,
  denied: 5,
  not_found: 3,
  conflict: 4,
  refused: 5,
  rate_limited: 1,
  unavailable: 1,
  internal: 1,
};

/** Exit code of a command that ran and did not succeed (e.g. `attune run --wait` of an execution that failed). */
export const EXIT_FAILED = 1;

/**
 * The category of any thrown value: an {@link AttuneError}'s own, or that of an error shaped like one. The second
 * case is `@attune/crypto`, which depends on `node:` modules only so that other apps can reuse it; its errors carry
 * the same `code` and `category` fields without extending this class. Anything else is `internal`.
 */
export function categoryOf(error: unknown): ErrorCategory {
  if (error instanceof AttuneError) return error.category;
  const category = (error as { category?: unknown } | null | undefined)?.category;
  return typeof category === 'string' && (ERROR_CATEGORIES as readonly string[]).includes(category)
    ? (category as ErrorCategory)
    : 'internal';
}

/** Whether this is an error Attune threw on purpose (so its message is written for the operator). */
export function isAttuneError(error: unknown): error is AttuneError {
  if (error instanceof AttuneError) return true;
  const e = error as { code?: unknown; category?: unknown } | null | undefined;
  return (
    error instanceof Error &&
    typeof e?.code === 'string' &&
    e.code.startsWith('ATTUNE_') &&
    categoryOf(error) !== 'internal'
  );
}

/** The HTTP status for any thrown value. */
export function httpStatusOf(error: unknown): number {
  return HTTP_STATUS[categoryOf(error)];
}

/** The exit code for any thrown value. */
export function exitCodeOf(error: unknown): number {
  return EXIT_CODE[categoryOf(error)];
}

/**
 * What may be logged of any error: its class and code, never its message (a driver's message may quote data).
 */
export function errorSummary(error: unknown): { name: string; code?: string } {
  const e = error as { name?: unknown; code?: unknown } | null | undefined;
  return {
    name: typeof e?.name === 'string' ? e.name : 'Error',
    ...(typeof e?.code === 'string' ? { code: e.code } : {}),
  };
}
