import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  mkdirSync,
  openSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { chmod, lstat, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AttuneError } from '@attune/core';
import { processStartTime } from '@attune/db';
import type { ActionIdentity } from './identity.js';

/** One execution's scratch folder: its working directory and HOME, with `tmp/` as its TMPDIR. */
export interface ScratchDir {
  /** Host path of the folder (mode 0700, owned by the action's identity). */
  readonly path: string;
  /** Host path of its `tmp/` (mode 0700, owned by the action's identity). */
  readonly tmp: string;
}

/** The scratch folder could not be prepared; names the folder and the cause, never a value. */
export class ScratchDirError extends AttuneError {
  constructor(message: string) {
    super({ code: 'ATTUNE_SCRATCH_DIR', category: 'internal', message });
  }
}

/**
 * Where one worker makes the per-execution scratch folders (docs/worker.md#scratch-folders):
 * `<worker.scratch_dir>/w-<worker id>/<execution id>-<random>`. The two upper levels belong to the worker and have
 * mode 0711, so the action's identity can reach its own folder but not list the others; each execution's folder is
 * 0700 and owned by the action's identity, and removed when the execution ends, whatever the outcome.
 */
export class ScratchRoot {
  private constructor(
    /** This worker's folder of scratch folders. */
    readonly path: string,
    readonly owner: ActionIdentity,
    /** What could not be cleaned up at start (logged as warnings; never fatal). */
    readonly problems: readonly string[],
  ) {}

