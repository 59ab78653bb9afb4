/**
 * One parse into sections, a view per process; the log level; the keyring and the secrets settings.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { apiConfigOf, ConfigError, cliConfigOf, loadConfig, workerConfigOf } from '../src/index.js';
import { KEY, removeTempDirs, tempDir } from './support.js';

afterAll(removeTempDirs);

describe('sections and views', () => {
  it('parses once into sections; the worker, the API and the CLI each take their view', () => {
    const config = loadConfig({
      env: {
        ATTUNE__SECURITY__ENCRYPTION_KEY: KEY,
        ATTUNE__API__PORT: '9000',
        ATTUNE__WORKER__CONCURRENCY: '3',
        ATTUNE__LOG__LEVEL: 'debug',
      },
    });
    expect(Object.keys(config).sort()).toEqual([
      'api',
      'audit',
      'broker',
      'configFile',
      'database',
      'log',
      'remote',
      'sandbox',
      'secrets',
      'security',
      'worker',
    ]);
    const worker = workerConfigOf(config);
    expect(worker).toMatchObject({ concurrency: 3, encryptionKey: KEY, logLevel: 'debug' });
    expect(worker).not.toHaveProperty('api');
    expect(worker).not.toHaveProperty('audit');
    const api = apiConfigOf(config);
    expect(api).toMatchObject({ api: { port: 9000 }, encryptionKey: KEY, logLevel: 'debug' });
    expect(api).not.toHaveProperty('concurrency');
    const cli = cliConfigOf(config);
    expect(cli).not.toHaveProperty('api');
    expect(cli.database).toBe(config.database);
  });

  it('takes the log level from log.level, else from the first version’s ATTUNE_LOG_LEVEL, and refuses others', () => {
    expect(loadConfig({ env: {} }).log.level).toBeUndefined();
    expect(loadConfig({ env: { ATTUNE_LOG_LEVEL: 'warn' } }).log.level).toBe('warn');
    expect(loadConfig({ env: { ATTUNE_LOG_LEVEL: 'warn', ATTUNE__LOG__LEVEL: 'error' } }).log.level).toBe(
      'error',
    );
    expect(() => loadConfig({ env: { ATTUNE__LOG__LEVEL: 'loud' } })).toThrow(/Configuration log\.level/);
    expect(() => loadConfig({ env: { ATTUNE_LOG_LEVEL: 'loud' } })).toThrow(/log\.level/);
  });

  it('is an AttuneError of category invalid, naming the key', () => {
    const error = (() => {
      try {
        loadConfig({ env: { ATTUNE__WORKER__CONCURRENCY: '0' } });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ code: 'ATTUNE_CONFIG', category: 'invalid', field: 'worker.concurrency' });
  });
});

describe('the keyring', () => {
  const KEY2 = 'config-test-second-master-key-0123456789ab';
  it('is a ring of one for the seed’s encryption_key, and none without a key', () => {
    expect(loadConfig({ env: { ATTUNE__SECURITY__ENCRYPTION_KEY: KEY } }).security).toMatchObject({
      keyring: [{ id: 'default', password: KEY, source: 'config' }],
      activeKeyId: 'default',
      encryptionKey: KEY,
    });
    expect(loadConfig({ env: {} }).security).toMatchObject({ keyring: [], activeKeyId: undefined });
    expect(loadConfig({ env: {} }).secrets.maxVersions).toBe(10);
    expect(loadConfig({ env: { ATTUNE__SECRETS__MAX_VERSIONS: '3' } }).secrets.maxVersions).toBe(3);
  });

  it('reads secrets.expiry_grace as a duration, for the worker too, and refuses one that is not', () => {
    expect(loadConfig({ env: {} }).secrets.expiryGraceMs).toBe(0);
    const config = loadConfig({ env: { ATTUNE__SECRETS__EXPIRY_GRACE: '2d' } });
    expect(config.secrets.expiryGraceMs).toBe(2 * 86_400_000);
    expect(config.worker.expiryGraceMs).toBe(2 * 86_400_000);
    expect(() => loadConfig({ env: { ATTUNE__SECRETS__EXPIRY_GRACE: '2 days' } })).toThrow(
      /secrets\.expiry_grace.*whole number and a unit.*ATTUNE__SECRETS__EXPIRY_GRACE/s,
    );
  });

  it('reads several keys, one active, from files or inline, and refuses what cannot be meant', () => {
    const dir = tempDir();
    const keyFile = join(dir, 'k2');
    writeFileSync(keyFile, `${KEY2}\n`, { mode: 0o600 });
    const file = join(dir, 'config.yaml');
    const write = (security: string) => writeFileSync(file, `security:\n${security}`, { mode: 0o600 });
    write(
      `  encryption_keys:\n    - id: k1\n      key: "${KEY}"\n    - id: k2\n      key_file: ${keyFile}\n  active_key: k2\n`,
    );
    const ring = loadConfig({ env: {}, file }).security;
    expect(ring.keyring.map((k) => [k.id, k.source])).toEqual([
      ['k1', 'config'],
      ['k2', 'file'],
    ]);
    expect(ring.activeKeyId).toBe('k2');
    expect(ring.encryptionKey).toBe(KEY2);
    for (const [security, message] of [
      [
        `  encryption_keys:\n    - id: k1\n      key: "${KEY}"\n    - id: k2\n      key: "${KEY2}"\n`,
        'security.active_key: is required',
      ],
      [
        `  encryption_keys:\n    - id: k1\n      key: "${KEY}"\n  active_key: k9\n`,
        'k9 is not the id of a key',
      ],
      [
        `  encryption_keys:\n    - id: k1\n      key: "${KEY}"\n    - id: k1\n      key: "${KEY2}"\n  active_key: k1\n`,
        'the id k1 is used twice',
      ],
      [`  encryption_keys:\n    - id: k1\n      key: "short"\n`, 'is 5 characters long'],
      [`  encryption_keys:\n    - id: k1\n  active_key: k1\n`, 'needs exactly one of key_file'],
      [`  encryption_key: "${KEY}"\n  encryption_keys:\n    - id: k1\n      key: "${KEY2}"\n`, 'not both'],
    ] as const) {
      write(security);
      expect(() => loadConfig({ env: {}, file })).toThrow(message);
    }
    // A file holding keys inline must be private, like one holding encryption_key.
    write(`  encryption_keys:\n    - id: k1\n      key: "${KEY}"\n`);
    chmodSync(file, 0o644);
    expect(() => loadConfig({ env: {}, file })).toThrow(/holds credentials/);
  });
});
