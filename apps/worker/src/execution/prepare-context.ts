import { realpathSync } from 'node:fs';
import type { WorkerConfig } from '@attune/config';
import { AttuneError } from '@attune/core';
import type { ClaimedExecution, ExecutionWarning } from '@attune/executions';
import { resolveEntryPoint } from '@attune/registry';
import {
  declaredEnvNames,
  declaredSecretsOf,
  effectiveSecretsPolicy,
  envVarName,
  type ResolvedSecret,
  type SecretResolver,
} from '@attune/secrets';
import { buildChildEnv } from '../child-env.js';
import { SecretMasker } from '../masking/masker.js';
import { describeIdentity } from '../sandbox/identity.js';
import type { ActionSandbox } from '../sandbox/sandbox.js';
import type { SecretDelivery } from './delivery/delivery.js';
import { EnvDelivery } from './delivery/env-delivery.js';
import { FileDelivery, StdinDelivery } from './delivery/file-delivery.js';
import type { ExpiryRecorder } from './expiry-audit.js';
import type { SecretSource } from './types.js';

const ENV_DELIVERY = new EnvDelivery();

/** The prepared context of one execution: what the action process gets, in host terms. */
export interface ExecutionContext {
  readonly interpreter: string;
  /** Real path of the script, inside `packPath`. */
  readonly script: string;
  /** Real path of the pack folder. */
  readonly packPath: string;
  /** The action's environment (the sandbox adds HOME and TMPDIR). */
  readonly env: Record<string, string>;
  readonly stdin: string;
  readonly timeoutMs: number;
  readonly network: boolean;
  readonly masker: SecretMasker;
  readonly warnings: ExecutionWarning[];
  readonly secrets: readonly SecretSource[];
  /** Secrets delivered although expired (within `secrets.expiry_grace`): recorded when the action starts. */
  readonly expiredDelivered: readonly ResolvedSecret[];
  /** `file` delivery: the file to write into the scratch folder before the action starts. */
  readonly secretFile?: { readonly name: string; readonly content: string } | undefined;
}

/** The action cannot be run on this worker (gone, files missing or unreadable, needs more isolation). */
export class ActionUnavailableError extends AttuneError {
  /** The warning the failed execution carries. */
  readonly warningKind: 'action_unavailable' | 'secret_required' = 'action_unavailable';

  constructor(message: string) {
    super({ code: 'ATTUNE_ACTION_UNAVAILABLE', category: 'unavailable', message });
  }
}

/** A secret the action declares `required` is missing or unusable: the action is not started. */
export class RequiredSecretError extends ActionUnavailableError {
  override readonly warningKind = 'secret_required';

  constructor(actionRef: string, problems: readonly string[]) {
    super(
      `${actionRef} was not started: ${problems.length > 1 ? 'secrets it requires are' : 'a secret it requires is'} missing or unusable — ${problems.join('; ')}.`,
    );
  }
}

/**
 * The seed's `prepare_execution_context`: checks the action can run here, resolves its secrets (one query), builds
 * the child's environment from the allowlist plus context plus `SECRET_*`, and the masker for this execution's
 * values. Under the `declared` policy only the declared secrets are fetched. Secrets that cannot be resolved, and
 * declared optional ones that do not exist, are warnings; a declared `required` one that is missing or unusable
 * fails the execution before the action starts ({@link RequiredSecretError}).
 * @throws {ActionUnavailableError} with a message for the operator.
 */
