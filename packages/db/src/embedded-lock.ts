import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { EmbeddedDatabaseBusyError } from './errors.js';

/** The lock file in an embedded database's folder. */
export const EMBEDDED_LOCK_FILE = 'attune.lock';

/**
 * Claims an embedded database folder for this process: `attune.lock`, created exclusively, names the holder (pid,
 * its start time, its command). A lock whose process is gone (a holder killed outright) is taken over. Returns the
 * release function.
 * @throws {EmbeddedDatabaseBusyError} when a live process holds it.
 */
export function lockEmbeddedDatabase(dataDir: string): () => void {
  const path = join(dataDir, EMBEDDED_LOCK_FILE);
  const me = {
    pid: process.pid,
    start: processStartTime(process.pid),
    // argv holds no secret (the CLI reads values from stdin); the script and command name the holder.
    command: [process.argv[1] ?? 'node', ...process.argv.slice(2, 4)].join(' '),
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readHolder(path);
      if (holder && holder.pid !== process.pid && isAlive(holder))
        throw new EmbeddedDatabaseBusyError(dataDir, holder);
      // Stale (its process is gone) or unreadable: take it over.
      try {
        unlinkSync(path);
      } catch {
        // another process took it over meanwhile: try again
      }
      continue;
    }
    try {
      writeSync(fd, JSON.stringify(me));
    } finally {
      closeSync(fd);
    }
    return () => {
      if (readHolder(path)?.pid === process.pid) {
        try {
          unlinkSync(path);
        } catch {
          // already gone
        }
      }
    };
  }
  throw new EmbeddedDatabaseBusyError(dataDir, readHolder(path) ?? { pid: 0, command: 'unknown' });
}

function readHolder(path: string): { pid: number; start?: string; command: string } | undefined {
  try {
    const holder = JSON.parse(readFileSync(path, 'utf8')) as {
      pid?: unknown;
      start?: unknown;
      command?: unknown;
    };
    if (typeof holder.pid !== 'number') return undefined;
    return {
      pid: holder.pid,
      ...(typeof holder.start === 'string' ? { start: holder.start } : {}),
      command: typeof holder.command === 'string' ? holder.command : 'unknown',
    };
  } catch {
    return undefined;
  }
}

function isAlive(holder: { pid: number; start?: string }): boolean {
  const start = processStartTime(holder.pid);
  // The start time tells the holder from an unrelated process that reused its pid.
  return start !== undefined && (holder.start === undefined || holder.start === start);
}

/**
 * When a process started (field 22 of /proc/<pid>/stat, clock ticks since boot), or undefined when it does not run.
 * Where /proc is missing, only whether the pid exists is known.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing parenthesis.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    try {
      process.kill(pid, 0);
      return 'unknown';
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM' ? 'unknown' : undefined;
    }
  }
}
