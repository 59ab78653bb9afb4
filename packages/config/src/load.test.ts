import { chmodSync, chownSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  apiConfigOf,
  ConfigError,
  cliConfigOf,
  loadConfig,
  loadWorkerConfig,
  missingSettingHint,
  workerConfigOf,
  writeTokenFile,
} from './index.js';

const KEY = 'config-test-encryption-key-0123456789abc';
const TOKEN = 'attune_t0k3n-for-config-tests_0123456789';
const made: string[] = [];
/** A folder of this test file's own, removed at the end (some hold a key). */
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'attune-config-'));
  made.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

describe('remote mode of the CLI', () => {
  it('takes the API from ATTUNE_API_URL (or cli.api_url) and the token from ATTUNE_TOKEN only', () => {
    const remote = cliConfigOf(
      loadConfig({ env: { ATTUNE_API_URL: 'http://127.0.0.1:8080/', ATTUNE_TOKEN: TOKEN } }),
    ).remote;
    expect(remote?.apiUrl).toBe('http://127.0.0.1:8080');
    expect(remote?.token()).toBe(TOKEN);
    expect(cliConfigOf(loadConfig({ env: {} })).remote).toBeUndefined();
    expect(() => loadConfig({ env: { ATTUNE_API_URL: 'ftp://x' } })).toThrow(/cli\.api_url: must be an http/);
    expect(() => loadConfig({ env: { ATTUNE_API_URL: 'http://u:p@x' } })).toThrow(
      /must not hold credentials/,
    );
    expect(() => loadConfig({ env: { ATTUNE_API_URL: 'not a url' } })).toThrow(/is not a URL/);
    // Clear text only to loopback.
    expect(() => loadConfig({ env: { ATTUNE_API_URL: 'http://attune.example.com' } })).toThrow(
      'Configuration cli.api_url: must be https:// for attune.example.com',
    );
    for (const url of ['https://attune.example.com', 'http://localhost:8080', 'http://[::1]:8080'])
      expect(cliConfigOf(loadConfig({ env: { ATTUNE_API_URL: url } })).remote?.apiUrl).toBe(url);
    // A token that could break a header (or a terminal) is refused, never shown.
    const bad = failure(() =>
      loadConfig({ env: { ATTUNE_API_URL: 'https://a.example', ATTUNE_TOKEN: `${TOKEN}\nsecond-line` } }),
    );
    expect(bad.message).toContain('ATTUNE_TOKEN is not an Attune API token');
    expect(bad.message).not.toContain(TOKEN);
  });

  it('uses the token attune login kept only for the API it was kept for, from a private file', () => {
    const home = tempDir();
    const env = { XDG_CONFIG_HOME: home, ATTUNE_API_URL: 'https://a.example' };
    const path = writeTokenFile(env, 'https://a.example', TOKEN);
    expect(path).toBe(join(home, 'attune', 'token'));
    expect(cliConfigOf(loadConfig({ env })).remote?.token()).toBe(TOKEN);
    // ATTUNE_TOKEN wins.
    const other = `${TOKEN}x`;
    expect(cliConfigOf(loadConfig({ env: { ...env, ATTUNE_TOKEN: other } })).remote?.token()).toBe(other);
    // Another API never receives it.
    const elsewhere = failure(() =>
      cliConfigOf(loadConfig({ env: { ...env, ATTUNE_API_URL: 'https://b.example' } })).remote?.token(),
    );
    expect(elsewhere.message).toContain(
      'the token attune login kept is for https://a.example, not https://b.example: it is never sent to another API',
    );
    // Readable by others: refused.
    chmodSync(path, 0o644);
    expect(failure(() => cliConfigOf(loadConfig({ env })).remote?.token()).message).toContain(
      'others could read or change it',
    );
    chmodSync(path, 0o600);
    // A folder others may write: refused (they could swap the file).
    chmodSync(join(home, 'attune'), 0o777);
    expect(failure(() => cliConfigOf(loadConfig({ env })).remote?.token()).message).toContain(
      'is not a folder of yours that only you may write',
    );
    chmodSync(join(home, 'attune'), 0o700);
    // A link (to another secret file, say) is never followed.
    const secret = join(home, 'master.key');
    writeFileSync(secret, 'a-master-key-0123456789abcdef', { mode: 0o600 });
    rmSync(path);
    symlinkSync(secret, path);
    const linked = failure(() => cliConfigOf(loadConfig({ env })).remote?.token());
    expect(linked.message).toContain('is a link');
    expect(linked.message).not.toContain('a-master-key');
    rmSync(path);
    // Not a kept token (an older format, or anything else): refused, not sent.
    writeFileSync(path, `${TOKEN}\n`, { mode: 0o600 });
    expect(failure(() => cliConfigOf(loadConfig({ env })).remote?.token()).message).toContain(
      'does not hold a token attune login kept',
    );
    rmSync(path);
    expect(cliConfigOf(loadConfig({ env })).remote?.token()).toBeUndefined();
    expect(() => writeTokenFile(env, 'https://a.example', 'not-a-token')).toThrow(
      'is not an Attune API token',
    );
  });
});

