import type { ExecutionWarning, RunStatus } from '@attune/executions';
import { maskJsonNumbers } from '../masking/json-numbers.js';
import type { ProcessExit } from '../spawner.js';
import { ActionUnavailableError, type ExecutionContext } from './prepare-context.js';
import { storableText, storableValue } from './storable.js';
import type { RunResult } from './supervise.js';
import type { SecretSource } from './types.js';

/** What is stored of an execution's end. */
export interface Ending {
  status: RunStatus;
  exit: ProcessExit;
  stdout: string;
  stderr: string;
  result: unknown;
  warnings: ExecutionWarning[];
  secrets: readonly SecretSource[];
  truncated: [boolean, boolean];
}

/** The ending of an execution that could not be started here. */
export function unavailable(error: unknown, internal: string): Ending {
  const message = error instanceof ActionUnavailableError ? error.message : `The worker failed: ${internal}.`;
  return {
    status: 'failed',
    exit: { code: null, signal: null },
    stdout: '',
    stderr: `${message}\n`,
    result: undefined,
    warnings: [
      { kind: error instanceof ActionUnavailableError ? error.warningKind : 'action_unavailable', message },
    ],
    secrets: [],
    truncated: [false, false],
  };
}

/**
 * The ending of a run: its status, and its output masked. The result is parsed from the raw stdout and then masked
 * as data, so a secret the action printed with any JSON escaping is caught once decoded. When masking fails, the
 * output is withheld (never stored unmasked) and the execution fails.
 */
export function endingOf(run: RunResult, context: ExecutionContext, workerId: string): Ending {
  const { masker, warnings } = context;
  const status: RunStatus = run.timedOut
    ? 'timeout'
    : run.cancelled
      ? 'cancelled'
      : run.exit.code === 0 && !run.spawnError
        ? 'succeeded'
        : 'failed';
  if (run.cancelled) {
    warnings.push({
      kind: 'worker_shutdown',
      message: `Worker ${workerId} shut down while the action ran; it was stopped.`,
    });
  }
  for (const [name, capture] of [
    ['stdout', run.stdout],
    ['stderr', run.stderr],
  ] as const) {
    if (capture.truncated) {
      warnings.push({
        kind: 'output_truncated',
        message: `${name} was ${capture.total} bytes; the first ${capture.cap} were kept`,
      });
    }
  }
  const notes =
    (run.spawnError ? `${run.spawnError}\n` : '') +
    (run.timedOut ? `[attune: timed out after ${context.timeoutMs / 1000} s]\n` : '');
  const truncated: [boolean, boolean] = [run.stdout.truncated, run.stderr.truncated];
  try {
    const stdout = storableText(run.stdout.finish(masker));
    const stderr = storableText(run.stderr.finish(masker)) + notes;
    let parsed: unknown;
    if (!run.stdout.truncated) {
      const raw = run.stdout.text();
      // Numbers holding a secret are masked in the text, before parsing rounds them (only needed when the text
      // holds a secret at all, i.e. when masking changed it).
      parsed = parseJson(stdout === storableText(raw) ? raw : maskJsonNumbers(raw, masker));
    }
    const result = parsed === undefined ? undefined : storableValue(masker.maskValue(parsed));
    return { status, exit: run.exit, stdout, stderr, result, warnings, secrets: context.secrets, truncated };
  } catch (error) {
    const kind = (error as Error)?.name ?? 'Error';
    warnings.push({
      kind: 'output_withheld',
      message: `The action's output could not be masked (${kind}); it was withheld rather than stored unmasked.`,
    });
    return {
      status: 'failed',
      exit: run.exit,
      stdout: '',
      stderr: `[attune: output withheld: it could not be masked (${kind})]\n${notes}`,
      result: undefined,
      warnings,
      secrets: context.secrets,
      truncated,
    };
  }
}

function parseJson(text: string): unknown {
  const trimmed = text.trim();
  if (!trimmed || !/^[[{"\d\-tfn]/.test(trimmed)) return undefined;
  try {
    return JSON.parse(trimmed);
  } catch {
    return undefined;
  }
}
