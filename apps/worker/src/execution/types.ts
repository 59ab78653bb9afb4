import type { ExecutionWarning, RunStatus } from '@attune/executions';
import type { ResolvedSecret } from '@attune/secrets';

/** Where a secret handed to the action came from (no value). */
export interface SecretSource {
  readonly envName: string;
  readonly ref: string;
  readonly level: ResolvedSecret['level'];
  /** The version of the secret it received. */
  readonly version: number;
  readonly overrides: readonly string[];
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
