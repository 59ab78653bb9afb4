import { join } from 'node:path';
import type { SpawnSpec } from '../spawner.js';
import { type ActionIdentity, describeIdentity } from './identity.js';
import { readProblem } from './path-access.js';
import type { ActionSandbox, Interpreters, SandboxLaunch } from './sandbox.js';
import type { ScratchDir, ScratchRoot } from './scratch-dir.js';

/**
 * The `user` and `none` modes: the action runs on the host's filesystem and process table, in its scratch folder.
 * In `user` mode a root worker switches it to `worker.run_as` (uid, gid, no supplementary groups), so it cannot
 * read the worker's environment, memory or private files; in `none` mode it runs as the worker.
 */
export class HostSandbox implements ActionSandbox {
  readonly isolatesNetwork = false;
  readonly description: string;
  readonly leftoverUid: number | undefined;

  constructor(
    readonly mode: 'user' | 'none',
    readonly identity: ActionIdentity,
    readonly interpreters: Interpreters,
    readonly scratch: ScratchRoot,
  ) {
    this.leftoverUid = mode === 'user' ? identity.uid : undefined;
    this.description =
      mode === 'user'
        ? `user: actions run as ${describeIdentity(identity)}, without namespaces`
        : `none: actions run as the worker, ${describeIdentity(identity)}, and can read its environment`;
  }

  scratchFilePath(scratch: ScratchDir, name: string): string {
    return join(scratch.path, name);
  }

  spawnSpec(launch: SandboxLaunch): SpawnSpec {
    return {
      argv: [launch.interpreter, launch.script],
      env: { ...launch.env, HOME: launch.scratch.path, TMPDIR: launch.scratch.tmp },
      cwd: launch.scratch.path,
      stdin: launch.stdin,
      umask: 0o077,
      ...(this.mode === 'user' ? { uid: this.identity.uid, gid: this.identity.gid } : {}),
    };
  }

  accessProblem(script: string): string | undefined {
    return this.mode === 'user' ? readProblem(script, this.identity) : undefined;
  }
}
