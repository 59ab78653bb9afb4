import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  killProcess,
  type OutputHandlers,
  type ProcessExit,
  type ProcessIdentity,
  type ProcessSpawner,
  processIdentity,
  refused,
  type SpawnedProcess,
  type SpawnerHealth,
  SpawnFailedError,
  type SpawnSpec,
  spawnProblem,
} from './spawner.js';

const SIGNALS: Record<'SIGTERM' | 'SIGKILL', number> = { SIGTERM: 15, SIGKILL: 9 };
const SIGNAL_NAMES: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  6: 'SIGABRT',
  9: 'SIGKILL',
  11: 'SIGSEGV',
  15: 'SIGTERM',
};

/** How long a sweep may take before the executor goes on without its answer. */
const SWEEP_TIMEOUT_MS = 30_000;

/** The helper's name in its command line (what `ps` shows after its code). */
export const HELPER_NAME = 'attune-spawn-helper';

/** The helper script, shipped beside `dist/` and `src/`. */
export const SPAWN_HELPER_PATH = fileURLToPath(new URL('../helper/spawn_helper.py', import.meta.url));

interface Pending {
  handlers: OutputHandlers;
  resolve(exit: ProcessExit): void;
  reject(error: Error): void;
  /** The process (and group) id, once the helper reported it started. */
  pid?: number;
  /** Its sandbox's init (pid 1 of its PID namespace), for a supervisor (bwrap), as the helper reported it. */
  init?: ProcessIdentity;
}

/** An unexpected end of the spawn helper, for the worker's log. */
export interface HelperExit {
  /** `SIGKILL`, `exit 1`, or the reason it could not start. */
  readonly reason: string;
  /** Executions that were running on it and were failed. */
  readonly lost: number;
  readonly restarts: number;
}

/**
 * Starts processes through the spawn helper (helper/spawn_helper.py), a small long-lived python3 process: fork in
 * the large worker process costs milliseconds and blocks its event loop; the helper's does neither. Requests and
 * output travel over the helper's private stdin/stdout pipes, so secrets never appear in any argv or in the
 * helper's own environment.
 *
 * The helper is supervised (docs/worker.md#spawn-helper): when it dies, every process it was running is killed
 * (its whole group) and fails at once with a clear error, and the next spawn starts a new helper. When it dies
 * `failureLimit` times within `failureWindowMs`, {@link HelperSpawner.health} reports it not ok, which makes the
 * worker not ready and stops it taking executions until the window has passed.
 */
export class HelperSpawner implements ProcessSpawner {
  #helper: ChildProcessWithoutNullStreams | undefined;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  readonly #sweeps = new Map<number, { resolve(killed: number): void; reject(error: Error): void }>();
  readonly #python: string;
  readonly #helperEnv: Record<string, string>;
  readonly #deaths: Array<{ at: number; reason: string }> = [];
  readonly #failureWindowMs: number;
  readonly #failureLimit: number;
  readonly #onExit: ((exit: HelperExit) => void) | undefined;
  readonly #identity: { readonly uid: number; readonly gid: number } | undefined;
  #restarts = 0;
  /** Helpers stopped on purpose: their end is not a death. */
  readonly #retired = new WeakSet<ChildProcessWithoutNullStreams>();

  constructor(
    options: {
      python?: string;
      path?: string | undefined;
      failureWindowMs?: number;
      failureLimit?: number;
      /** Told of every unexpected end of the helper (the worker logs it). */
      onHelperExit?: (exit: HelperExit) => void;
      /**
       * Run the helper itself as this identity (a root worker: the actions' identity). Its children then need no
       * identity switch, and no root process parses requests or starts actions. `python` must be a python3 that
       * identity can run.
       */
      identity?: { readonly uid: number; readonly gid: number } | undefined;
    } = {},
  ) {
    this.#identity = options.identity;
    this.#python = options.python ?? 'python3';
    // The helper needs only a PATH to find interpreters; it passes each child exactly the env of its request.
    this.#helperEnv = { PATH: options.path ?? '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8' };
    this.#failureWindowMs = options.failureWindowMs ?? 60_000;
    this.#failureLimit = options.failureLimit ?? 3;
    this.#onExit = options.onHelperExit;
  }

