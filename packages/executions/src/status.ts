/**
 * Every state an execution can be in (the `attune.execution_status` enum), in lifecycle order. See
 * docs/glossary.md#execution and docs/deployment.md#failure-semantics.
 */
export const EXECUTION_STATUSES = [
  'requested',
  'scheduled',
  'running',
  'succeeded',
  'failed',
  'timeout',
  'canceling',
  'cancelled',
  'abandoned',
] as const;

/** One of {@link EXECUTION_STATUSES}. */
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

/** States an execution never leaves. `abandoned`: its worker died while it ran, so its outcome is unknown. */
export const TERMINAL_STATUSES = ['succeeded', 'failed', 'timeout', 'cancelled', 'abandoned'] as const;

/** One of {@link TERMINAL_STATUSES}. */
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];

/** The terminal states a worker records for a run it finished (`abandoned` is recorded for runs nobody finished). */
export type RunStatus = Exclude<TerminalStatus, 'abandoned'>;

/** Whether an execution in this state is over. */
export function isTerminal(status: string): status is TerminalStatus {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}
