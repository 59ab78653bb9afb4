import { type ChildProcess, spawn } from 'node:child_process';
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DatabaseConfigError,
  EMBEDDED_LOCK_FILE,
  EmbeddedDatabaseBusyError,
  openDatabase,
} from '../src/index.js';

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
    // Four embedded databases opened one after the other: each takes seconds where starting a process is slow, and
    // many times that while every other package's tests share the machine's two cores.
  }, 240_000);

  it('lets exactly one of several processes starting at the same instant hold it, stale lock or not', async () => {
    for (const stale of [false, true]) {
      const dataDir = mkdtempSync(join(tmpdir(), 'attune-embedded-race-'));
      dirs.push(dataDir);
      if (stale)
        writeFileSync(join(dataDir, EMBEDDED_LOCK_FILE), '{"pid":999999,"start":"1","command":"dead"}');
      const at = Date.now() + 1500;
      const racers = Array.from({ length: 4 }, () =>
        spawn(
          process.execPath,
          [
            '--input-type=module',
            '-e',
            `const { lockEmbeddedDatabase } = await import('@attune/db');
             while (Date.now() < ${at}) {}
             try { lockEmbeddedDatabase(process.argv[1]); process.stdout.write('GOT'); setTimeout(() => {}, 1500); }
             catch (e) { process.stdout.write(e.code); }`,
            dataDir,
          ],
          { cwd: PACKAGE, stdio: ['ignore', 'pipe', 'inherit'] },
        ),
      );
      const outputs = await Promise.all(
        racers.map(
          (racer) =>
            new Promise<string>((resolve) => {
              let out = '';
              racer.stdout?.on('data', (c: Buffer) => {
                out += c;
              });
              racer.once('exit', () => resolve(out));
            }),
        ),
      );
      expect(
        outputs.filter((o) => o === 'GOT'),
        `stale lock: ${stale}`,
      ).toHaveLength(1);
      expect(outputs.filter((o) => o === 'ATTUNE_DB_EMBEDDED_BUSY')).toHaveLength(3);
    }
  });

  it("keeps the folder its owner's alone, and refuses one another user made", async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'attune-embedded-mode-')), 'pglite');
    dirs.push(dataDir);
    const db = await openDatabase({ kind: 'pglite', dataDir });
    await db.close();
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    if (process.getuid?.() === 0) {
      const planted = join(mkdtempSync(join(tmpdir(), 'attune-embedded-planted-')), 'pglite');
      dirs.push(planted);
      mkdirSync(planted);
      chownSync(planted, 65534, 65534);
      const error = await openDatabase({ kind: 'pglite', dataDir: planted }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DatabaseConfigError);
      expect((error as Error).message).toMatch(/belongs to uid 65534, not to this process's user/);
    }
  });
});
