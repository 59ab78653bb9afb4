import type { ExecutionWarning } from '@attune/executions';
import type { ResolvedSecret, SecretValue } from '@attune/secrets';

/** What a delivery hands the action process, and what it could not hand over. */
export interface DeliveredSecrets {
  /** Variables added to the action's environment (after the allowlist and the context). */
  readonly env: Readonly<Record<string, string>>;
  /** `stdin` delivery: the secrets (env var name → value) that go beside the parameters in the stdin line. */
  readonly stdin?: Readonly<Record<string, SecretValue>> | undefined;
  /**
   * `file` delivery: the file written into the execution's scratch folder (mode 0400, the action's own), its path
   * given to the action in `ATTUNE_SECRETS_FILE`, removed with the folder whatever the outcome.
   */
  readonly file?: { readonly name: string; readonly content: string } | undefined;
  /** The secrets that reached the action (the execution's provenance lists these). */
  readonly delivered: readonly ResolvedSecret[];
  /** Secrets that could not be delivered, named by ref. */
  readonly warnings: readonly ExecutionWarning[];
}

/**
 * How an execution's secrets reach its action: a seam, one implementation per mode (action metadata
 * `secrets_delivery`): the seed's `SECRET_<NAME>` environment variables ({@link EnvDelivery}, the default), a file in
 * the scratch folder ({@link FileDelivery}), or beside the parameters on stdin ({@link StdinDelivery}). With a file
 * or stdin, no `SECRET_` variable exists in the action's environment.
 */
export interface SecretDelivery {
  readonly mode: string;
  deliver(secrets: readonly ResolvedSecret[]): DeliveredSecrets;
}
