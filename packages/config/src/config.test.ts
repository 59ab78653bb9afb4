import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadWorkerConfig } from './config.js';

const KEY = 'config-test-encryption-key-0123456789abc';

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
    const dir = mkdtempSync(join(tmpdir(), 'attune-config-'));
    const file = join(dir, 'config.yaml');
    writeFileSync(
      file,
      `security:\n  encryption_key: "${KEY}"\nworker:\n  output_cap_bytes: 4096\n  passthrough_env: [HTTP_PROXY]\n`,
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
      [{ ATTUNE__WORKER__FROBNICATE: '1' }, /worker: unknown key\(s\) frobnicate/],
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
});