export async function prepareExecutionContext(
  row: ClaimedExecution,
  deps: {
    resolver: Pick<SecretResolver, 'resolveForAction'>;
    sandbox: ActionSandbox;
    /** `secretsPolicy` absent: `all`, the seed's behaviour. */
    config: Pick<WorkerConfig, 'workerId' | 'maskMinLength' | 'passthroughEnv'> &
      Partial<Pick<WorkerConfig, 'secretsPolicy'>>;
    parentEnv: Readonly<Record<string, string | undefined>>;
    /** How secrets reach the action; the seed's `SECRET_<NAME>` variables by default. */
    delivery?: SecretDelivery | undefined;
    /** Where expired secrets refused or delivered within the grace period are recorded (the audit log). */
    expiry?: ExpiryRecorder | undefined;
    /** Makes the execution's masker (tests replace it to prove a masking failure withholds the output). */
    createMasker?:
      | ((secrets: ReadonlyArray<{ ref: string; value: unknown }>, minLength: number) => SecretMasker)
      | undefined;
  },
): Promise<ExecutionContext> {
  const { sandbox, config } = deps;
  if (!row.runner_type || !row.entry_point || !row.pack_ref || row.timeout_seconds === null) {
    throw new ActionUnavailableError(`Action ${row.action_ref} no longer exists; register its pack again.`);
  }
  if (!row.pack_path)
    throw new ActionUnavailableError(`Pack ${row.pack_ref} has no registered folder; register it again.`);
  let script: string;
  let packPath: string;
  try {
    packPath = realpathSync(row.pack_path);
    script = resolveEntryPoint(packPath, row.entry_point);
  } catch {
    throw new ActionUnavailableError(
      `Entry point ${row.entry_point} of ${row.action_ref} is missing from ${row.pack_path}/actions on worker ${config.workerId}.`,
    );
  }
  const network = row.network ?? true;
  if (!network && !sandbox.isolatesNetwork) {
    throw new ActionUnavailableError(
      `${row.action_ref} declares network: false, which needs worker.isolation sandbox; worker ${config.workerId} runs in ${sandbox.mode} mode.`,
    );
  }
  const access = sandbox.accessProblem(script);
  if (access) {
    throw new ActionUnavailableError(
      `${row.action_ref} cannot be read by the identity actions run as, ${describeIdentity(sandbox.identity)}: ${access}. ` +
        'Make the pack folder and every folder above it readable and searchable by that user (e.g. chmod o+rx), or register the pack from such a folder.',
    );
  }
  // Least privilege: under `declared`, only the declared secrets are fetched (and so decrypted and injected).
  const declared = declaredSecretsOf(row.expected_secrets);
  const policy = effectiveSecretsPolicy(row.secrets_policy, undefined, config.secretsPolicy ?? 'all');
  const resolved = await deps.resolver.resolveForAction(
    row.action_ref,
    policy === 'declared' ? { only: declaredEnvNames(declared) } : {},
  );
  const execution = { id: row.id, actionRef: row.action_ref };
  // Refusals are recorded whatever follows; a delivery within the grace period by the executor, as the action starts.
  await deps.expiry?.refused(execution, resolved.warnings);
  const warnings: ExecutionWarning[] = resolved.warnings.map((w) => ({
    kind: w.reason === 'expired' ? 'secret_expired' : 'secret_skipped',
    ref: w.ref,
    message: w.message,
  }));
  for (const s of resolved.secrets)
    if (s.expired)
      warnings.push({
        kind: 'secret_expired',
        ref: s.ref,
        message: `Key '${s.ref}' expired at ${s.expiresAt?.toISOString()}; it is delivered only within the grace period (secrets.expiry_grace). Set a new value, or a later expiry.`,
      });
  const injected = new Set(resolved.secrets.map((s) => s.envName));
  const skipped = new Map(resolved.warnings.map((w) => [w.envName, w]));
  const required: string[] = [];
  for (const { name, required: isRequired } of declared) {
    const envName = envVarName(name);
    if (injected.has(envName)) continue;
    const unusable = skipped.get(envName);
    if (isRequired)
      required.push(
        unusable
          ? `${unusable.ref} (${envName}) cannot be used (${unusable.reason === 'expired' ? (unusable.expiresAt ? `expired at ${unusable.expiresAt.toISOString()}` : 'expired: its expiry is not a time') : unusable.reason})`
          : `'${name}' (${envName}) is not set at system, pack or action level`,
      );
    else if (!unusable)
      warnings.push({
        kind: 'secret_missing',
        message: `Secret '${name}' (${envName}) is declared by ${row.action_ref} but not set at system, pack or action level.`,
      });
  }
  if (required.length) throw new RequiredSecretError(row.action_ref, required);
  // Every resolved value is masked, also one that cannot be injected: it is still a secret.
  const masker = (deps.createMasker ?? ((list, min) => new SecretMasker(list, min)))(
    resolved.secrets,
    config.maskMinLength,
  );
  for (const short of masker.unmasked) {
    warnings.push({
      kind: 'secret_not_masked',
      ref: short.ref,
      message: `Secret ${short.ref} (or a string inside it) is ${short.length} characters, under the ${config.maskMinLength}-character minimum, and is not masked in output.`,
    });
  }
  const delivery = (deps.delivery ?? deliveryFor(row)).deliver(resolved.secrets);
  // A required secret the delivery could not carry (a NUL in an environment variable, say) is missing too.
  const carried = new Set(delivery.delivered.map((d) => d.envName));
  const dropped = declared
    .filter((d) => d.required && injected.has(envVarName(d.name)) && !carried.has(envVarName(d.name)))
    .map((d) => {
      const secret = resolved.secrets.find((r) => r.envName === envVarName(d.name));
      return `${secret?.ref} (${envVarName(d.name)}) cannot be delivered by ${row.secrets_delivery ?? 'env'} (see its warning)`;
    });
  if (dropped.length) throw new RequiredSecretError(row.action_ref, dropped);
  warnings.push(...delivery.warnings);
  const env = buildChildEnv({
    parentEnv: deps.parentEnv,
    passthrough: config.passthroughEnv,
    context: { ATTUNE_EXECUTION_ID: row.id, ATTUNE_ACTION: row.action_ref, ATTUNE_PACK: row.pack_ref },
    secrets: delivery.env,
  });
  return {
    interpreter: row.runner_type === 'python' ? sandbox.interpreters.python : sandbox.interpreters.shell,
    script,
    packPath,
    env,
    // The parameters, as always; with `stdin` delivery, beside the secrets.
    stdin: `${JSON.stringify(
      delivery.stdin === undefined
        ? (row.parameters ?? {})
        : { parameters: row.parameters ?? {}, secrets: delivery.stdin },
    )}\n`,
    secretFile: delivery.file,
    timeoutMs: row.timeout_seconds * 1000,
    network,
    masker,
    warnings,
    expiredDelivered: delivery.delivered.filter((s) => s.expired),
    secrets: delivery.delivered.map((s) => ({
      envName: s.envName,
      ref: s.ref,
      level: s.level,
      version: s.version,
      overrides: s.overrides,
      keyHash: s.keyHash,
      dataKey: s.dataKey,
    })),
  };
}

/** The delivery the action's metadata asks for (`secrets_delivery`, `secrets_file_format`). */
function deliveryFor(row: ClaimedExecution): SecretDelivery {
  if (row.secrets_delivery === 'stdin') return new StdinDelivery();
  if (row.secrets_delivery === 'file')
    return new FileDelivery(row.secrets_file_format === 'dotenv' ? 'dotenv' : 'json');
  return ENV_DELIVERY;
}
