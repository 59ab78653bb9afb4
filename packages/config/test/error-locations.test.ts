/**
 * Errors name where a setting was given (file:line or the variable), never its value, and what was meant.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, missingSettingHint } from '../src/index.js';
import { failure, KEY, removeTempDirs, tempDir } from './support.js';

afterAll(removeTempDirs);

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
