/**
 * The audit HMAC key: read for the API and the CLI only, never for workers; refused when it cannot be meant.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { apiConfigOf, cliConfigOf, loadConfig, loadWorkerConfig, workerConfigOf } from '../src/index.js';
import { KEY, removeTempDirs, tempDir } from './support.js';

afterAll(removeTempDirs);

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
