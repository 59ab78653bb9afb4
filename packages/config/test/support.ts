/** Test support for the configuration's tests: a key, a token, temporary folders, the error a load throws. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ConfigError } from '../src/index.js';

export const KEY = 'config-test-encryption-key-0123456789abc';
export const TOKEN = 'attune_t0k3n-for-config-tests_0123456789';

const made: string[] = [];

/** A folder of the test file's own, removed by {@link removeTempDirs} (some hold a key). */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'attune-config-'));
  made.push(dir);
  return dir;
}

/** Removes the folders {@link tempDir} made (each test file's `afterAll`). */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** The error `load` throws (a ConfigError), or a failure of the test when it throws nothing. */
export function failure(load: () => unknown): ConfigError {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}
