/**
 * Every kind of warning recorded on an execution (docs/worker.md#the-execution-record). One list for the worker,
 * the store and the API, so that no kind is written that readers do not know.
 */
export const WARNING_KINDS = [
  /** A secret could not be decrypted and was not injected. */
  'secret_skipped',
  /**
   * A secret has expired: not delivered (past `secrets.expiry_grace`), or delivered within the grace period.
   */
  'secret_expired',
  /** A secret the action's metadata lists was not found. */
  'secret_missing',
  /** A secret the action declares `required` was missing or unusable: the action was not started. */
  'secret_required',
  /** A secret too short or too common to mask safely (its value may appear in output). */
  'secret_not_masked',
  /** Output over `worker.output_cap_bytes` was cut. */
  'output_truncated',
  /** Output that could not be masked or stored was withheld. */
  'output_withheld',
  /** The action could not be started (unknown, unregistered, a runner this host lacks). */
  'action_unavailable',
  /** The worker shut down while the action ran; it was stopped. */
  'worker_shutdown',
  /** The worker died (or lost its database) while the action ran; the execution is `abandoned`. */
  'worker_lost',
  /** The execution could not be published to the broker; it is `failed`. */
  'enqueue_failed',
] as const;

/** One of {@link WARNING_KINDS}. */
export type WarningKind = (typeof WARNING_KINDS)[number];

/** A warning recorded on an execution. Names secrets by ref, never by value. */
export interface ExecutionWarning {
  readonly kind: WarningKind;
  readonly message: string;
  readonly ref?: string;
}
