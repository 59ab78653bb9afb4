/** Test support: `attune …` run as a user runs it — a process, stdin, stdout, stderr, exit code. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built program (the tests drive what a user would run). */
export const BIN = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `attune args…` with exactly `env` (a variable given as undefined is left out), `input` on stdin, in `cwd`
 * when given.
 */
export function runCli(
  env: Readonly<Record<string, string | undefined>>,
  args: readonly string[],
  input: string | Buffer = '',
  cwd?: string,
): Promise<CliResult> {
  return new Promise((resolve) => {
    const childEnv = Object.fromEntries(
      Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined),
    );
    const child = spawn(process.execPath, [BIN, ...args], { env: childEnv, ...(cwd ? { cwd } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    // The CLI may refuse input before reading all of it.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
