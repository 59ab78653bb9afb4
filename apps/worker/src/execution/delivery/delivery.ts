import type { ExecutionWarning } from '@attune/executions';
import type { ResolvedSecret } from '@attune/secrets';

/** What a delivery hands the action process, and what it could not hand over. */
export interface DeliveredSecrets {
  /** Variables added to the action's environment (after the allowlist and the context). */
  readonly env: Readonly<Record<string, string>>;
  /** The secrets that reached the action (the execution's provenance lists these). */
  readonly delivered: readonly ResolvedSecret[];
  /** Secrets that could not be delivered, named by ref. */
  readonly warnings: readonly ExecutionWarning[];
}

/**
 * How an execution's secrets reach its action: a seam, one implementation per mode, so that another mode (a file in
 * the scratch folder, a field of the stdin line) is a new module, not a branch in the executor. Today's one mode is
 * the seed's: `SECRET_<NAME>` environment variables ({@link EnvDelivery}).
 */
export interface SecretDelivery {
  readonly mode: string;
  deliver(secrets: readonly ResolvedSecret[]): DeliveredSecrets;
}
