import type { ExecutionWarning, RunStatus, SecretReceived } from '@attune/executions';
import type { ResolvedSecret } from '@attune/secrets';

/** Where a secret handed to the action came from (no value). */
export interface SecretSource {
  readonly envName: string;
  readonly ref: string;
  readonly level: ResolvedSecret['level'];
  /** The version of the secret it received. */
  readonly version: number;
  /** Refs of the less specific secrets this one overrode for this run. */
  readonly overrides: readonly string[];
  /** Hash of the master key its value was opened with (null for a plaintext value). */
  readonly keyHash: string | null;
  /** The data key of an envelope value (`<id>.<version>`), else null. */
  readonly dataKey: string | null;
}

/** What {@link ActionExecutor.execute} reports. Output and result are masked, as stored. */
export interface ExecutionOutcome {
  readonly id: string;
  readonly actionRef: string;
  readonly status: RunStatus;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly durationMs: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly result: unknown;
  readonly warnings: readonly ExecutionWarning[];
  readonly secrets: readonly SecretSource[];
}

/** A secret's provenance as stored with the execution (`execution.secrets`, the API's shape). */
export function toSecretReceived(s: SecretSource): SecretReceived {
  return {
    env_name: s.envName,
    ref: s.ref,
    level: s.level,
    version: s.version,
    key_hash: s.keyHash,
    data_key: s.dataKey,
    overrides: s.overrides,
  };
}
