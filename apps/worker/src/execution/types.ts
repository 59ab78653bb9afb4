import type { ResolvedSecret } from '@attune/secrets';

/** Terminal states an execution can end in here. */
export type TerminalStatus = 'succeeded' | 'failed' | 'timeout' | 'cancelled';

/** Kinds of warning the worker records on an execution (docs/worker.md#the-execution-record). */
export const WARNING_KINDS = [
  'secret_skipped',
  'secret_missing',
  'secret_not_masked',
  'output_truncated',
  'output_withheld',
  'action_unavailable',
  'worker_shutdown',
] as const;

/** A warning recorded on an execution. Names secrets by ref, never by value. */
export interface ExecutionWarning {
  readonly kind: (typeof WARNING_KINDS)[number];
  readonly message: string;
  readonly ref?: string;
}

/** Where a secret handed to the action came from (no value). */
export interface SecretSource {
  readonly envName: string;
  readonly ref: string;
  readonly level: ResolvedSecret['level'];
  readonly overrides: readonly string[];
}

/** What {@link ActionExecutor.execute} reports. Output and result are masked, as stored. */
export interface ExecutionOutcome {
  readonly id: string;
  readonly actionRef: string;
  readonly status: TerminalStatus;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly durationMs: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly result: unknown;
  readonly warnings: readonly ExecutionWarning[];
  readonly secrets: readonly SecretSource[];
}