  /** The helper's pid while it runs (tests and diagnostics). */
  get helperPid(): number | undefined {
    return this.#helper?.pid;
  }

  spawn(spec: SpawnSpec, handlers: OutputHandlers): SpawnedProcess {
    const problem = spawnProblem(spec);
    if (problem) return refused(problem);
    const helper = this.#ensureHelper();
    const id = this.#nextId++;
    const exit = new Promise<ProcessExit>((resolve, reject) => {
      this.#pending.set(id, { handlers, resolve, reject });
    });
    helper.stdin.write(
      `${JSON.stringify({
        op: 'spawn',
        id,
        argv: spec.argv,
        env: spec.env,
        cwd: spec.cwd,
        stdin: spec.stdin,
        uid: spec.uid,
        gid: spec.gid,
        umask: spec.umask,
        supervisor: spec.supervisor === true,
        seccompFilter: spec.seccompFilter,
      })}\n`,
    );
    return {
      exit,
      kill: (signal) => {
        if (this.#pending.has(id))
          this.#helper?.stdin.write(`${JSON.stringify({ op: 'kill', id, signal: SIGNALS[signal] })}\n`);
      },
    };
  }

  sweep(uid: number): Promise<number> {
    const helper = this.#ensureHelper();
    const id = this.#nextId++;
    const done = new Promise<number>((resolve, reject) => {
      // An answer that never comes must not hold the execution (and the worker's shutdown) forever.
      const timer = setTimeout(() => {
        this.#sweeps.delete(id);
        reject(new Error(`the spawn helper did not answer a sweep within ${SWEEP_TIMEOUT_MS / 1000} s`));
      }, SWEEP_TIMEOUT_MS);
      this.#sweeps.set(id, {
        resolve: (killed) => {
          clearTimeout(timer);
          resolve(killed);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
    helper.stdin.write(`${JSON.stringify({ op: 'sweep', id, uid })}\n`);
    return done;
  }

  health(): SpawnerHealth {
    const since = Date.now() - this.#failureWindowMs;
    const recent = this.#deaths.filter((d) => d.at >= since);
    if (recent.length < this.#failureLimit) return { ok: true, restarts: this.#restarts };
    return {
      ok: false,
      restarts: this.#restarts,
      problem: `the spawn helper died ${recent.length} times in the last ${Math.round(this.#failureWindowMs / 1000)} s (last: ${recent.at(-1)?.reason})`,
    };
  }

  async close(): Promise<void> {
    const helper = this.#helper;
    if (!helper) return;
    this.#helper = undefined;
    this.#retired.add(helper);
    const closed = new Promise<void>((resolve) => helper.once('close', () => resolve()));
    helper.stdin.end(); // the helper kills what still runs and exits
    await closed;
  }

  #ensureHelper(): ChildProcessWithoutNullStreams {
    if (this.#helper) return this.#helper;
    // The source goes on the command line, not the path: the helper's identity may not be able to read this
    // repository's folder (a clone under /root, say). It is code, never a secret.
    const source = readFileSync(SPAWN_HELPER_PATH, 'utf8');
    // The last argument names the process for ps and operators: `python3 -u -c … attune-spawn-helper`.
    const helper = spawn(this.#python, ['-u', '-c', source, HELPER_NAME], {
      env: this.#helperEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
      shell: false,
      cwd: '/',
      ...(this.#identity ? { uid: this.#identity.uid, gid: this.#identity.gid } : {}),
    });
    this.#helper = helper;
    helper.stdin.on('error', () => undefined); // reported through 'close'
    // Drained, not kept: a crash traceback of the helper could quote request data.
    helper.stderr.resume();
    const lines = createInterface({ input: helper.stdout, crlfDelay: Number.POSITIVE_INFINITY });
    lines.on('line', (line) => this.#onEvent(line));
    let gone = false;
    const onGone = (reason: string) => {
      if (gone) return;
      gone = true;
      this.#onHelperGone(helper, reason);
    };
    // 'close' comes after the process ended and its pipes closed: output already read is delivered first.
    helper.once('close', (code, signal) => onGone(signal ?? `exit ${code}`));
    helper.once('error', (error) => onGone(`could not start: ${error.message}`));
    return helper;
  }

  #onHelperGone(helper: ChildProcessWithoutNullStreams, reason: string): void {
    if (this.#helper === helper) this.#helper = undefined;
    const lost = [...this.#pending.entries()];
    this.#pending.clear();
    // Its children were killed with it (above, and by the kernel for the sandbox); nothing is left to sweep.
    for (const sweep of this.#sweeps.values()) sweep.resolve(0);
    this.#sweeps.clear();
    for (const [, pending] of lost) {
      // Its children now belong to init: stop them (their whole group), or they would run on unsupervised. The
      // group's leader is not reaped yet (its parent just died), so its id cannot have been reused by another group.
      if (pending.pid !== undefined) {
        try {
          process.kill(-pending.pid, 'SIGKILL');
        } catch {
          // the group is already gone
        }
      }
      // And its sandbox, through its init: the action may have disarmed bwrap's --die-with-parent (see the helper's
      // kill_sandbox).
      if (pending.init) killProcess(pending.init);
      pending.reject(
        new SpawnFailedError(
          pending.pid !== undefined
            ? `The spawn helper died (${reason}) while the action ran; the action was stopped.`
            : `The action's process could not be started: the spawn helper died (${reason}).`,
        ),
      );
    }
    if (this.#retired.has(helper)) return;
    this.#restarts++;
    this.#deaths.push({ at: Date.now(), reason });
    while (this.#deaths.length > 100) this.#deaths.shift();
    this.#onExit?.({ reason, lost: lost.length, restarts: this.#restarts });
  }

  #onEvent(line: string): void {
    let event: {
      id: number;
      ev: string;
      fd?: number;
      data?: string;
      pid?: number;
      count?: number;
      code?: number | null;
      signal?: number | null;
      message?: string;
    };
    try {
      event = JSON.parse(line) as typeof event;
    } catch {
      return; // not the helper's protocol: ignore rather than crash the worker
    }
    const sweep = this.#sweeps.get(event.id);
    if (sweep) {
      this.#sweeps.delete(event.id);
      if (event.ev === 'swept') sweep.resolve(event.count ?? 0);
      else sweep.reject(new Error(`the spawn helper could not sweep: ${event.message ?? 'unknown error'}`));
      return;
    }
    const pending = this.#pending.get(event.id);
    if (!pending) return;
    switch (event.ev) {
      case 'started':
        pending.pid = event.pid;
        break;
      case 'sandbox':
        pending.init = event.pid === undefined ? undefined : processIdentity(event.pid);
        break;
      case 'out': {
        const chunk = Buffer.from(event.data ?? '', 'base64');
        if (event.fd === 1) pending.handlers.onStdout(chunk);
        else pending.handlers.onStderr(chunk);
        break;
      }
      case 'exit':
        this.#pending.delete(event.id);
        pending.resolve({
          code: event.code ?? null,
          signal: event.signal ? (SIGNAL_NAMES[event.signal] ?? `SIG${event.signal}`) : null,
        });
        break;
      case 'error':
        this.#pending.delete(event.id);
        pending.reject(
          new SpawnFailedError(
            `The action's process could not be started: ${event.message ?? 'unknown error'}`,
          ),
        );
        break;
      default:
        break;
    }
  }
}
