import type { Logger } from 'pino';
import { OutputCapture } from '../masking/output-capture.js';
import { type ProcessExit, type ProcessSpawner, SpawnFailedError, type SpawnSpec } from '../spawner.js';

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
  },
): Promise<RunResult> {
  const stdout = new OutputCapture(o.outputCapBytes, o.longestForm);
  const stderr = new OutputCapture(o.outputCapBytes, o.longestForm);
  const proc = spawner.spawn(spec, { onStdout: (c) => stdout.push(c), onStderr: (c) => stderr.push(c) });
  let timedOut = false;
  let cancelled = false;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = () => {
    proc.kill('SIGTERM');
    killTimer ??= setTimeout(() => proc.kill('SIGKILL'), o.killGraceMs);
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
    exit = await proc.exit;
  } catch (error) {
    exit = { code: null, signal: null };
    spawnError = error instanceof SpawnFailedError ? error.message : 'The action process failed.';
  } finally {
    clearTimeout(timeoutTimer);
    clearTimeout(killTimer);
    o.signal?.removeEventListener('abort', onAbort);
  }
  return { exit, timedOut, cancelled, spawnError, stdout, stderr };
}
