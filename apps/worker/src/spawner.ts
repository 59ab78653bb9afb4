import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** What to run: argv (never a secret), the complete environment, the folder, and text for stdin. */
export interface SpawnSpec {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  readonly stdin: string;
}

/** Output callbacks; chunks arrive in order per stream. */
export interface OutputHandlers {
  onStdout(chunk: Buffer): void;
  onStderr(chunk: Buffer): void;
}

/** How a process ended. */
export interface ProcessExit {
  readonly code: number | null;
  readonly signal: string | null;
}

/** A started process. Its exit resolves after all its output was delivered. */
export interface SpawnedProcess {
  /** Signals the process's whole group (it runs in its own). */
  kill(signal: 'SIGTERM' | 'SIGKILL'): void;
  /** Resolves on exit; rejects with {@link SpawnFailedError} when the process could not be started. */
  readonly exit: Promise<ProcessExit>;
}

/** Starts action processes. */
export interface ProcessSpawner {
  spawn(spec: SpawnSpec, handlers: OutputHandlers): SpawnedProcess;
  /** Stops the spawner; processes still running are killed. */
  close(): Promise<void>;
}

/** The action's process could not be started (interpreter missing, not executable, …). */
export class SpawnFailedError extends Error {
  readonly code = 'ATTUNE_SPAWN_FAILED';

  constructor(message: string) {
    super(`The action's process could not be started: ${message}`);
    this.name = 'SpawnFailedError';
  }
}

const SIGNALS: Record<'SIGTERM' | 'SIGKILL', number> = { SIGTERM: 15, SIGKILL: 9 };
const SIGNAL_NAMES: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  9: 'SIGKILL',
  15: 'SIGTERM',
  6: 'SIGABRT',
  11: 'SIGSEGV',
};

/** The helper script, shipped beside `dist/` and `src/`. */
export const SPAWN_HELPER_PATH = fileURLToPath(new URL('../helper/spawn_helper.py', import.meta.url));

interface Pending {
  handlers: OutputHandlers;
  resolve(exit: ProcessExit): void;
  reject(error: Error): void;
}

/**
 * Starts processes through the spawn helper (helper/spawn_helper.py), a small long-lived python3 process: fork in
 * the large worker process costs milliseconds and blocks its event loop; the helper's does neither. Requests and
 * output travel over the helper's private stdin/stdout pipes, so secrets never appear in any argv or in the
 * helper's own environment. If the helper dies, running processes are reported failed and the next spawn starts a
 * new helper.
 */
export class HelperSpawner implements ProcessSpawner {
  #helper: ChildProcessWithoutNullStreams | undefined;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  readonly #python: string;
  readonly #helperEnv: Record<string, string>;

  constructor(options: { python?: string; path?: string | undefined } = {}) {
    this.#python = options.python ?? 'python3';
    // The helper needs only a PATH to find interpreters; it passes each child exactly the env of its request.
    this.#helperEnv = { PATH: options.path ?? '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8' };
  }

  spawn(spec: SpawnSpec, handlers: OutputHandlers): SpawnedProcess {
    const helper = this.#ensureHelper();
    const id = this.#nextId++;
    const exit = new Promise<ProcessExit>((resolve, reject) => {
      this.#pending.set(id, { handlers, resolve, reject });
    });
    helper.stdin.write(
      `${JSON.stringify({ op: 'spawn', id, argv: spec.argv, env: spec.env, cwd: spec.cwd, stdin: spec.stdin })}\n`,
    );
    return {
      exit,
      kill: (signal) => {
        if (this.#pending.has(id))
          this.#helper?.stdin.write(`${JSON.stringify({ op: 'kill', id, signal: SIGNALS[signal] })}\n`);
      },
    };
  }

  async close(): Promise<void> {
    const helper = this.#helper;
    if (!helper) return;
    this.#helper = undefined;
    const exited = new Promise<void>((resolve) => helper.once('exit', () => resolve()));
    helper.stdin.end(); // the helper kills what still runs and exits
    await exited;
  }

  #ensureHelper(): ChildProcessWithoutNullStreams {
    if (this.#helper) return this.#helper;
    const helper = spawn(this.#python, ['-u', SPAWN_HELPER_PATH], {
      env: this.#helperEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
      shell: false,
    });
    this.#helper = helper;
    helper.stdin.on('error', () => undefined); // reported through 'exit'
    // Drained, not kept: a crash traceback of the helper could quote request data, and the message below is stored
    // with the execution.
    helper.stderr.resume();
    const lines = createInterface({ input: helper.stdout, crlfDelay: Number.POSITIVE_INFINITY });
    lines.on('line', (line) => this.#onEvent(line));
    const fail = (why: string) => {
      if (this.#helper === helper) this.#helper = undefined;
      for (const [id, pending] of this.#pending) {
        this.#pending.delete(id);
        pending.reject(new SpawnFailedError(why));
      }
    };
    helper.on('error', (error) => fail(`spawn helper could not start (${error.message})`));
    helper.on('exit', (code, signal) => {
      // Output already read is delivered before the pending processes are failed.
      lines.once('close', () => fail(`spawn helper exited (${signal ?? code})`));
    });
    return helper;
  }

  #onEvent(line: string): void {
    const event = JSON.parse(line) as {
      id: number;
      ev: string;
      fd?: number;
      data?: string;
      code?: number | null;
      signal?: number | null;
      message?: string;
    };
    const pending = this.#pending.get(event.id);
    if (!pending) return;
    switch (event.ev) {
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
        pending.reject(new SpawnFailedError(event.message ?? 'unknown error'));
        break;
      default:
        break;
    }
  }
}

/**
 * Starts processes with Node's `child_process.spawn` (argv array, `shell: false`, own process group). Simpler than
 * the helper and needs no python3, but each spawn blocks the worker's event loop for the fork.
 */
export class DirectSpawner implements ProcessSpawner {
  readonly #running = new Set<ChildProcessWithoutNullStreams>();

  spawn(spec: SpawnSpec, handlers: OutputHandlers): SpawnedProcess {
    const [file, ...args] = spec.argv;
    const child = spawn(file as string, args, {
      env: spec.env,
      cwd: spec.cwd,
      detached: true,
      shell: false,
      stdio: 'pipe',
    });
    this.#running.add(child);
    const exit = new Promise<ProcessExit>((resolve, reject) => {
      child.once('error', (error) => {
        this.#running.delete(child);
        reject(new SpawnFailedError(error.message));
      });
      child.once('close', (code, signal) => {
        this.#running.delete(child);
        resolve({ code, signal });
      });
    });
    // Like the helper: what is left of the action's process group dies with it, so no orphan holds its pipes.
    child.once('exit', () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is already empty
      }
    });
    child.stdout.on('data', (chunk: Buffer) => handlers.onStdout(chunk));
    child.stderr.on('data', (chunk: Buffer) => handlers.onStderr(chunk));
    child.stdin.on('error', () => undefined); // an action that never reads stdin
    child.stdin.end(spec.stdin);
    return {
      exit,
      kill: (signal) => {
        if (child.pid !== undefined && child.exitCode === null) {
          try {
            process.kill(-child.pid, signal);
          } catch {
            // already gone
          }
        }
      },
    };
  }

  async close(): Promise<void> {
    for (const child of this.#running) if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  }
}
