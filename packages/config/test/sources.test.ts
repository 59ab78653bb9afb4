/**
 * Where the configuration comes from: --config, ATTUNE_CONFIG, a discovered ./attune.yaml (only the user's own), the environment over the file.
 */
import { chmodSync, chownSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliConfigOf, loadConfig } from '../src/index.js';
import { failure, KEY, removeTempDirs, tempDir } from './support.js';

afterAll(removeTempDirs);

describe('where the configuration comes from', () => {
  it('reads ./attune.yaml from the working directory when neither --config nor ATTUNE_CONFIG names a file', () => {
    const dir = tempDir();
    const found = join(dir, 'attune.yaml');
    writeFileSync(found, 'worker:\n  concurrency: 3\n');
    const config = loadConfig({ env: {}, cwd: dir });
    expect(config.worker.concurrency).toBe(3);
    expect(config.configFile).toEqual({ path: found, via: 'discovered' });
    // ATTUNE_CONFIG comes before it, and --config before both; a relative path is read from the working directory.
    writeFileSync(join(dir, 'other.yaml'), 'worker:\n  concurrency: 5\n');
    writeFileSync(join(dir, 'flag.yaml'), 'worker:\n  concurrency: 7\n');
    const fromEnv = loadConfig({ env: { ATTUNE_CONFIG: 'other.yaml' }, cwd: dir });
    expect([fromEnv.worker.concurrency, fromEnv.configFile]).toEqual([5, { path: 'other.yaml', via: 'env' }]);
    const fromFlag = loadConfig({ env: { ATTUNE_CONFIG: 'other.yaml' }, file: 'flag.yaml', cwd: dir });
    expect([fromFlag.worker.concurrency, fromFlag.configFile]).toEqual([
      7,
      { path: 'flag.yaml', via: 'option' },
    ]);
    // Environment variables still override the file found.
    expect(loadConfig({ env: { ATTUNE__WORKER__CONCURRENCY: '9' }, cwd: dir }).worker.concurrency).toBe(9);
    // No attune.yaml: no file, defaults.
    const none = loadConfig({ env: {}, cwd: tempDir() });
    expect([none.worker.concurrency, none.configFile]).toEqual([4, undefined]);
  });

  it('reads no file at all when ATTUNE_CONFIG (or --config) is empty', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'attune.yaml'), 'worker:\n  concurrency: 3\n');
    for (const source of [{ env: { ATTUNE_CONFIG: '' } }, { env: {}, file: '' }]) {
      const config = loadConfig({ ...source, cwd: dir });
      expect([config.worker.concurrency, config.configFile]).toEqual([4, undefined]);
    }
  });

  it('refuses a named file that does not exist, naming where it was named', () => {
    const dir = tempDir();
    const missing = join(dir, 'missing.yaml');
    writeFileSync(join(dir, 'attune.yaml'), 'worker:\n  concurrency: 3\n'); // never a fallback for a named file
    expect(failure(() => loadConfig({ env: { ATTUNE_CONFIG: missing }, cwd: dir })).message).toBe(
      `Configuration file: cannot read ${missing} (ENOENT), named by ATTUNE_CONFIG`,
    );
    const flagged = failure(() => loadConfig({ env: {}, file: missing, cwd: dir }));
    expect(flagged.message).toBe(`Configuration file: cannot read ${missing} (ENOENT), named by --config`);
    expect(flagged).toMatchObject({ code: 'ATTUNE_CONFIG', category: 'invalid', key: 'file' });
  });

  it('refuses a discovered attune.yaml that holds credentials and that others can read', () => {
    const dir = tempDir();
    const found = join(dir, 'attune.yaml');
    writeFileSync(found, `security:\n  encryption_key: "${KEY}"\n`);
    chmodSync(found, 0o644);
    const error = failure(() => loadConfig({ env: {}, cwd: dir }));
    expect(error.message).toBe(
      `Configuration security.encryption_key: ${found} holds credentials and has mode 0644: group and others must have no access (chmod 600 ${found})`,
    );
    chmodSync(found, 0o600);
    expect(loadConfig({ env: {}, cwd: dir }).security.encryptionKey).toBe(KEY);
  });
});

describe('the environment overrides the file', () => {
  it('for DATABASE_URL, AMQP_URL and ATTUNE_API_URL too (an empty ATTUNE_API_URL: local mode)', () => {
    const dir = tempDir();
    const file = join(dir, 'config.yaml');
    writeFileSync(
      file,
      'database:\n  url: postgresql://127.0.0.1:5432/from_file\nbroker:\n  url: amqp://127.0.0.1:5672/file\ncli:\n  api_url: https://file.example\n',
      { mode: 0o600 },
    );
    const fromFile = loadConfig({ env: {}, file });
    expect(fromFile.database).toMatchObject({ url: 'postgresql://127.0.0.1:5432/from_file' });
    expect(fromFile.broker.url).toBe('amqp://127.0.0.1:5672/file');
    expect(cliConfigOf(fromFile).remote?.apiUrl).toBe('https://file.example');
    const env = {
      DATABASE_URL: 'postgresql://127.0.0.1:5432/from_env',
      AMQP_URL: 'amqp://127.0.0.1:5672/env',
      ATTUNE_API_URL: 'https://env.example',
    };
    const overridden = loadConfig({ env, file });
    expect(overridden.database).toMatchObject({ url: 'postgresql://127.0.0.1:5432/from_env' });
    expect(overridden.broker.url).toBe('amqp://127.0.0.1:5672/env');
    expect(cliConfigOf(overridden).remote?.apiUrl).toBe('https://env.example');
    // ATTUNE__SECTION__KEY wins over both.
    const section = loadConfig({
      env: { ...env, ATTUNE__DATABASE__URL: 'postgresql://127.0.0.1:5432/section' },
      file,
    });
    expect(section.database).toMatchObject({ url: 'postgresql://127.0.0.1:5432/section' });
    expect(cliConfigOf(loadConfig({ env: { ATTUNE_API_URL: '' }, file })).remote).toBeUndefined();
  });
});

describe("a discovered attune.yaml that is not the user's own", () => {
  it('is refused when others may write it or another user owns it, and read again once fixed', () => {
    const dir = tempDir();
    const found = join(dir, 'attune.yaml');
    writeFileSync(found, 'cli:\n  api_url: https://attacker.example\n');
    chmodSync(found, 0o666);
    const writable = failure(() => loadConfig({ env: {}, cwd: dir }));
    expect(writable.message).toBe(
      `Configuration file: ${found} (found in the working directory) may be written by other users: it is not read. Make it yours and not writable by others (chown; chmod go-w), name a file with --config or ATTUNE_CONFIG, or set ATTUNE_CONFIG= (empty) to read none`,
    );
    chmodSync(found, 0o644);
    expect(loadConfig({ env: {}, cwd: dir }).configFile?.via).toBe('discovered');
    // Another user's file (this test runs as root, which may give it away; elsewhere the check is the same code).
    if (process.getuid?.() === 0) {
      chownSync(found, 4242, 4242);
      expect(failure(() => loadConfig({ env: {}, cwd: dir })).message).toContain(
        'belongs to another user (uid 4242): it is not read',
      );
      // Named explicitly, the operator chose it: read.
      expect(loadConfig({ env: { ATTUNE_CONFIG: found }, cwd: dir }).configFile?.via).toBe('env');
      // Reading none is always possible.
      expect(loadConfig({ env: { ATTUNE_CONFIG: '' }, cwd: dir }).configFile).toBeUndefined();
    }
  });
});
