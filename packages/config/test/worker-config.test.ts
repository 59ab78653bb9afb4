/**
 * The worker's configuration: defaults, the file and its overrides, the key file, isolation settings.
 */
import { chmodSync, chownSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadWorkerConfig } from '../src/index.js';
import { KEY, removeTempDirs, tempDir } from './support.js';

afterAll(removeTempDirs);

describe('worker configuration', () => {
  it('starts with safe defaults and no file', () => {
    const config = loadWorkerConfig({ env: {} });
    expect(config).toMatchObject({
      encryptionKey: undefined,
      outputCapBytes: 10 * 1024 * 1024,
      maskMinLength: 6,
      spawner: 'helper',
    });
    expect(config.database.kind).toBe('pglite');
  });

  it("reads config.yaml and lets ATTUNE__SECTION__KEY override it (the seed's convention)", () => {
    const dir = tempDir();
    const file = join(dir, 'config.yaml');
    writeFileSync(
      file,
      `security:\n  encryption_key: "${KEY}"\nworker:\n  output_cap_bytes: 4096\n  passthrough_env: [HTTP_PROXY]\n`,
      { mode: 0o600 },
    );
    const config = loadWorkerConfig({
      env: { ATTUNE__WORKER__OUTPUT_CAP_BYTES: '8192', DATABASE_URL: 'postgresql://db/x' },
      file,
    });
    expect(config.encryptionKey).toBe(KEY);
    expect(config.outputCapBytes).toBe(8192);
    expect(config.passthroughEnv).toEqual(['HTTP_PROXY']);
    expect(config.database).toMatchObject({ kind: 'postgres', url: 'postgresql://db/x' });
    expect(loadWorkerConfig({ env: { ATTUNE__SECURITY__ENCRYPTION_KEY: KEY } }).encryptionKey).toBe(KEY);
  });

  it('names the key and the problem, and never echoes a secret', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [
        { ATTUNE__SECURITY__ENCRYPTION_KEY: 'short-secret-value' },
        /security\.encryption_key: is 18 characters long; at least 32/,
      ],
      [{ ATTUNE__WORKER__OUTPUT_CAP_BYTES: 'lots' }, /worker\.output_cap_bytes/],
      [
        { ATTUNE__WORKER__PASSTHROUGH_ENV: 'DATABASE_URL' },
        /worker\.passthrough_env: DATABASE_URL is the worker's own/,
      ],
      [{ ATTUNE__WORKER__PASSTHROUGH_ENV: 'ATTUNE__SECURITY__ENCRYPTION_KEY' }, /never passed to actions/],
      [{ ATTUNE__WORKER__FROBNICATE: '1' }, /worker\.frobnicate: unknown key/],
      [{ DATABASE_URL: 'mysql://user:pw-secret@h/db' }, /database\.url/],
    ];
    for (const [env, message] of cases) {
      let caught: unknown;
      try {
        loadWorkerConfig({ env });
      } catch (error) {
        caught = error;
      }
      expect(caught, JSON.stringify(env)).toBeInstanceOf(ConfigError);
      expect((caught as Error).message).toMatch(message);
      expect((caught as Error).message).not.toContain('short-secret-value');
      expect((caught as Error).message).not.toContain('pw-secret');
    }
  });

  it('reads the key from security.encryption_key_file, only when nobody else can read that file', () => {
    const dir = tempDir();
    const keyFile = join(dir, 'key');
    writeFileSync(keyFile, `${KEY}\n`, { mode: 0o600 });
    const config = loadWorkerConfig({ env: { ATTUNE__SECURITY__ENCRYPTION_KEY_FILE: keyFile } });
    expect(config.encryptionKey).toBe(KEY); // the final line break is not part of the key
    expect(config.encryptionKeySource).toBe('file');
    chmodSync(keyFile, 0o640);
    expect(() => loadWorkerConfig({ env: { ATTUNE__SECURITY__ENCRYPTION_KEY_FILE: keyFile } })).toThrow(
      /security\.encryption_key_file: .*key holds the encryption key and has mode 0640: group and others must have no access \(chmod 600/,
    );
    expect(() =>
      loadWorkerConfig({
        env: { ATTUNE__SECURITY__ENCRYPTION_KEY_FILE: join(dir, 'missing'), ATTUNE__WORKER__ID: 'w' },
      }),
    ).toThrow(/security\.encryption_key_file: cannot read .*missing \(ENOENT\)/);
    expect(() =>
      loadWorkerConfig({ env: { ATTUNE__SECURITY__ENCRYPTION_KEY_FILE: 'relative/key' } }),
    ).toThrow(/must be an absolute path/);
    chmodSync(keyFile, 0o600);
    expect(() =>
      loadWorkerConfig({
        env: { ATTUNE__SECURITY__ENCRYPTION_KEY_FILE: keyFile, ATTUNE__SECURITY__ENCRYPTION_KEY: KEY },
      }),
    ).toThrow(/security: set either encryption_key or encryption_key_file, not both/);
    writeFileSync(join(dir, 'short'), 'too-short-key\n', { mode: 0o600 });
    let caught: unknown;
    try {
      loadWorkerConfig({ env: { ATTUNE__SECURITY__ENCRYPTION_KEY_FILE: join(dir, 'short') } });
    } catch (error) {
      caught = error;
    }
    expect((caught as Error).message).toMatch(/security\.encryption_key_file: is 13 characters long/);
    expect((caught as Error).message).not.toContain('too-short-key');
  });

  it('refuses a config file that holds the key and that others can read', () => {
    const dir = tempDir();
    const file = join(dir, 'config.yaml');
    writeFileSync(file, `security:\n  encryption_key: "${KEY}"\n`, { mode: 0o644 });
    chmodSync(file, 0o644);
    expect(() => loadWorkerConfig({ env: {}, file })).toThrow(
      /security\.encryption_key: .*config\.yaml holds credentials and has mode 0644/,
    );
    writeFileSync(file, 'database:\n  url: postgresql://attune:db-pass-word@db/attune\n');
    expect(() => loadWorkerConfig({ env: {}, file })).toThrow(
      /database\.url: .*holds credentials and has mode 0644/,
    );
    writeFileSync(file, 'broker:\n  url: amqp://attune:mq-pass-word@mq:5672\n');
    expect(() => loadWorkerConfig({ env: {}, file })).toThrow(
      /broker\.url: .*holds credentials and has mode 0644/,
    );
    writeFileSync(file, 'worker:\n  concurrency: 2\n');
    expect(loadWorkerConfig({ env: {}, file }).concurrency).toBe(2); // no credential in it: any mode will do
  });

  it.skipIf(process.getuid?.() !== 0)('refuses a key file that another user owns (root test)', () => {
    const dir = tempDir();
    const keyFile = join(dir, 'key');
    writeFileSync(keyFile, `${KEY}\n`, { mode: 0o600 });
    chownSync(keyFile, 65534, 65534);
    expect(() => loadWorkerConfig({ env: { ATTUNE__SECURITY__ENCRYPTION_KEY_FILE: keyFile } })).toThrow(
      /security\.encryption_key_file: .*holds the encryption key and belongs to uid 65534: it must belong to the user this process runs as \(uid 0\) or to root/,
    );
  });

  it('never shows the key file or the config file to actions through worker.sandbox_ro_paths', () => {
    const dir = tempDir();
    const keyFile = join(dir, 'key');
    writeFileSync(keyFile, `${KEY}\n`, { mode: 0o600 });
    expect(() =>
      loadWorkerConfig({
        env: {
          ATTUNE__SECURITY__ENCRYPTION_KEY_FILE: keyFile,
          ATTUNE__WORKER__SANDBOX_RO_PATHS: `/opt/x,${dir}/`,
        },
      }),
    ).toThrow(/worker\.sandbox_ro_paths: .* holds .*key, which must never be visible to actions/);
  });

  it('reads the isolation settings: auto by default, a required mode, the identity, the scratch folder and the seccomp filter', () => {
    const defaults = loadWorkerConfig({ env: {} }).isolation;
    expect(defaults.mode).toBe('auto');
    expect(defaults.runAs).toBeUndefined();
    expect(defaults.seccomp).toBe(true);
    expect(defaults.scratchDir).toBe(
      process.getuid?.() === 0
        ? '/var/lib/attune/scratch'
        : join(tmpdir(), `attune-scratch-${process.getuid?.()}`),
    );
    const set = loadWorkerConfig({
      env: {
        ATTUNE__WORKER__ISOLATION: 'sandbox',
        ATTUNE__WORKER__RUN_AS: '1234:5678',
        ATTUNE__WORKER__SCRATCH_DIR: '/var/lib/attune/scratch',
        ATTUNE__WORKER__SANDBOX_RO_PATHS: '/opt/python, /srv/tools',
        ATTUNE__WORKER__SANDBOX_SECCOMP: 'false',
      },
    }).isolation;
    expect(set).toEqual({
      mode: 'sandbox',
      runAs: '1234:5678',
      scratchDir: '/var/lib/attune/scratch',
      sandboxReadOnlyPaths: ['/opt/python', '/srv/tools'],
      seccomp: false,
    });
    for (const [given, seccomp] of [
      [' FALSE ', false],
      ['Off', false],
      ['0', false],
      ['yes', true],
      ['True', true],
    ] as const)
      expect(loadWorkerConfig({ env: { ATTUNE__WORKER__SANDBOX_SECCOMP: given } }).isolation.seccomp).toBe(
        seccomp,
      );
    expect(() => loadWorkerConfig({ env: { ATTUNE__WORKER__SANDBOX_SECCOMP: 'nope' } })).toThrow(
      /worker\.sandbox_seccomp: must be true or false/,
    );
    expect(() => loadWorkerConfig({ env: { ATTUNE__WORKER__ISOLATION: 'chroot' } })).toThrow(
      /worker\.isolation: must be one of auto, sandbox, user, none/,
    );
    expect(() => loadWorkerConfig({ env: { ATTUNE__WORKER__RUN_AS: 'root; rm' } })).toThrow(/worker\.run_as/);
    expect(() => loadWorkerConfig({ env: { ATTUNE__WORKER__SCRATCH_DIR: 'scratch' } })).toThrow(
      /worker\.scratch_dir: scratch must be an absolute path/,
    );
  });
});