describe('audit HMAC key', () => {
  const HMAC = 'audit-hmac-key-for-config-tests-0123456789';

  it('is read from audit.hmac_key_file (private) or audit.hmac_key, given to the API and the CLI, never to workers', () => {
    const dir = tempDir();
    const file = join(dir, 'audit-key');
    writeFileSync(file, `${HMAC}\n`, { mode: 0o600 });
    const config = loadConfig({ env: { ATTUNE__AUDIT__HMAC_KEY_FILE: file } });
    expect(apiConfigOf(config).audit.hmacKey).toBe(HMAC);
    expect(cliConfigOf(config).audit.hmacKey).toBe(HMAC);
    expect(JSON.stringify(workerConfigOf(config))).not.toContain(HMAC);
    expect(apiConfigOf(loadConfig({ env: {} })).audit.hmacKey).toBeUndefined();
    chmodSync(file, 0o644);
    const open = loadConfig({ env: { ATTUNE__AUDIT__HMAC_KEY_FILE: file } });
    expect(() => apiConfigOf(open)).toThrow(
      /audit\.hmac_key_file: .* holds the audit HMAC key and has mode 0644/,
    );
    // A worker never opens the file: one it could not read does not stop it.
    expect(() =>
      loadWorkerConfig({ env: { ATTUNE__AUDIT__HMAC_KEY_FILE: join(dir, 'missing') } }),
    ).not.toThrow();
  });

  it('refuses a short key, both settings at once, and an encryption key reused as the audit key', () => {
    const api = (env: Record<string, string>) => apiConfigOf(loadConfig({ env }));
    expect(() => api({ ATTUNE__AUDIT__HMAC_KEY: 'short' })).toThrow(
      /audit\.hmac_key: is 5 characters long; at least 32/,
    );
    expect(() =>
      api({ ATTUNE__AUDIT__HMAC_KEY: HMAC, ATTUNE__AUDIT__HMAC_KEY_FILE: '/nonexistent' }),
    ).toThrow(/audit: set either hmac_key or hmac_key_file, not both/);
    expect(() => api({ ATTUNE__AUDIT__HMAC_KEY: KEY, ATTUNE__SECURITY__ENCRYPTION_KEY: KEY })).toThrow(
      /audit\.hmac_key: is an encryption key/,
    );
  });
});

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

  it('reads the isolation settings: auto by default, a required mode, the identity and the scratch folder', () => {
    const defaults = loadWorkerConfig({ env: {} }).isolation;
    expect(defaults.mode).toBe('auto');
    expect(defaults.runAs).toBeUndefined();
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
      },
    }).isolation;
    expect(set).toEqual({
      mode: 'sandbox',
      runAs: '1234:5678',
      scratchDir: '/var/lib/attune/scratch',
      sandboxReadOnlyPaths: ['/opt/python', '/srv/tools'],
    });
    expect(() => loadWorkerConfig({ env: { ATTUNE__WORKER__ISOLATION: 'chroot' } })).toThrow(
      /worker\.isolation: must be one of auto, sandbox, user, none/,
    );
    expect(() => loadWorkerConfig({ env: { ATTUNE__WORKER__RUN_AS: 'root; rm' } })).toThrow(/worker\.run_as/);
    expect(() => loadWorkerConfig({ env: { ATTUNE__WORKER__SCRATCH_DIR: 'scratch' } })).toThrow(
      /worker\.scratch_dir: scratch must be an absolute path/,
    );
  });
});

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

