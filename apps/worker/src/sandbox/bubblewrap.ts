import { lstatSync, readlinkSync } from 'node:fs';
import { relative, sep } from 'node:path';
import type { SpawnSpec } from '../spawner.js';
import { EtcSnapshot } from './etc-snapshot.js';
import { type ActionIdentity, describeIdentity } from './identity.js';
import { readProblem } from './path-access.js';
import type { ActionSandbox, Interpreters, SandboxLaunch } from './sandbox.js';
import type { ScratchDir, ScratchRoot } from './scratch-dir.js';
import { SeccompFilter } from './seccomp.js';

/** Inside the sandbox: the pack (read-only), the scratch folder (working directory and HOME) and its tmp. */
export const SANDBOX_PACK = '/pack';
export const SANDBOX_SCRATCH = '/scratch';
export const SANDBOX_TMP = '/tmp';

/** Top-level system folders: bound read-only where they are folders, recreated where they are symlinks. */
const SYSTEM_PATHS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

/** bubblewrap as found on this host. */
export interface BubblewrapBinary {
  readonly path: string;
  /** e.g. `0.8.0` */
  readonly version: string;
}

/**
 * The `sandbox` mode: each action runs under bubblewrap (bwrap) in new user, PID, mount, IPC, UTS and cgroup
 * namespaces (and network, for actions with `network: false`), with no capabilities, no further user namespaces,
 * a seccomp filter (seccomp.ts: no ptrace, no keyrings, no bpf or io_uring…; unless `worker.sandbox_seccomp` is
 * false), no controlling terminal, killed with its parent, on a root of its own that holds only the
 * system folders (read-only), a few files of /etc (read-only), its pack at /pack (read-only), and its scratch
 * folder at /scratch with its tmp at /tmp. A root worker also starts bwrap as `worker.run_as`, so the action is
 * another uid on the host as well. See docs/worker.md#security-model.
 */
export class BubblewrapSandbox implements ActionSandbox {
  readonly mode = 'sandbox' as const;
  readonly isolatesNetwork = true;
  /** Nothing outlives its sandbox: its PID namespace dies with its init, which the spawner kills (SpawnSpec.supervisor). */
  readonly leftoverUid = undefined;
  readonly description: string;
  /** The compiled seccomp filter bwrap installs on the action (SpawnSpec.seccompFilter); undefined when there is none. */
  readonly seccomp: SeccompFilter | undefined;
  readonly #fixedArgs: readonly string[];
  readonly #etc: EtcSnapshot;
  #interpreters: Interpreters;

  constructor(
    readonly bwrap: BubblewrapBinary,
    readonly identity: ActionIdentity,
    /** Whether bwrap is started as `identity` (a root worker); otherwise it is the worker's own uid. */
    readonly switchesIdentity: boolean,
    interpreters: Interpreters,
    readonly scratch: ScratchRoot,
    readOnlyPaths: readonly string[] = [],
    /** Whether to install the seccomp filter (`worker.sandbox_seccomp`); where this arch has no table there is none. */
    seccomp = true,
  ) {
    this.#interpreters = interpreters;
    this.seccomp = seccomp ? SeccompFilter.create(scratch.path) : undefined;
    const hasDisableUserns = compareVersions(bwrap.version, '0.8.0') >= 0;
    this.#etc = EtcSnapshot.create(scratch.path);
    this.#fixedArgs = [
      '--unshare-user',
      '--unshare-pid',
      '--unshare-ipc',
      '--unshare-uts',
      '--unshare-cgroup-try',
      ...(hasDisableUserns ? ['--disable-userns'] : []),
      '--hostname',
      'attune-sandbox',
      '--die-with-parent',
      // No --new-session: bwrap is already started in a session of its own with no controlling terminal (the
      // helper's and Node's spawn call setsid; stdio are pipes), so there is no terminal to inject into, and keeping
      // the action in bwrap's process group lets the worker's SIGTERM reach it (see SpawnSpec.supervisor).
      '--cap-drop',
      'ALL',
      ...systemArgs(),
      '--ro-bind',
      this.#etc.path,
      '/etc',
      ...readOnlyPaths.flatMap((p) => ['--ro-bind', p, p]),
      '--proc',
      '/proc',
      '--dev',
      '/dev',
    ];
    this.description =
      `sandbox: bubblewrap ${bwrap.version} (private user, PID, mount, IPC, UTS and cgroup namespaces), actions run as ` +
      (switchesIdentity
        ? describeIdentity(identity)
        : `the worker's uid ${identity.uid} inside their own user namespace (start the worker as root to give them worker.run_as)`) +
      (this.seccomp ? ', under a seccomp filter' : ', without a seccomp filter');
  }

  get interpreters(): Interpreters {
    return this.#interpreters;
  }

  /** Sets the interpreters, once a probe in this sandbox has found them (see createSandbox). */
  useInterpreters(interpreters: Interpreters): void {
    this.#interpreters = interpreters;
  }

  /** bwrap's arguments for `scratch`, and `pack` when given, up to the command. */
  args(options: { scratch: ScratchDir; packPath?: string; network: boolean }): string[] {
    return [
      ...this.#fixedArgs,
      ...(options.network ? [] : ['--unshare-net']),
      ...(options.packPath ? ['--ro-bind', options.packPath, SANDBOX_PACK] : []),
      '--bind',
      options.scratch.path,
      SANDBOX_SCRATCH,
      '--bind',
      options.scratch.tmp,
      SANDBOX_TMP,
      '--symlink',
      SANDBOX_TMP,
      '/var/tmp',
      '--chdir',
      SANDBOX_SCRATCH,
      '--',
    ];
  }

  scratchFilePath(_scratch: ScratchDir, name: string): string {
    return `${SANDBOX_SCRATCH}/${name}`;
  }

  spawnSpec(launch: SandboxLaunch): SpawnSpec {
    this.#etc.refresh();
    this.seccomp?.ensure();
    const inPack = relative(launch.packPath, launch.script);
    if (inPack.startsWith('..') || inPack.startsWith(sep))
      throw new Error(`the script ${launch.script} is outside its pack ${launch.packPath}`);
    return {
      argv: [
        this.bwrap.path,
        ...this.args({ scratch: launch.scratch, packPath: launch.packPath, network: launch.network }),
        launch.interpreter,
        `${SANDBOX_PACK}/${inPack}`,
      ],
      env: { ...launch.env, HOME: SANDBOX_SCRATCH, TMPDIR: SANDBOX_TMP },
      // bwrap's own working directory; the action's is --chdir.
      cwd: launch.scratch.path,
      stdin: launch.stdin,
      umask: 0o077,
      supervisor: true,
      ...(this.seccomp ? { seccompFilter: this.seccomp.path } : {}),
      ...(this.switchesIdentity ? { uid: this.identity.uid, gid: this.identity.gid } : {}),
    };
  }

  accessProblem(script: string): string | undefined {
    // bwrap runs as the identity: it must reach the pack folder to bind it, and the interpreter must read the script.
    return this.switchesIdentity ? readProblem(script, this.identity) : undefined;
  }
}

function systemArgs(): string[] {
  const args: string[] = [];
  for (const path of SYSTEM_PATHS) {
    let stat: ReturnType<typeof lstatSync>;
    try {
      stat = lstatSync(path);
    } catch {
      continue;
    }
    if (stat.isSymbolicLink()) args.push('--symlink', readlinkSync(path), path);
    else if (stat.isDirectory()) args.push('--ro-bind', path, path);
  }
  return args;
}

/** Compares dotted versions numerically. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split('.').map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
