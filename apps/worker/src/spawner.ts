import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { closeSync, constants, openSync, readdirSync, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { AttuneError, procStatFields } from '@attune/core';
import { textProblem } from '@attune/secrets';

/** What to run: argv (never a secret), the complete environment, the folder, text for stdin, and as whom. */
export interface SpawnSpec {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  readonly stdin: string;
  /** Switch to this uid and gid, with no supplementary groups, before exec (the worker must be root). */
  readonly uid?: number;
  readonly gid?: number;
  /** The process's file mode creation mask (the spawn helper only). */
  readonly umask?: number;
  /**
   * The process started is a supervisor of the action (bwrap), in the action's process group: SIGTERM goes to the
   * rest of its group and not to it, so that it outlives the action's graceful exit and reports its status (bwrap
   * killed by SIGTERM would take the whole sandbox down with SIGKILL at once). SIGKILL still goes to the whole group,
   * and to the sandbox's init, which the spawner adds `--json-status-fd` to learn: when bwrap exits or is killed, the
   * sandbox's PID namespace is ended through its init, whatever the action did to bwrap or to init.
   */
  readonly supervisor?: boolean;
  /**
   * With `supervisor`: the file of a compiled seccomp filter (struct sock_filter[]) for bwrap to install on the
   * action. The spawner opens it and passes it as `--seccomp <fd>`; a filter that cannot be opened fails the start.
   */
  readonly seccompFilter?: string;
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
  /** Resolves on exit; rejects with {@link SpawnFailedError} when the process could not be started or was lost. */
  readonly exit: Promise<ProcessExit>;
}

/** Whether a spawner can start processes now. */
export interface SpawnerHealth {
  readonly ok: boolean;
  /** Times the spawner's machinery (the spawn helper) was restarted after it died. */
  readonly restarts: number;
  /** Why it is not ok. */
  readonly problem?: string;
}

/** Starts action processes. */
export interface ProcessSpawner {
  spawn(spec: SpawnSpec, handlers: OutputHandlers): SpawnedProcess;
  /**
   * Kills (SIGKILL) every process of real uid `uid` outside the sessions of the processes this spawner is running:
   * what earlier actions left behind (a daemon that called setsid, say). Never root's or the worker's own uid.
   * Resolves to how many were killed.
   */
  sweep(uid: number): Promise<number>;
  health(): SpawnerHealth;
  /** Stops the spawner; processes still running are killed. */
  close(): Promise<void>;
}

/** The action's process could not be started, or was lost while it ran. The message is stored with the execution. */
export class SpawnFailedError extends AttuneError {
  constructor(message: string) {
    super({ code: 'ATTUNE_SPAWN_FAILED', category: 'internal', message });
  }
}

/**
 * Refuses what no process can be given: a NUL in argv, the folder or the environment (the kernel takes C strings),
 * or text that is not well-formed UTF-16 (it has no UTF-8 form). Checked before anything reaches the helper, so no
 * value can crash it. The message names the variable, never its value.
 */
export function spawnProblem(spec: SpawnSpec): string | undefined {
  const bad = (text: string) => textProblem(text) !== undefined;
  if (spec.argv.length === 0 || spec.argv.some(bad)) return 'an argument holds a NUL or malformed text';
  if (bad(spec.cwd)) return 'the working directory holds a NUL or malformed text';
  for (const [name, value] of Object.entries(spec.env)) {
    if (bad(name) || name.includes('=') || name === '') return 'an environment variable name is invalid';
    if (bad(value)) return `environment variable ${name} holds a NUL or malformed text`;
  }
  if (textProblem(spec.stdin) === 'unpaired-surrogate') return 'stdin holds malformed text';
  return undefined;
}

/** A process that never started: the spec was refused before reaching the OS. */
export function refused(problem: string): SpawnedProcess {
  const exit = Promise.reject(new SpawnFailedError(`The action's process could not be started: ${problem}.`));
  exit.catch(() => undefined); // the caller awaits it; never an unhandled rejection meanwhile
  return { exit, kill: () => undefined };
}

/** How long a pipe may stay open after its process exited (the helper's DRAIN_SECONDS). */
const DRAIN_MS = 1000;

/**
 * Starts processes with Node's `child_process.spawn` (argv array, `shell: false`, own process group). Simpler than
 * the helper and needs no python3, but each spawn blocks the worker's event loop for the fork, and it cannot set
 * the umask.
 */
export class DirectSpawner implements ProcessSpawner {
  readonly #running = new Set<ChildProcessWithoutNullStreams>();

  spawn(spec: SpawnSpec, handlers: OutputHandlers): SpawnedProcess {
    const problem = spawnProblem(spec);
    if (problem) return refused(problem);
    const [file, ...rest] = spec.argv;
    // A supervisor (bwrap) reports its sandbox's init on fd 3: the sandbox is killed through it (see SandboxInit);
    // it reads the seccomp filter it installs on the action from fd 4.
    let filter: number | undefined;
    if (spec.supervisor && spec.seccompFilter) {
      try {
        filter = openSync(spec.seccompFilter, constants.O_RDONLY | constants.O_NOFOLLOW);
      } catch (error) {
        return refused(
          `the seccomp filter ${spec.seccompFilter} cannot be opened (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
        );
      }
    }
    const args = spec.supervisor
      ? ['--json-status-fd', '3', ...(filter !== undefined ? ['--seccomp', '4'] : []), ...rest]
      : rest;
    let child: ChildProcessWithoutNullStreams;
    try {
      child = spawn(file as string, args, {
        env: spec.env,
        cwd: spec.cwd,
        detached: true,
        shell: false,
        stdio: spec.supervisor
          ? ['pipe', 'pipe', 'pipe', 'pipe', ...(filter !== undefined ? [filter] : [])]
          : 'pipe',
        ...(spec.uid !== undefined ? { uid: spec.uid } : {}),
        ...(spec.gid !== undefined ? { gid: spec.gid } : {}),
      }) as ChildProcessWithoutNullStreams;
    } catch (error) {
      return refused((error as NodeJS.ErrnoException).code ?? 'spawn failed');
    } finally {
      if (filter !== undefined) closeSync(filter);
    }
    const init = spec.supervisor ? new SandboxInit(child.stdio[3] as Readable) : undefined;
    this.#running.add(child);
    const exit = new Promise<ProcessExit>((resolve, reject) => {
      child.once('error', (error) => {
        this.#running.delete(child);
        reject(new SpawnFailedError(`The action's process could not be started: ${error.message}`));
      });
      child.once('close', (code, signal) => {
        this.#running.delete(child);
        resolve({ code, signal });
      });
    });
    // Like the helper: what is left of the action's process group dies with it, so no orphan holds its pipes; a
    // pipe still open DRAIN_MS later (a process outside the group holds it) is closed after one more read of what it
    // holds, so that the exit is reported rather than waited for until the timeout.
    child.once('exit', () => {
      // Whatever its exit: bwrap does not wait for its init, whose parent-death signal the action may have cleared.
      init?.kill();
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is already empty
      }
      setTimeout(() => {
        // After the poll phase (setImmediate): what the pipes hold now has been read, however late this timer ran.
        setImmediate(() => {
          child.stdout.destroy();
          child.stderr.destroy();
          (child.stdio[3] as Readable | undefined)?.destroy();
        });
      }, DRAIN_MS).unref();
    });
    child.stdout.on('data', (chunk: Buffer) => handlers.onStdout(chunk));
    child.stderr.on('data', (chunk: Buffer) => handlers.onStderr(chunk));
    child.stdin.on('error', () => undefined); // an action that never reads stdin
    child.stdin.end(spec.stdin);
    return {
      exit,
      kill: (signal) => {
        if (child.pid !== undefined && child.exitCode === null) {
          if (spec.supervisor && signal !== 'SIGKILL') signalGroupMembers(child.pid, signal);
          else {
            init?.kill();
            try {
              process.kill(-child.pid, signal);
            } catch {
              // already gone
            }
          }
        }
      },
    };
  }

  health(): SpawnerHealth {
    return { ok: true, restarts: 0 };
  }

  async sweep(uid: number): Promise<number> {
    const keep = new Set([...this.#running].map((c) => c.pid).filter((pid) => pid !== undefined));
    return sweepUid(uid, keep);
  }

  async close(): Promise<void> {
    for (const child of this.#running) {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/**
 * A process as it was when first seen: its pid and its start time (field 22 of /proc/<pid>/stat, in clock ticks since
 * boot). A pid alone may be another process's once this one is gone; the pair names one process.
 */
export interface ProcessIdentity {
  readonly pid: number;
  readonly start: string;
}

/** The identity of `pid` now, or undefined when it is gone (or its start time cannot be read). */
export function processIdentity(pid: number): ProcessIdentity | undefined {
  const start = procStatFields(`/proc/${pid}/stat`)?.[19];
  return start === undefined ? undefined : { pid, start };
}

/** SIGKILL to the process `who` names, unless its pid is now another process's (or nobody's). */
export function killProcess(who: ProcessIdentity): void {
  if (processIdentity(who.pid)?.start !== who.start) return;
  try {
    process.kill(who.pid, 'SIGKILL');
  } catch {
    // gone meanwhile
  }
}

/**
 * The init of a bwrap sandbox (pid 1 of its PID namespace), as bwrap reports it on `--json-status-fd`. SIGKILL to it
 * ends the whole namespace, whatever the action did to bwrap or to init (it can clear init's parent-death signal
 * through ptrace, then exit or kill bwrap). Node has no pidfd: the process is named by pid and start time, taken as
 * soon as bwrap reports it (before the action runs).
 */
class SandboxInit {
  #text = '';
  #init: ProcessIdentity | undefined;
  #reported = false;
  #killed = false;

  constructor(stream: Readable) {
    stream.setEncoding('utf8');
    stream.on('data', (text: string) => {
      if (this.#reported) return;
      this.#text += text;
      const match = /"child-pid"\s*:\s*(\d+)/.exec(this.#text);
      if (!match) return;
      this.#reported = true;
      this.#init = processIdentity(Number(match[1]));
      if (this.#killed) this.kill(); // bwrap's exit was seen before its report was read
    });
    stream.on('error', () => undefined);
  }

  /** Kills the sandbox now, or as soon as bwrap's report of its init is read. */
  kill(): void {
    this.#killed = true;
    if (this.#init) killProcess(this.#init);
  }
}

/** Signals every process of group `pgid` but its leader (see {@link SpawnSpec.supervisor}). */
function signalGroupMembers(pgid: number, signal: NodeJS.Signals): void {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return;
  }
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === pgid) continue;
    try {
      if (Number(procStatFields(`/proc/${pid}/stat`)?.[2]) === pgid) process.kill(pid, signal);
    } catch {
      // gone meanwhile
    }
  }
}

/** Whether a process has a thread that is not dead (a "zombie" leader whose other threads run on). */
export function hasLiveThread(pid: number): boolean {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return false; // gone meanwhile
  }
  return tids.some((tid) => {
    const state = procStatFields(`/proc/${pid}/task/${tid}/stat`)?.[0];
    return state !== undefined && state !== 'Z' && state !== 'X';
  });
}

/** {@link ProcessSpawner.sweep} for the direct spawner (the helper does the same in python: see its `sweep`). */
function sweepUid(uid: number, keepSessions: ReadonlySet<number>): number {
  if (uid === 0 || uid === process.getuid?.()) return 0;
  let found = 0;
  for (let round = 0; round < 50; round++) {
    let seen = 0;
    for (const entry of readdirSync('/proc')) {
      const pid = Number(entry);
      if (!Number.isInteger(pid)) continue;
      try {
        // The owner of /proc/<pid> is the process's effective uid.
        if (statSync(`/proc/${pid}`).uid !== uid) continue;
        const fields = procStatFields(`/proc/${pid}/stat`);
        if (!fields) continue;
        const [state, , , , session] = fields;
        // Dead already, waiting for its parent — unless only its main thread ended and others run on.
        if ((state === 'Z' || state === 'X') && !hasLiveThread(pid)) continue;
        if (keepSessions.has(Number(session)) || keepSessions.has(pid)) continue;
        seen++; // a pid gone before its kill counts: it may have forked, and its child is the next round's
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    found += seen;
    if (keepSessions.size === 0 && process.getuid?.() === 0) {
      // Nothing of uid to keep: kill(-1) from a process of uid reaches all of them at once, forks included.
      spawnSync('/bin/sh', ['-c', 'kill -9 -1'], { uid, env: {}, stdio: 'ignore', timeout: 5000 });
      break;
    }
    if (seen === 0) break;
  }
  return found;
}