/** The message of what `load` throws (a ConfigError), or a failure of the test when it throws nothing. */
function failure(load: () => unknown): ConfigError {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

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

describe('errors name where the setting was given', () => {
  it('gives file:line for an unknown key of the file', () => {
    const dir = tempDir();
    const file = join(dir, 'attune.yaml');
    writeFileSync(file, '# Attune\nworker:\n  concurrency: 2\n  frobnicate: 1\n');
    const error = failure(() => loadConfig({ env: {}, cwd: dir }));
    expect(error.message).toBe(`Configuration worker.frobnicate: unknown key (in ${file}:4)`);
    expect(error).toMatchObject({
      key: 'worker.frobnicate',
      source: { file, line: 4 },
      code: 'ATTUNE_CONFIG',
      category: 'invalid',
    });
    // An unknown section, and a key of a list item.
    writeFileSync(file, 'log:\n  level: info\nfrobnicate:\n  x: 1\n');
    expect(failure(() => loadConfig({ env: {}, file })).message).toBe(
      `Configuration frobnicate: unknown key (in ${file}:3)`,
    );
    writeFileSync(
      file,
      'security:\n  encryption_keys:\n    - id: k1\n      key_file: /k\n      colour: red\n',
    );
    chmodSync(file, 0o600);
    expect(failure(() => loadConfig({ env: {}, file })).message).toBe(
      `Configuration security.encryption_keys.0.colour: unknown key (in ${file}:5)`,
    );
  });

  it('names the environment variable of an unknown key or section', () => {
    const error = failure(() => loadConfig({ env: { ATTUNE__WORKER__FROBNICATE: '1' } }));
    expect(error.message).toBe(
      'Configuration worker.frobnicate: unknown key (in environment variable ATTUNE__WORKER__FROBNICATE)',
    );
    expect(error).toMatchObject({ key: 'worker.frobnicate', source: { env: 'ATTUNE__WORKER__FROBNICATE' } });
    expect(failure(() => loadConfig({ env: { ATTUNE__FROBNICATE__LEVEL: '1' } })).message).toBe(
      'Configuration frobnicate.level: unknown key (in environment variable ATTUNE__FROBNICATE__LEVEL)',
    );
  });

  it('names the environment variable or the line of an invalid value, never the value', () => {
    const value = 'many-workers-please';
    const fromEnv = failure(() => loadConfig({ env: { ATTUNE__WORKER__CONCURRENCY: value } }));
    expect(fromEnv.message).toBe(
      'Configuration worker.concurrency: Invalid input: expected number, got another value (in environment variable ATTUNE__WORKER__CONCURRENCY)',
    );
    expect(fromEnv.key).toBe('worker.concurrency');
    const dir = tempDir();
    const file = join(dir, 'attune.yaml');
    writeFileSync(file, 'api:\n  port: 8080\nworker:\n  concurrency: 0\n');
    expect(failure(() => loadConfig({ env: {}, file })).message).toBe(
      `Configuration worker.concurrency: Too small: expected number to be >=1 (in ${file}:4)`,
    );
    // The variable overrides the file: the variable is named.
    expect(
      failure(() => loadConfig({ env: { ATTUNE__WORKER__CONCURRENCY: value }, file })).message,
    ).toContain('(in environment variable ATTUNE__WORKER__CONCURRENCY)');
    // Checks past the schema say where too: a short key from the file, a bad URL from DATABASE_URL.
    writeFileSync(file, 'log:\n  level: info\nsecurity:\n  encryption_key: "short-secret-value"\n');
    chmodSync(file, 0o600);
    const short = failure(() => loadConfig({ env: {}, file }));
    expect(short.message).toBe(
      `Configuration security.encryption_key: is 18 characters long; at least 32 are required (generate one with attune-crypto keygen) (in ${file}:4)`,
    );
    const url = failure(() => loadConfig({ env: { DATABASE_URL: 'mysql://u:pw-secret@h/db' } }));
    expect(url.message).toBe(
      'Configuration database.url: must be a postgres:// or postgresql:// URL (in environment variable DATABASE_URL)',
    );
    for (const message of [fromEnv.message, short.message, url.message]) {
      expect(message).not.toContain(value);
      expect(message).not.toContain('short-secret-value');
      expect(message).not.toContain('pw-secret');
    }
  });

  it('suggests the known key an unknown one nearly is', () => {
    expect(failure(() => loadConfig({ env: { ATTUNE__WORKER__OUTPUT_CAP_BYTE: '4096' } })).message).toBe(
      'Configuration worker.output_cap_byte: unknown key (in environment variable ATTUNE__WORKER__OUTPUT_CAP_BYTE); did you mean worker.output_cap_bytes?',
    );
    expect(failure(() => loadConfig({ env: { ATTUNE__WROKER__CONCURRENCY: '2' } })).message).toBe(
      'Configuration wroker.concurrency: unknown key (in environment variable ATTUNE__WROKER__CONCURRENCY); did you mean worker.concurrency?',
    );
    const dir = tempDir();
    const file = join(dir, 'attune.yaml');
    writeFileSync(file, 'wroker:\n  concurrency: 2\n');
    expect(failure(() => loadConfig({ env: {}, file })).message).toBe(
      `Configuration wroker: unknown key (in ${file}:1); did you mean worker?`,
    );
    writeFileSync(file, 'api:\n  prot: 8080\n');
    expect(failure(() => loadConfig({ env: {}, file })).message).toBe(
      `Configuration api.prot: unknown key (in ${file}:2); did you mean api.port?`,
    );
    // A short name is nobody's typo: no guess.
    expect(failure(() => loadConfig({ env: { ATTUNE__API__PO: '1' } })).message).toBe(
      'Configuration api.po: unknown key (in environment variable ATTUNE__API__PO)',
    );
  });

  it('says where to set a missing setting: --config, ATTUNE_CONFIG, ./attune.yaml or the variable', () => {
    expect(missingSettingHint('ATTUNE__SECURITY__ENCRYPTION_KEY_FILE')).toBe(
      'set it in the configuration file (--config FILE or ATTUNE_CONFIG; ./attune.yaml is read when present) or with ATTUNE__SECURITY__ENCRYPTION_KEY_FILE',
    );
    const dir = tempDir();
    const file = join(dir, 'attune.yaml');
    writeFileSync(
      file,
      `security:\n  encryption_keys:\n    - id: k1\n      key: "${KEY}"\n    - id: k2\n      key: "${KEY}x"\n`,
      { mode: 0o600 },
    );
    const noActive = failure(() => loadConfig({ env: {}, file }));
    expect(noActive.message).toBe(
      'Configuration security.active_key: is required with more than one key: name the key that encrypts; set it in the configuration file (--config FILE or ATTUNE_CONFIG; ./attune.yaml is read when present) or with ATTUNE__SECURITY__ACTIVE_KEY',
    );
    expect(noActive.source).toBeUndefined();
    // The keyring's active key without the keyring: most likely the file that holds it was not read.
    expect(
      failure(() => loadConfig({ env: { ATTUNE__SECURITY__ACTIVE_KEY: 'k1' }, cwd: tempDir() })).message,
    ).toBe(
      'Configuration security.active_key: names a key of security.encryption_keys, which is not set (in environment variable ATTUNE__SECURITY__ACTIVE_KEY); security.encryption_keys is read from the configuration file only (--config FILE or ATTUNE_CONFIG; ./attune.yaml is read when present)',
    );
  });
});
