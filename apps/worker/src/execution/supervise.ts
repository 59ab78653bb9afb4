import type { Logger } from 'pino';
import { OutputCapture } from '../masking/output-capture.js';
import { type ProcessExit, type ProcessSpawner, SpawnFailedError, type SpawnSpec } from '../spawner.js';

/** How long after SIGKILL an action's process may take to end before the worker stops waiting for it. */
export const UNKILLABLE_AFTER_MS = 30_000;

/** How a supervised action process ended, with its captured (not yet masked) output. */
export interface RunResult {
  readonly exit: ProcessExit;
  readonly timedOut: boolean;
  /** Stopped because the worker shut down. */
  readonly cancelled: boolean;
  /** Why the process could not be started or was lost (for the operator; holds no value). */
  readonly spawnError: string | undefined;
  readonly stdout: OutputCapture;
  readonly stderr: OutputCapture;
}

/**
 * Runs one action process to its end: bounded output capture, the timeout (SIGTERM to its group, SIGKILL after
 * the grace period), and the worker's shutdown signal, which stops it the same way.
 */
export async function superviseProcess(
  spawner: ProcessSpawner,
  spec: SpawnSpec,
  o: {
    timeoutMs: number;
    killGraceMs: number;
    outputCapBytes: number;
    /** The masker's longest form: how far past the cap output is kept, so a secret at the cut is seen whole. */
    longestForm: number;
    signal?: AbortSignal | undefined;
    log: Logger;
    /** How long after SIGKILL to wait before giving up on the process ({@link UNKILLABLE_AFTER_MS}). */
    unkillableAfterMs?: number;
  },
): Promise<RunResult> {
  const unkillableAfterMs = o.unkillableAfterMs ?? UNKILLABLE_AFTER_MS;
  const stdout = new OutputCapture(o.outputCapBytes, o.longestForm);
  const stderr = new OutputCapture(o.outputCapBytes, o.longestForm);
  const proc = spawner.spawn(spec, { onStdout: (c) => stdout.push(c), onStderr: (c) => stderr.push(c) });
  let timedOut = false;
  let cancelled = false;
  let unkillable = false;
  let killTimer: NodeJS.Timeout | undefined;
  let giveUpTimer: NodeJS.Timeout | undefined;
  let giveUp: (exit: ProcessExit) => void = () => undefined;
  const givenUp = new Promise<ProcessExit>((resolve) => {
    giveUp = resolve;
  });
  const stop = () => {
    proc.kill('SIGTERM');
    killTimer ??= setTimeout(() => {
      proc.kill('SIGKILL');
      // A process that SIGKILL does not end is stuck in the kernel: stop waiting for it, so that one such
      // process cannot hold its execution, its scratch folder and the worker's shutdown forever.
      giveUpTimer = setTimeout(() => {
        unkillable = true;
        o.log.error(
          { waitedMs: unkillableAfterMs },
          'the action did not end after SIGKILL; no longer waiting',
        );
        giveUp({ code: null, signal: null });
      }, unkillableAfterMs);
    }, o.killGraceMs);
  };
  const timeoutTimer = setTimeout(() => {
    timedOut = true;
    o.log.warn({ timeoutMs: o.timeoutMs }, 'execution timed out; sending SIGTERM');
    stop();
  }, o.timeoutMs);
  // The worker is shutting down and its grace period is over: stop the action and record it cancelled.
  const onAbort = () => {
    if (timedOut) return;
    cancelled = true;
    o.log.warn('worker shutting down; stopping the action');
    stop();
  };
  if (o.signal?.aborted) onAbort();
  else o.signal?.addEventListener('abort', onAbort, { once: true });
  let exit: ProcessExit;
  let spawnError: string | undefined;
  try {
    exit = await Promise.race([proc.exit, givenUp]);
    if (unkillable)
      spawnError = `The action's process did not end ${unkillableAfterMs / 1000} s after SIGKILL (stuck in the kernel); the worker stopped waiting for it.`;
  } catch (error) {
    exit = { code: null, signal: null };
    spawnError = error instanceof SpawnFailedError ? error.message : 'The action process failed.';
  } finally {
    clearTimeout(timeoutTimer);
    clearTimeout(killTimer);
    clearTimeout(giveUpTimer);
    o.signal?.removeEventListener('abort', onAbort);
  }
  return { exit, timedOut, cancelled, spawnError, stdout, stderr };
}
