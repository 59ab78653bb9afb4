/**
 * Core dumps off for a process that holds secrets. A core dump is the process's memory written to disk in clear: for
 * the worker and the API that is the master key and every secret they decrypted; for an action, the secrets it was
 * given. The kernel writes no core file for a process whose RLIMIT_CORE is 0; lowering the hard limit as well keeps a
 * child (an action) from raising it again, and every child inherits it. The kernel does not apply the limit when
 * `kernel.core_pattern` hands crashes to a collector (`|program`, `@socket`): the collector decides, and keeps
 * memory and environment as it sees fit, so coreDumpsWarnings says so at start, and the memory a dump may hold is
 * cut to nothing for this process and its children (coredump_filter 0; a child may set its own back). See
 * docs/deployment.md#core-dumps.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/** RLIMIT_CORE as /proc/<pid>/limits states it, in bytes (`Infinity` for unlimited). */
export interface CoreDumpLimit {
  readonly soft: number;
  readonly hard: number;
}

/** Whether core dumps are off for this process, and if not, why. */
export type CoreDumpsState = { readonly off: true } | { readonly off: false; readonly reason: string };

/** RLIMIT_CORE of a process (this one by default); undefined where /proc cannot tell (not Linux, process gone). */
export function coreDumpLimit(pid: number | 'self' = 'self'): CoreDumpLimit | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/limits`, 'utf8');
  } catch {
    return undefined;
  }
  const match = /^Max core file size\s+(\S+)\s+(\S+)/m.exec(text);
  if (!match) return undefined;
  const value = (field: string | undefined) => (field === 'unlimited' ? Infinity : Number(field));
  const soft = value(match[1]);
  const hard = value(match[2]);
  return Number.isNaN(soft) || Number.isNaN(hard) ? undefined : { soft, hard };
}

/** Where util-linux installs prlimit: run from there, not found through PATH. */
const PRLIMIT = ['/usr/bin/prlimit', '/bin/prlimit'];

/**
 * Sets this process's RLIMIT_CORE to 0, soft and hard, so that the kernel writes no core dump of it or of a child,
 * and its coredump_filter to 0, so that a dump a collector receives holds none of its memory mappings. Node has no
 * setrlimit: util-linux's `prlimit` (on every Debian and Ubuntu) sets it from outside, as a child of this process
 * (same credentials), started with an empty environment. Never throws: what cannot be done is returned, for the
 * caller to warn about (coreDumpsWarnings). `prlimitPaths`: where to look for prlimit (tests).
 */
export function disableCoreDumps(prlimitPaths: readonly string[] = PRLIMIT): CoreDumpsState {
  try {
    // Inherited across fork and exec; this process's own memory is what matters most here.
    writeFileSync('/proc/self/coredump_filter', '0');
  } catch {
    // No /proc (not Linux), or a kernel without it: the limit below is what counts.
  }
  const before = coreDumpLimit();
  if (!before) return { off: false, reason: '/proc/self/limits cannot be read (not Linux?)' };
  if (before.soft === 0 && before.hard === 0) return { off: true };
  const prlimit = prlimitPaths.find((path) => existsSync(path));
  if (!prlimit) return { off: false, reason: 'prlimit is not installed (Debian/Ubuntu package util-linux)' };
  const run = spawnSync(prlimit, ['--pid', String(process.pid), '--core=0:0'], {
    env: {},
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    timeout: 10_000,
  });
  const after = coreDumpLimit();
  if (after?.soft === 0 && after.hard === 0) return { off: true };
  const said = run.stderr?.trim().split('\n', 1)[0];
  const code = (run.error as NodeJS.ErrnoException | undefined)?.code;
  return { off: false, reason: `${prlimit} failed${said ? `: ${said}` : code ? ` (${code})` : ''}` };
}

/** The host's `kernel.core_pattern`; undefined where it cannot be read. */
export function corePattern(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/core_pattern', 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * The collector a core_pattern hands crashes to — the program of `|program args`, the socket of `@socket` (`''` when
 * the pattern names none) — or undefined when the kernel writes the dump itself (a file name).
 */
export function crashCollector(pattern: string | undefined): string | undefined {
  if (!pattern?.startsWith('|') && !pattern?.startsWith('@')) return undefined;
  return pattern.slice(1).trim().split(/\s+/, 1)[0] ?? '';
}

/** Collectors that keep nothing: what systemd sets when no collector is installed. */
const KEEPS_NOTHING = ['/bin/false', '/usr/bin/false', '/bin/true', '/usr/bin/true'];

/**
 * What a process that holds secrets logs as warnings at start, given whether its core dumps are off (`holder` names
 * it, e.g. `the API`): that they could not be turned off, and what to do; and a crash collector in
 * `kernel.core_pattern` (a `|program` or an `@socket`), which the limit does not bind. apport keeps the memory of a
 * packaged program (python3, bash, node) whatever the limit; systemd-coredump stores the crashed process's
 * environment — an action's secrets — in the journal, and Debian's pattern passes it a fixed limit instead of the
 * process's own (`%c`). Only a collector that keeps nothing (`|/bin/false`) is not warned of.
 */
export function coreDumpsWarnings(
  state: CoreDumpsState,
  holder: string,
  pattern: string | undefined = corePattern(),
): string[] {
  const warnings: string[] = [];
  if (!state.off)
    warnings.push(
      `core dumps could not be turned off (${state.reason}): a crash of ${holder} could write the encryption key and ` +
        'decrypted secrets to disk; start it with `ulimit -c 0` (systemd: LimitCORE=0)',
    );
  const collector = crashCollector(pattern);
  if (collector !== undefined && !KEEPS_NOTHING.includes(collector))
    warnings.push(
      `kernel.core_pattern hands crashes to ${collector || 'a collector'}, which the core limit does not bind: it may ` +
        "keep a crashed process's memory and environment (apport keeps the memory of packaged programs such as " +
        `python3; systemd-coredump logs the environment, an action's secrets, to the journal), so a crash of ${holder} ` +
        'could leave secrets on disk. On hosts that run Attune set kernel.core_pattern=|/bin/false (sysctl), which ' +
        'keeps nothing',
    );
  return warnings;
}
