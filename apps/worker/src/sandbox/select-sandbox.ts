import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
} from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import type { IsolationConfig } from '@attune/config';
import { AttuneError } from '@attune/core';
import { HELPER_NAME } from '../helper-spawner.js';
import { type BubblewrapBinary, BubblewrapSandbox } from './bubblewrap.js';
import { HostSandbox } from './host-sandbox.js';
import {
  type ActionIdentity,
  DEFAULT_RUN_AS,
  describeIdentity,
  lookupIdentity,
  processIdentity,
} from './identity.js';
import type { ActionSandbox, Interpreters, IsolationMode } from './sandbox.js';
import { ScratchRoot } from './scratch-dir.js';

/** The configured isolation cannot be had on this host. The message says what to install or change. */
export class IsolationUnavailableError extends AttuneError {
  constructor(
    message: string,
    /** No weaker mode may be tried instead (`worker.isolation: auto`): the operator must decide. */
    readonly final = false,
  ) {
    super({ code: 'ATTUNE_ISOLATION_UNAVAILABLE', category: 'invalid', message });
  }
}

/** What {@link createSandbox} chose, and what the operator should hear about it at start. */
export interface SandboxSelection {
  readonly sandbox: ActionSandbox;
  /** Why a stronger mode was not used, or a default that deserves attention (logged as warnings). */
  readonly notes: readonly string[];
}

const INSTALL_BWRAP =
  'install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap, or scripts/install-sandbox.sh in the Attune repository) ' +
  'and allow unprivileged user namespaces (sysctl user.max_user_namespaces > 0; on Ubuntu also kernel.apparmor_restrict_unprivileged_userns=0 or an AppArmor profile for bwrap)';

/**
 * Chooses and checks how actions are confined, once, at start: `worker.isolation: auto` takes the strongest mode
 * this host supports (sandbox, then user for a root worker, then none); any other value is required, and an
 * {@link IsolationUnavailableError} says what is missing. Each candidate is proven by running a probe the way
 * actions will run, which also finds the interpreters as the action's identity sees them.
 */
export async function createSandbox(options: {
  config: IsolationConfig;
  workerId: string;
  /** PATH to find bwrap and the interpreters (the worker's). */
  path: string | undefined;
}): Promise<SandboxSelection> {
  const { config } = options;
  const notes: string[] = [];
  const path = options.path || '/usr/local/bin:/usr/bin:/bin';
  const self = processIdentity();
  const root = self.uid === 0;
  const identity = chooseIdentity(config.runAs, root, notes);
  const switches = root;
  if (switches) {
    const others = processesOf(identity.uid);
    if (others > 0)
      notes.push(
        `${others} process(es) other than Attune's already run as ${describeIdentity(identity)}: worker.run_as should be a user that nothing else runs as (in user mode, one per worker on a host)`,
      );
  }
  const scratch = await ScratchRoot.open({
    base: config.scratchDir,
    workerId: options.workerId,
    owner: identity,
  });
  notes.push(...scratch.problems);
  for (const extra of config.sandboxReadOnlyPaths) {
    if (!existsSync(extra))
      throw new IsolationUnavailableError(`worker.sandbox_ro_paths: ${extra} does not exist on this host`);
  }
  const wanted: IsolationMode[] =
    config.mode === 'auto' ? (root ? ['sandbox', 'user', 'none'] : ['sandbox', 'none']) : [config.mode];
  const reasons: string[] = [];
  for (const mode of wanted) {
    try {
      const sandbox = build(mode, {
        identity,
        switches,
        root,
        path,
        scratch,
        readOnly: config.sandboxReadOnlyPaths,
        seccomp: config.seccomp,
      });
      if (config.mode === 'auto' && reasons.length > 0)
        notes.push(`worker.isolation auto chose ${mode}: ${reasons.join('; ')}`);
      if (sandbox instanceof BubblewrapSandbox && !sandbox.seccomp)
        notes.push(
          config.seccomp
            ? `the sandbox has no seccomp filter: this worker does not know the system call numbers of ${process.arch} (docs/worker.md#seccomp-filter)`
            : 'worker.sandbox_seccomp is false: actions may trace processes (ptrace) and reach the kernel interfaces the seccomp filter refuses (docs/worker.md#seccomp-filter)',
        );
      return { sandbox, notes };
    } catch (error) {
      if (!(error instanceof IsolationUnavailableError)) throw error;
      reasons.push(error.message);
      if (config.mode !== 'auto' || error.final) {
        await scratch.close().catch(() => undefined);
        throw error;
      }
    }
  }
  await scratch.close().catch(() => undefined);
  throw new IsolationUnavailableError(`no isolation mode is available: ${reasons.join('; ')}`);
}

