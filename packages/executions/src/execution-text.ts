import type { SecretReceived } from './execution-store.js';
import type { ExecutionWarning } from './warnings.js';

/** What {@link formatExecution} prints: an execution resource, or the demo's outcome in the same names. */
export interface ExecutionSummary {
  readonly id: string;
  readonly action_ref: string;
  readonly status: string;
  readonly exit_code: number | null;
  /** The signal that ended it, where known (the worker's own outcome). */
  readonly signal?: string | null;
  readonly duration_ms: number | null;
  readonly secrets: readonly SecretReceived[];
  readonly stdout: string | null;
  readonly stderr: string | null;
  readonly result: unknown;
  readonly warnings: readonly ExecutionWarning[];
}

/**
 * One secret's provenance on one line: env var, level, ref, version, the master key it was opened with (its hash's
 * first 12 characters) and what it overrode. Never a value.
 */
export function describeSecretReceived(s: SecretReceived): string {
  const key = s.key_hash ? `, key ${s.key_hash.slice(0, 12)}` : s.key_hash === null ? ', plaintext' : '';
  const over = s.overrides?.length ? `  overrides ${s.overrides.join(', ')}` : '';
  return `${s.env_name.padEnd(20)} from ${s.level.padEnd(6)} ${s.ref} (v${s.version}${key})${over}`;
}

/** An execution as text, as `pnpm demo` and `attune run --wait` print it (output and result masked, as stored). */
export function formatExecution(e: ExecutionSummary): string[] {
  const ended = e.exit_code ?? e.signal ?? 'none';
  const lines = [
    `━━ execution ${e.id}: ${e.action_ref} → ${e.status} (exit ${ended}, ${e.duration_ms ?? '?'} ms)`,
    '  secrets injected (most specific wins):',
    ...e.secrets.map((s) => `    ${describeSecretReceived(s)}`),
  ];
  for (const [name, text] of [
    ['stdout', e.stdout ?? ''],
    ['stderr', e.stderr ?? ''],
  ] as const) {
    lines.push(`  ${name} (masked):${text.trim() ? '' : ' (empty)'}`);
    if (text.trim()) for (const line of text.trimEnd().split('\n')) lines.push(`    ${line}`);
  }
  if (e.result !== null && e.result !== undefined) lines.push(`  result: ${JSON.stringify(e.result)}`);
  lines.push(`  warnings (${e.warnings.length}):`);
  for (const w of e.warnings) lines.push(`    [${w.kind}] ${w.message}`);
  return lines;
}
