/**
 * Test support for the isolation modes: which modes this host can test, a sandbox of a test file's own, and pack
 * folders the action identity can read. With ATTUNE_TEST_ISOLATION=required (CI sets it), a mode this host cannot
 * provide fails the tests that need it instead of skipping them.
 */
import { chmodSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IsolationConfig } from '@attune/config';
import { type ActionSandbox, createSandbox, IsolationUnavailableError } from '../../src/index.js';

/** Whether every isolation mode must be testable here (CI). */
export const ISOLATION_REQUIRED = process.env.ATTUNE_TEST_ISOLATION === 'required';

/** Where test workers make scratch folders: one base per uid, like the default. */
export const TEST_SCRATCH_BASE = join(tmpdir(), `attune-test-scratch-${process.getuid?.() ?? 'user'}`);

/**
 * The identity of the tests' `user`-mode workers, when the host has it (`scripts/install-sandbox.sh --test-identity`;
 * CI creates it and requires it). A `user`-mode worker kills every leftover process of its identity after each
 * execution: on `attune-action` it would kill the sandboxed actions (and spawn helpers) of test files running at
 * the same time. Without it (a developer's machine), the default identity is used.
 */
export const USER_MODE_RUN_AS = userExists('attune-test-action')
  ? 'attune-test-action'
  : ISOLATION_REQUIRED
    ? failRequired()
    : undefined;

function userExists(name: string): boolean {
  try {
    return readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .some((line) => line.startsWith(`${name}:`));
  } catch {
    return false;
  }
}

function failRequired(): never {
  throw new Error(
    'ATTUNE_TEST_ISOLATION=required: no user attune-test-action for the user-mode tests; run scripts/install-sandbox.sh --test-identity as root',
  );
}

/** A folder for packs that any identity can read (mkdtemp makes 0700 folders). */
export function readablePackRoot(label: string): string {
  const root = mkdtempSync(join(tmpdir(), `attune-${label}-`));
  chmodSync(root, 0o755);
  return root;
}

/** A sandbox for one test file (own worker id, so its scratch folders are its own). */
export async function testSandbox(
  mode: IsolationConfig['mode'],
  overrides: Partial<IsolationConfig> = {},
): Promise<ActionSandbox> {
  const { sandbox } = await createSandbox({
    config: {
      mode,
      runAs: mode === 'user' ? USER_MODE_RUN_AS : undefined,
      scratchDir: TEST_SCRATCH_BASE,
      sandboxReadOnlyPaths: [],
      seccomp: true,
      ...overrides,
    },
    workerId: `test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    path: process.env.PATH,
  });
  return sandbox;
}

/** Why `mode` cannot be tested on this host, or undefined when it can. */
export async function unavailableReason(mode: 'sandbox' | 'user'): Promise<string | undefined> {
  try {
    const sandbox = await testSandbox(mode);
    await sandbox.scratch.close();
    return undefined;
  } catch (error) {
    if (error instanceof IsolationUnavailableError) return error.message;
    throw error;
  }
}

/**
 * Modes to test here. A mode this host lacks is skipped, with its reason in the test name, unless
 * ATTUNE_TEST_ISOLATION=required, where it is kept (and its tests fail).
 */
export async function testableModes(): Promise<
  Array<{ mode: 'sandbox' | 'user'; skip: string | undefined }>
> {
  const out: Array<{ mode: 'sandbox' | 'user'; skip: string | undefined }> = [];
  for (const mode of ['sandbox', 'user'] as const) {
    const reason = await unavailableReason(mode);
    out.push({ mode, skip: reason && !ISOLATION_REQUIRED ? reason : undefined });
  }
  return out;
}
