import { envVarName } from './names.js';

/**
 * What decides which secrets an action receives (docs/secrets-management.md#least-privilege): `all`, the seed's
 * behaviour — every system secret, every secret of its pack, its own —; `declared`, only those its metadata declares
 * (the others are neither fetched nor decrypted).
 */
export const SECRETS_POLICIES = ['all', 'declared'] as const;
export type SecretsPolicy = (typeof SECRETS_POLICIES)[number];

/** A secret an action's metadata declares: its name, and whether the action cannot run without it. */
export interface DeclaredSecret {
  readonly name: string;
  /** `required: true`: missing or undecryptable fails the execution before the action starts. */
  readonly required: boolean;
}

/**
 * The declared secrets as stored (`action.expected_secrets`): `{name, required}` entries, or the plain names that
 * earlier registrations stored (optional). Anything else is ignored: the registry validated it when it was written.
 */
export function declaredSecretsOf(stored: unknown): DeclaredSecret[] {
  if (!Array.isArray(stored)) return [];
  const declared: DeclaredSecret[] = [];
  for (const entry of stored) {
    if (typeof entry === 'string') declared.push({ name: entry, required: false });
    else if (entry && typeof entry === 'object' && typeof (entry as { name?: unknown }).name === 'string')
      declared.push({
        name: (entry as { name: string }).name,
        required: (entry as { required?: unknown }).required === true,
      });
  }
  return declared;
}

/**
 * The policy an execution runs under. The operator's `worker.secrets_policy: declared` binds every pack: no pack or
 * action metadata (written by the pack's author) can ask for more. Under the worker's `all`, the action's own
 * policy, else its pack's, may narrow it to `declared` (or say `all`).
 */
export function effectiveSecretsPolicy(
  action: string | null | undefined,
  pack: string | null | undefined,
  worker: SecretsPolicy,
): SecretsPolicy {
  if (worker === 'declared') return 'declared';
  for (const candidate of [action, pack])
    if ((SECRETS_POLICIES as readonly unknown[]).includes(candidate)) return candidate as SecretsPolicy;
  return worker;
}

/** The env var names the declared secrets map to: what a `declared` resolution fetches. */
export function declaredEnvNames(declared: readonly DeclaredSecret[]): string[] {
  return [...new Set(declared.map((d) => envVarName(d.name)))];
}

/**
 * How an action receives its secrets (docs/secrets-management.md#delivery): `env`, the seed's `SECRET_<NAME>`
 * variables (the default); `file`, one file in its scratch folder (path in `ATTUNE_SECRETS_FILE`); `stdin`, beside
 * its parameters in the JSON line it reads.
 */
export const SECRETS_DELIVERIES = ['env', 'file', 'stdin'] as const;
export type SecretsDelivery = (typeof SECRETS_DELIVERIES)[number];

/** The format of the `file` delivery's file. */
export const SECRETS_FILE_FORMATS = ['json', 'dotenv'] as const;
export type SecretsFileFormat = (typeof SECRETS_FILE_FORMATS)[number];
