import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { EMBEDDED_LOCK_FILE, EmbeddedDatabaseBusyError, openDatabase } from '../src/index.js';

const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
const dirs: string[] = [];
const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Another real process that opens the embedded database and keeps it open. */
async function holder(dataDir: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const { openDatabase } = await import('@attune/db');
       await openDatabase({ kind: 'pglite', dataDir: process.argv[1] });
       process.stdout.write('open\\n');
       setInterval(() => undefined, 1000);`,
      dataDir,
    ],
    { cwd: PACKAGE, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let output = '';
  child.stdout?.on('data', (c: Buffer) => {
    output += c;
  });
  child.stderr?.on('data', (c: Buffer) => {
    output += c;
  });
  const deadline = Date.now() + 60_000;
  while (!output.includes('open')) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`the holder did not open:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return child;
}

describe('the embedded database, one process at a time', () => {
  it('refuses a second process with a message naming the holder, and takes over after it died', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'attune-embedded-'));
    dirs.push(dataDir);
    const first = await holder(dataDir);
    const error = await openDatabase({ kind: 'pglite', dataDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EmbeddedDatabaseBusyError);
    expect((error as EmbeddedDatabaseBusyError).pid).toBe(first.pid);
    expect((error as Error).message).toMatch(
      new RegExp(`is in use by another process: pid ${first.pid} \\(.+\\)\\. .*set DATABASE_URL`),
    );
    // Killed outright, the holder leaves its lock behind: a later process takes it over.
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    expect(existsSync(join(dataDir, EMBEDDED_LOCK_FILE))).toBe(true);
    const db = await openDatabase({ kind: 'pglite', dataDir });
    expect(JSON.parse(readFileSync(join(dataDir, EMBEDDED_LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    await db.close();
    // Closed: the lock is gone, and another process may open it.
    expect(existsSync(join(dataDir, EMBEDDED_LOCK_FILE))).toBe(false);
    const again = await holder(dataDir);
    again.kill('SIGKILL');
  });
});