  /**
   * Prepares `<base>/w-<workerId>` and claims it for this process (an `.owner` file with its pid). What an earlier,
   * dead process left there is removed (a worker killed with SIGKILL cannot clean up after itself), and so are the
   * folders of other workers of this host whose process is gone.
   * Leftovers that cannot be removed are reported in {@link ScratchRoot.problems}, not thrown: an action must not
   * be able to stop its worker from starting again.
   * @throws {ScratchDirError} when `base` is not a folder this process owns and alone may write, or when a live
   *   process on this host already uses this worker id.
   */
  static async open(options: {
    base: string;
    workerId: string;
    owner: ActionIdentity;
  }): Promise<ScratchRoot> {
    const { base, workerId, owner } = options;
    const self = process.getuid?.();
    await ensureOwnDirectory(base, { searchableByOthers: owner.uid !== self });
    const path = join(base, `w-${workerId}`);
    await ensureOwnDirectory(path, { searchableByOthers: owner.uid !== self, setMode: true });
    const problems: string[] = [];
    const removeOrReport = async (target: string) => {
      try {
        await removeTree(target);
      } catch (error) {
        problems.push(`${(error as Error).message}; remove it by hand`);
      }
    };
    const holder = await readOwner(path);
    if (holder?.alive && holder.pid !== process.pid) {
      throw new ScratchDirError(
        `Worker id ${workerId} is in use by pid ${holder.pid} on this host (its scratch folder is ${path}). ` +
          'Give each worker its own worker.id (ATTUNE__WORKER__ID), or stop the other one.',
      );
    }
    for (const entry of await readdir(path)) await removeOrReport(join(path, entry));
    await writeFile(
      join(path, OWNER_FILE),
      JSON.stringify({ pid: process.pid, start: processStartTime(process.pid) }),
      {
        mode: 0o600,
      },
    );
    for (const entry of await readdir(base)) {
      if (!entry.startsWith('w-') || entry === `w-${workerId}`) continue;
      const other = join(base, entry);
      const otherHolder = await readOwner(other);
      // A folder without an owner file may be one another worker is making right now: leave young ones alone.
      const stale = otherHolder
        ? !otherHolder.alive
        : Date.now() - (await lstat(other).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs > 60_000;
      if (stale) await removeOrReport(other);
    }
    return new ScratchRoot(path, owner, problems);
  }

  /** Removes this worker's folder of scratch folders (when the worker stops). */
  async close(): Promise<void> {
    await removeTree(this.path);
  }

  /**
   * Makes the scratch folder of one execution. Synchronous on purpose: six system calls on a folder of the worker's
   * own cost microseconds, while each asynchronous file-system call costs a thread-pool round trip — measured here,
   * 1.2 ms per execution on its critical path instead of 0.1 ms.
   */
  async create(executionId: string): Promise<ScratchDir> {
    const path = join(this.path, `${executionId}-${randomBytes(8).toString('hex')}`);
    const tmp = join(path, 'tmp');
    try {
      mkdirSync(path, { mode: 0o700 });
      mkdirSync(tmp, { mode: 0o700 });
      // mkdir's mode is reduced by the umask: state it exactly. Then hand both to the action's identity.
      const own = this.owner.uid !== process.getuid?.() || this.owner.gid !== process.getgid?.();
      for (const dir of [path, tmp]) {
        chmodSync(dir, 0o700);
        if (own) chownSync(dir, this.owner.uid, this.owner.gid);
      }
    } catch (error) {
      await removeTree(path).catch(() => undefined);
      throw new ScratchDirError(
        `Cannot make the scratch folder ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
    return { path, tmp };
  }

  /**
   * Writes a file of the worker's making into an execution's scratch folder before the action starts (the
   * `file` secrets delivery): created new (never through a link or over a file), mode 0400, the action's own.
   * Removed with the folder. @throws {ScratchDirError} naming the file, never its content.
   */
  writeFile(dir: ScratchDir, name: string, content: string): string {
    const path = join(dir.path, name);
    let fd: number | undefined;
    try {
      fd = openSync(
        path,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        0o400,
      );
      writeFileSync(fd, content);
      fchmodSync(fd, 0o400);
      const own = this.owner.uid !== process.getuid?.() || this.owner.gid !== process.getgid?.();
      if (own) fchownSync(fd, this.owner.uid, this.owner.gid);
    } catch (error) {
      throw new ScratchDirError(
        `Cannot write ${path} into the scratch folder: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    return path;
  }

  /** Removes an execution's scratch folder and everything in it, whatever the action did to its permissions. */
  async remove(dir: ScratchDir): Promise<void> {
    // Most actions leave both folders empty: two system calls. Anything else (any amount of it) asynchronously.
    try {
      rmdirSync(dir.tmp);
      rmdirSync(dir.path);
      return;
    } catch {
      await removeTree(dir.path);
    }
  }
}

const OWNER_FILE = '.owner';

/** The process that holds a worker's scratch folders, and whether it still runs. */
async function readOwner(path: string): Promise<{ pid: number; alive: boolean } | undefined> {
  let owner: { pid?: unknown; start?: unknown };
  try {
    owner = JSON.parse(await readFile(join(path, OWNER_FILE), 'utf8')) as typeof owner;
  } catch {
    return undefined;
  }
  if (typeof owner.pid !== 'number') return undefined;
  // The start time tells a live holder from an unrelated process that reused its pid.
  const start = processStartTime(owner.pid);
  return {
    pid: owner.pid,
    alive: start !== undefined && (owner.start === undefined || owner.start === start),
  };
}

/**
 * Makes `path` (0711) or checks the existing one: a folder (not a symlink) of this process's that no one else may
 * write. An existing folder's mode is not changed, except ours to own (`setMode`): a folder the action identity
 * cannot search is refused with what to do, rather than silently opened up.
 */
async function ensureOwnDirectory(
  path: string,
  o: { searchableByOthers: boolean; setMode?: boolean },
): Promise<void> {
  const key = 'worker.scratch_dir';
  let created = false;
  try {
    created = (await mkdir(path, { recursive: true, mode: 0o711 })) !== undefined;
  } catch (error) {
    throw new ScratchDirError(
      `${key}: cannot create ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  const stat = await lstat(path);
  if (!stat.isDirectory())
    throw new ScratchDirError(`${key}: ${path} is not a folder (a symlink is refused)`);
  if (stat.uid !== process.getuid?.()) {
    throw new ScratchDirError(
      `${key}: ${path} belongs to uid ${stat.uid}, not to this worker (uid ${process.getuid?.()}); choose another folder or remove it`,
    );
  }
  if (stat.mode & 0o022) {
    throw new ScratchDirError(
      `${key}: ${path} is writable by group or others (mode ${(stat.mode & 0o777).toString(8)}); chmod 711 ${path}`,
    );
  }
  if (created || o.setMode) {
    if ((stat.mode & 0o777) !== 0o711) await chmod(path, 0o711);
  } else if (o.searchableByOthers && (stat.mode & 0o001) === 0) {
    throw new ScratchDirError(
      `${key}: ${path} (mode ${(stat.mode & 0o777).toString(8)}) cannot be searched by the actions' identity; chmod o+x ${path}, or choose another folder`,
    );
  }
}

const RM_ENV = { PATH: '/usr/bin:/bin', LC_ALL: 'C' };

/**
 * Removes a tree an action wrote, with coreutils: `rm -rf --one-file-system`, which walks by file descriptor
 * (openat with O_NOFOLLOW), so an action that swaps a folder for a symlink while it is being removed cannot
 * redirect the removal out of its scratch folder — as a path-based walk (Node's fs.rm) can be, with root's rights —
 * and which handles trees of any depth. Where the worker is not root, an action may have taken its own rights away
 * from folders inside: `chmod -R u+rwx` (which never follows symlinks) gives them back, then `rm` again. Errors
 * name the folder, never what is in it (file names are the action's).
 */
export async function removeTree(path: string): Promise<void> {
  if ((await run('rm', ['-rf', '--one-file-system', '--', path])) === 0) return;
  await run('chmod', ['-R', 'u+rwx', '--', path]);
  const code = await run('rm', ['-rf', '--one-file-system', '--', path]);
  if (code !== 0) throw new ScratchDirError(`Cannot remove the scratch folder ${path} (rm exited ${code})`);
}

function run(command: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    execFile(command, args, { env: RM_ENV, timeout: 600_000 }, (error) => {
      const code = (error as { code?: unknown } | null)?.code;
      resolve(error ? (typeof code === 'number' ? code : 1) : 0);
    });
  });
}
