import {
  chmodSync,
  copyFileSync,
  type Dirent,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { join } from 'node:path';

/**
 * What of /etc an interpreter needs: the dynamic linker's cache, name resolution, TLS roots, time zone, locale and
 * user names. Never all of /etc, which may hold the worker's own configuration.
 */
export const ETC_ALLOWLIST = [
  'alternatives',
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'nsswitch.conf',
  'host.conf',
  'hosts',
  'resolv.conf',
  'gai.conf',
  'services',
  'protocols',
  'ssl',
  'ca-certificates',
  'pki',
  'crypto-policies',
  'localtime',
  'timezone',
  'locale.alias',
  'mime.types',
  'passwd',
  'group',
  'os-release',
];

/** How often the copy is compared with /etc (a changed resolv.conf or CA bundle reaches actions within this). */
const REFRESH_MS = 30_000;

/**
 * A copy of the allowlisted part of the host's /etc, bound into each sandbox as its /etc in one mount.
 *
 * Why a copy: binding two dozen /etc entries one by one costs two dozen mounts per execution, and mounts serialise
 * in the kernel — measured here, a sandbox start with them managed about half the executions per second at 8 in
 * flight that one with a single /etc mount does. Only what others may read is copied (no /etc/ssl/private, no
 * file of mode 0600), top-level symlinks are followed (resolv.conf often points into /run, which the sandbox does
 * not have), symlinks inside folders are kept (they point into /usr). The copy is compared with /etc at most every
 * {@link REFRESH_MS} and replaced atomically (a new version, then a symlink swap) when it changed.
 */
export class EtcSnapshot {
  #version = 0;
  #signature = '';
  #checkedAt = 0;

  private constructor(
    /** The folder that holds the versions. */
    readonly root: string,
    readonly source: string,
  ) {}

  /** Builds the first copy under `root` (a folder of the worker's, searchable by the action identity). */
  static create(root: string, source = '/etc'): EtcSnapshot {
    const snapshot = new EtcSnapshot(root, source);
    snapshot.#rebuild(snapshot.#currentSignature());
    return snapshot;
  }

  /** The path to bind as /etc (a symlink to the current version). */
  get path(): string {
    return join(this.root, 'etc');
  }

  /** Replaces the copy when /etc changed; checks at most every 30 s. Cheap otherwise. */
  refresh(now = Date.now()): void {
    if (now - this.#checkedAt < REFRESH_MS) return;
    this.#checkedAt = now;
    const signature = this.#currentSignature();
    if (signature !== this.#signature) this.#rebuild(signature);
  }

  #rebuild(signature: string): void {
    const previous = this.#version;
    const version = previous + 1;
    const target = join(this.root, `.etc-${version}`);
    rmSync(target, { recursive: true, force: true });
    mkdirSync(target, { recursive: true, mode: 0o755 });
    chmodSync(target, 0o755);
    for (const name of ETC_ALLOWLIST) copyPublic(join(this.source, name), join(target, name), true);
    for (const name of safeReaddir(this.source)) {
      // Debian's python3 reads its sitecustomize from /etc/python3.X.
      if (/^python3(\.\d+)?$/.test(name.name))
        copyPublic(join(this.source, name.name), join(target, name.name), true);
    }
    const link = join(this.root, `.etc-link-${version}`);
    rmSync(link, { force: true });
    symlinkSync(`.etc-${version}`, link);
    renameSync(link, this.path); // atomic: a sandbox starting now binds the old copy or the new one
    this.#version = version;
    this.#signature = signature;
    // The version before the previous one: no sandbox can still be starting from it.
    if (previous > 1) rmSync(join(this.root, `.etc-${previous - 1}`), { recursive: true, force: true });
  }

  #currentSignature(): string {
    const parts: string[] = [];
    for (const name of ETC_ALLOWLIST) {
      try {
        const st = statSync(join(this.source, name));
        parts.push(`${name}:${st.ino}:${st.size}:${st.mtimeMs}:${st.mode}`);
      } catch {
        parts.push(`${name}:-`);
      }
    }
    return parts.join('|');
  }
}

function safeReaddir(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/** Copies what others may read of `src` to `dst`: files 0644, folders 0755, symlinks inside folders as they are. */
function copyPublic(src: string, dst: string, top: boolean): void {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = top ? statSync(src) : lstatSync(src);
  } catch {
    return; // missing, or a dangling link
  }
  if (stat.isSymbolicLink()) {
    symlinkSync(readlinkSync(src), dst);
    return;
  }
  if (stat.isDirectory()) {
    if ((stat.mode & 0o005) !== 0o005) return;
    mkdirSync(dst, { mode: 0o755 });
    chmodSync(dst, 0o755);
    for (const entry of safeReaddir(src)) copyPublic(join(src, entry.name), join(dst, entry.name), false);
    return;
  }
  if (!stat.isFile() || (stat.mode & 0o004) === 0) return;
  try {
    copyFileSync(src, dst);
    chmodSync(dst, 0o644);
  } catch {
    // unreadable after all: leave it out
  }
}