function chooseIdentity(runAs: string | undefined, root: boolean, notes: string[]): ActionIdentity {
  const self = processIdentity();
  if (runAs !== undefined) {
    const identity = lookupIdentity(runAs);
    if (!identity) {
      throw new IsolationUnavailableError(
        `worker.run_as: there is no user ${runAs} on this host; create it (useradd --system --no-create-home --shell /usr/sbin/nologin ${runAs}) or name another`,
      );
    }
    if (identity.uid === 0 || identity.gid === 0)
      throw new IsolationUnavailableError('worker.run_as: actions must not run as root (uid or gid 0)');
    if (!root && identity.uid !== self.uid) {
      throw new IsolationUnavailableError(
        `worker.run_as: running actions as ${describeIdentity(identity)} needs a worker started as root (it switches to that identity for each action); this worker runs as ${describeIdentity(self)}`,
      );
    }
    return identity;
  }
  if (!root) return self;
  const dedicated = lookupIdentity(DEFAULT_RUN_AS);
  if (dedicated && dedicated.uid !== 0 && dedicated.gid !== 0) return dedicated;
  const nobody = lookupIdentity('nobody') ?? { uid: 65534, gid: 65534, name: 'nobody' };
  notes.push(
    `worker.run_as is not set and there is no user ${DEFAULT_RUN_AS}: actions run as ${describeIdentity(nobody)}, which other services may share; ` +
      `create a dedicated user (scripts/install-sandbox.sh does) or set worker.run_as`,
  );
  return nobody;
}

function build(
  mode: IsolationMode,
  o: {
    identity: ActionIdentity;
    switches: boolean;
    root: boolean;
    path: string;
    scratch: ScratchRoot;
    readOnly: readonly string[];
    seccomp: boolean;
  },
): ActionSandbox {
  if (mode === 'none') {
    const self = processIdentity();
    return new HostSandbox('none', self, probeHost(o.path, undefined, 'none'), o.scratch);
  }
  if (mode === 'user') {
    if (!o.root) {
      throw new IsolationUnavailableError(
        'worker.isolation user needs a worker started as root (it switches each action to worker.run_as)',
      );
    }
    return new HostSandbox('user', o.identity, probeHost(o.path, o.identity, 'user'), o.scratch);
  }
  const bwrap = findBubblewrap(o.path);
  const sandbox = new BubblewrapSandbox(
    bwrap,
    o.identity,
    o.switches,
    { python: 'python3', shell: '/bin/sh' },
    o.scratch,
    o.readOnly,
    o.seccomp,
  );
  sandbox.useInterpreters(probeSandbox(sandbox, o.path));
  return sandbox;
}

/** Prints where bash and the real python3 binary are, as the action will find them. */
const PROBE =
  'command -v bash || echo; p=$(command -v python3) && "$p" -c "import sys; print(sys.executable)"; exit 0';

function findBubblewrap(path: string): BubblewrapBinary {
  // PATH only, like a shell: an operator can tell exactly which bwrap runs, or hide it.
  const found = path
    .split(delimiter)
    .filter((dir) => isAbsolute(dir))
    .map((dir) => join(dir, 'bwrap'))
    .find((file) => {
      try {
        return statSync(file).isFile();
      } catch {
        return false;
      }
    });
  if (!found) throw new IsolationUnavailableError(`bubblewrap (bwrap) is not installed: ${INSTALL_BWRAP}`);
  const version = spawnSync(found, ['--version'], { encoding: 'utf8', env: { PATH: path }, timeout: 10_000 });
  const match = /(\d+\.\d+(?:\.\d+)?)/.exec(version.stdout ?? '');
  if (version.status !== 0 || !match)
    throw new IsolationUnavailableError(`${found} --version failed; reinstall bubblewrap: ${INSTALL_BWRAP}`);
  return { path: found, version: match[1] as string };
}

