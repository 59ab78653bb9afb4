/**
 * Core dumps off for a process that holds secrets. A core dump is the process's memory written to disk in clear: for
 * the worker and the API that is the master key and every secret they decrypted; for an action, the secrets it was
 * given. The kernel writes no core file for a process whose RLIMIT_CORE is 0. Lowering the hard limit as well keeps a
 * child (an action) from raising it again, and every child inherits it. The kernel does not apply the limit to a
 * `core_pattern` pipe, whose collector decides: systemd-coredump honours it, apport does not for packaged programs —
 * coreDumpsWarnings says so at start. See docs/deployment.md#core-dumps.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

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

/**
 * Sets this process's RLIMIT_CORE to 0, soft and hard, so that no crash of it or of a child writes a core dump. Node
 * has no setrlimit: util-linux's `prlimit` (on every Debian and Ubuntu) sets it from outside, as a child of this
 * process (same credentials), started with nothing of this process's environment but PATH. Never throws: what
 * cannot be done is returned, for the caller to warn about.
 */
export function disableCoreDumps(): CoreDumpsState {
  const before = coreDumpLimit();
  if (!before) return { off: false, reason: '/proc/self/limits cannot be read (not Linux?)' };
  if (before.soft === 0 && before.hard === 0) return { off: true };
  const run = spawnSync('prlimit', ['--pid', String(process.pid), '--core=0:0'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    timeout: 10_000,
  });
  const after = coreDumpLimit();
  if (after?.soft === 0 && after.hard === 0) return { off: true };
  const code = (run.error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT')
    return { off: false, reason: 'prlimit is not installed (Debian/Ubuntu package util-linux)' };
  const said = run.stderr?.trim().split('\n', 1)[0];
  return { off: false, reason: `prlimit failed${said ? `: ${said}` : code ? ` (${code})` : ''}` };
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
 * What a process that holds secrets logs as warnings at start, given whether its core dumps are off (`holder` names
 * it, e.g. `the API`): that they could not be turned off, and what to do; and a crash collector the kernel pipes
 * crashes to that may keep memory whatever the limit (the kernel itself does not apply the limit to a pipe: the
 * collector decides). systemd-coredump honours it; Ubuntu's apport writes a crash report with the memory of a
 * packaged program (python3, bash, node) whatever it is.
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
  const collector = pattern?.startsWith('|') ? pattern.slice(1).trim().split(/\s+/, 1)[0] : undefined;
  if (collector && !collector.endsWith('/systemd-coredump'))
    warnings.push(
      `kernel.core_pattern hands crashes to ${collector}, which decides itself whether to keep a crashed process's ` +
        `memory (apport keeps that of packaged programs such as python3 whatever the core limit): a crash of ${holder} ` +
        'could leave secrets on disk; on hosts that run Attune, disable it (apport: systemctl disable --now apport) or ' +
        'set kernel.core_pattern to a plain file name',
    );
  return warnings;
}
