import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, readlinkSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { procStatFields } from '@attune/core';
import { EmbeddedDatabaseBusyError } from './errors.js';

/** The lock file in an embedded database's folder. */
export const EMBEDDED_LOCK_FILE = 'attune.lock';

/** Who holds a lock: enough to tell whether that process still runs, and to name it. */
interface Holder {
  readonly pid: number;
  /** Its start time (clock ticks since boot): tells it from a later process with the same pid. */
  readonly start?: string;
  /** Its PID namespace: a pid means nothing in another one (a container). */
  readonly ns?: string;
  /** The boot it ran in: after a reboot every holder is gone. */
  readonly boot?: string;
  readonly command: string;
}

/** A takeover lock older than this was left by a process that died while taking over. */
const TAKEOVER_STALE_MS = 10_000;

/**
 * Claims an embedded database folder for this process: `attune.lock` names the holder (pid, start time, PID
 * namespace, boot, command). It is created whole and atomically (written to a file of its own, then hard-linked into
 * place, which fails if a lock exists), so no other process ever reads a half-written lock. A lock whose process is
 * gone (a holder killed outright, or a reboot) is taken over under a second lock, `attune.lock.takeover`, after
 * reading it again, so that two processes never both take it over. A holder in another PID namespace cannot be
 * checked and counts as live. Returns the release function.
 * @throws {EmbeddedDatabaseBusyError} when a live process (this one included) holds it.
 */
export function lockEmbeddedDatabase(dataDir: string): () => void {
  const path = join(dataDir, EMBEDDED_LOCK_FILE);
  const me = self();
  const mine = writeTemporary(path, me);
  try {
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        linkSync(mine, path);
        return () => release(path, me);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = readHolder(path);
      if (holder === 'missing') continue;
      if (holder === 'unreadable' ? !olderThan(path, TAKEOVER_STALE_MS) : alive(holder, me)) {
        throw new EmbeddedDatabaseBusyError(
          dataDir,
          describe(holder === 'unreadable' ? undefined : holder, me),
        );
      }
      takeOver(path, holder === 'unreadable' ? undefined : holder, me);
    }
    throw new EmbeddedDatabaseBusyError(dataDir, { pid: 0, command: 'several processes at once' });
  } finally {
    unlinkQuietly(mine);
  }
}

/** Removes a stale lock, under the takeover lock, if it is still the one judged stale. */
function takeOver(path: string, stale: Holder | undefined, me: Holder): void {
  const guard = `${path}.takeover`;
  const mine = writeTemporary(guard, me);
  try {
    try {
      linkSync(mine, guard);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // Another process is taking over: let it, unless it died doing so.
      if (olderThan(guard, TAKEOVER_STALE_MS)) unlinkQuietly(guard);
      else sleep(20);
      return;
    }
    try {
      const now = readHolder(path);
      const same =
        now !== 'missing' &&
        (now === 'unreadable' ? stale === undefined : stale !== undefined && sameHolder(now, stale));
      if (same) unlinkQuietly(path);
    } finally {
      unlinkQuietly(guard);
    }
  } finally {
    unlinkQuietly(mine);
  }
}

function release(path: string, me: Holder): void {
  const holder = readHolder(path);
  if (typeof holder === 'object' && sameHolder(holder, me)) unlinkQuietly(path);
}

function self(): Holder {
  return {
    pid: process.pid,
    ...optional('start', processStartTime(process.pid)),
    ...optional('ns', readLink('/proc/self/ns/pid')),
    ...optional('boot', bootId()),
    // argv holds no secret (the CLI reads values from stdin); the script and command name the holder.
    command: [process.argv[1] ?? 'node', ...process.argv.slice(2, 4)].join(' '),
  };
}

function alive(holder: Holder, me: Holder): boolean {
  if (holder.boot && me.boot && holder.boot !== me.boot) return false;
  if (holder.ns && me.ns && holder.ns !== me.ns) return true;
  const start = processStartTime(holder.pid);
  return start !== undefined && (holder.start === undefined || holder.start === start);
}

function sameHolder(a: Holder, b: Holder): boolean {
  return a.pid === b.pid && a.start === b.start && a.ns === b.ns && a.boot === b.boot;
}

function describe(holder: Holder | undefined, me: Holder): { pid: number; command: string } {
  if (!holder) return { pid: 0, command: 'a process starting now' };
  if (sameHolder(holder, me)) return { pid: holder.pid, command: 'this very process, opened twice' };
  if (holder.ns && me.ns && holder.ns !== me.ns)
    return { pid: holder.pid, command: `${holder.command}, in another PID namespace (a container?)` };
  return holder;
}

function writeTemporary(path: string, holder: Holder): string {
  const file = `${path}.${process.pid}.${randomBytes(6).toString('hex')}`;
  writeFileSync(file, JSON.stringify(holder), { mode: 0o600, flag: 'wx' });
  return file;
}

function readHolder(path: string): Holder | 'missing' | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable';
  }
  try {
    const h = JSON.parse(text) as Record<string, unknown>;
    if (typeof h.pid !== 'number') return 'unreadable';
    const text_ = (v: unknown) => (typeof v === 'string' ? v : undefined);
    return {
      pid: h.pid,
      ...optional('start', text_(h.start)),
      ...optional('ns', text_(h.ns)),
      ...optional('boot', text_(h.boot)),
      command: text_(h.command) ?? 'unknown',
    };
  } catch {
    return 'unreadable';
  }
}

function olderThan(path: string, ms: number): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs > ms;
  } catch {
    return true;
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

function readLink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * When a process started (field 22 of /proc/<pid>/stat, clock ticks since boot), or undefined when it does not run.
 * Where /proc is missing, only whether the pid exists is known.
 */
export function processStartTime(pid: number): string | undefined {
  const start = procStatFields(`/proc/${pid}/stat`)?.[19];
  if (start !== undefined) return start;
  try {
    process.kill(pid, 0);
    return 'unknown';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? 'unknown' : undefined;
  }
}
