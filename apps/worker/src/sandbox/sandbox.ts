import type { SpawnSpec } from '../spawner.js';
import type { ActionIdentity } from './identity.js';
import type { ScratchDir, ScratchRoot } from './scratch-dir.js';

/**
 * How actions are confined (docs/worker.md#security-model):
 * - `sandbox`: bubblewrap — private user, PID, mount, IPC, UTS and cgroup namespaces; only system folders
 *   (read-only), the pack (read-only) and the execution's scratch folder are visible; as `worker.run_as` when the
 *   worker is root.
 * - `user`: a root worker switches each action to `worker.run_as`; no namespaces.
 * - `none`: actions run as the worker, seeing what it sees. Development only.
 */
export type IsolationMode = 'sandbox' | 'user' | 'none';

/** The interpreters actions run with, as the action's identity finds them, resolved once at start. */
export interface Interpreters {
  /** Absolute path of python3 (the binary, not a wrapper such as pyenv's shim, which costs ~100 ms a start). */
  readonly python: string;
  /** Absolute path of bash, or /bin/sh where bash is missing. */
  readonly shell: string;
}

/** What to start for one execution, in host terms. */
export interface SandboxLaunch {
  /** Absolute path of the interpreter ({@link Interpreters}). */
  readonly interpreter: string;
  /** Absolute, real path of the action's script, inside `packPath`. */
  readonly script: string;
  /** Absolute, real path of the pack folder. */
  readonly packPath: string;
  /** The action's environment; the sandbox adds HOME and TMPDIR (its scratch folder). */
  readonly env: Readonly<Record<string, string>>;
  /** Text for the action's stdin (its parameters). */
  readonly stdin: string;
  readonly scratch: ScratchDir;
  /** Whether the action may use the network (action metadata `network`, default true). */
  readonly network: boolean;
}

/** An isolation mode: turns a launch into the process to spawn. One implementation per mode. */
export interface ActionSandbox {
  readonly mode: IsolationMode;
  /** Who actions run as, seen from the host. */
  readonly identity: ActionIdentity;
  readonly interpreters: Interpreters;
  /** Per-execution scratch folders. */
  readonly scratch: ScratchRoot;
  /**
   * The uid whose processes are leftovers when they are outside every running execution (`user` mode, where
   * actions share one identity without namespaces): the worker kills them after each execution. Undefined where
   * nothing can outlive its execution (the sandbox) or nothing can be told apart (`none`).
   */
  readonly leftoverUid: number | undefined;
  /** Whether this mode can cut an action off the network (`network: false` in its metadata). */
  readonly isolatesNetwork: boolean;
  /** One line for the start-up log and /readyz. */
  readonly description: string;
  /** The process to spawn for `launch`. */
  spawnSpec(launch: SandboxLaunch): SpawnSpec;
  /** The path the action sees for the file `name` of its scratch folder (`/scratch/name` in the sandbox). */
  scratchFilePath(scratch: ScratchDir, name: string): string;
  /** Why the action's identity cannot read `script`, or undefined when it can. */
  accessProblem(script: string): string | undefined;
}