function probeSandbox(sandbox: BubblewrapSandbox, path: string): Interpreters {
  const scratchPath = sandbox.scratch.path;
  // A throw-away scratch folder, made like an execution's, proves the identity can use one.
  const probeDir = { path: join(scratchPath, 'probe'), tmp: join(scratchPath, 'probe', 'tmp') };
  makeProbeDir(probeDir, sandbox.identity, sandbox.switchesIdentity);
  // Under the seccomp filter, as actions will run: a filter bwrap refuses fails the start, not every execution.
  const probe = (filtered: boolean) => {
    let filter: number | undefined;
    if (filtered && sandbox.seccomp) {
      try {
        sandbox.seccomp.ensure();
        filter = openSync(sandbox.seccomp.path, 'r');
      } catch (error) {
        throw new IsolationUnavailableError(
          `the sandbox's seccomp filter ${sandbox.seccomp.path} cannot be written or opened (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
          true,
        );
      }
    }
    try {
      return spawnSync(
        sandbox.bwrap.path,
        [
          ...(filter === undefined ? [] : ['--seccomp', '3']),
          ...sandbox.args({ scratch: probeDir, network: true }),
          '/bin/sh',
          '-c',
          PROBE,
        ],
        {
          encoding: 'utf8',
          env: { PATH: path },
          cwd: probeDir.path,
          timeout: 20_000,
          stdio: ['pipe', 'pipe', 'pipe', ...(filter === undefined ? [] : [filter])],
          ...(sandbox.switchesIdentity ? { uid: sandbox.identity.uid, gid: sandbox.identity.gid } : {}),
        },
      );
    } finally {
      if (filter !== undefined) closeSync(filter);
    }
  };
  try {
    const result = probe(true);
    if (result.status !== 0) {
      const why = (result.stderr || result.error?.message || `exit ${result.status ?? result.signal}`).trim();
      // Never a weaker mode for want of the filter alone: the operator turns it off, knowingly.
      if (sandbox.seccomp && probe(false).status === 0)
        throw new IsolationUnavailableError(
          `bubblewrap starts a sandbox here but not under its seccomp filter (${why.split('\n')[0]}): set worker.sandbox_seccomp: false to run the sandbox without it (docs/worker.md#seccomp-filter)`,
          true,
        );
      throw new IsolationUnavailableError(
        `bubblewrap cannot start a sandbox here as ${describeIdentity(sandbox.identity)} (${why.split('\n')[0]}): ${INSTALL_BWRAP}`,
      );
    }
    return parseProbe(result.stdout);
  } finally {
    rmSync(probeDir.path, { recursive: true, force: true });
  }
}

function probeHost(path: string, identity: ActionIdentity | undefined, mode: 'user' | 'none'): Interpreters {
  const result = spawnSync('/bin/sh', ['-c', PROBE], {
    encoding: 'utf8',
    env: { PATH: path },
    cwd: '/',
    timeout: 20_000,
    ...(identity ? { uid: identity.uid, gid: identity.gid } : {}),
  });
  if (result.status !== 0) {
    const why = (result.stderr || result.error?.message || `exit ${result.status ?? result.signal}`).trim();
    throw new IsolationUnavailableError(
      `isolation ${mode}: cannot start a process${identity ? ` as ${describeIdentity(identity)}` : ''} (${why.split('\n')[0]})`,
    );
  }
  return parseProbe(result.stdout);
}

function parseProbe(stdout: string): Interpreters {
  const [bash = '', python = ''] = stdout.split('\n').map((line) => line.trim());
  return {
    shell: bash && isAbsolute(bash) ? bash : '/bin/sh',
    python: python && isAbsolute(python) ? python : 'python3',
  };
}

function makeProbeDir(dir: { path: string; tmp: string }, identity: ActionIdentity, chownIt: boolean): void {
  try {
    mkdirSync(dir.tmp, { recursive: true, mode: 0o700 });
    for (const p of [dir.path, dir.tmp]) {
      chmodSync(p, 0o700);
      if (chownIt) chownSync(p, identity.uid, identity.gid);
    }
  } catch (error) {
    throw new IsolationUnavailableError(
      `cannot make ${dir.path} for the sandbox probe (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

/**
 * How many processes run as `uid` that are not Attune's own: sandboxed actions (in PID namespaces of their own),
 * bwrap and spawn helpers of workers on this host are expected there; anything else means the identity is shared.
 */
function processesOf(uid: number): number {
  let ownNamespace: string;
  try {
    ownNamespace = readlinkSync('/proc/self/ns/pid');
  } catch {
    return 0;
  }
  let count = 0;
  for (const entry of safeList('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (statSync(`/proc/${entry}`).uid !== uid) continue;
      if (readlinkSync(`/proc/${entry}/ns/pid`) !== ownNamespace) continue;
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'bwrap') continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(HELPER_NAME)) continue;
      count++;
    } catch {
      // gone meanwhile, or not ours to look at
    }
  }
  return count;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
