/**
 * Test support for remote mode: one database with the example pack, a real `attune api` process on it, and the two
 * environments the same commands run in — local (DATABASE_URL and the key) and remote (ATTUNE_API_URL and a token,
 * with neither the database nor a key) — plus the side-by-side runner that compares their output.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isolatedBroker } from '@attune/broker/testing';
import { DEFAULT_AMQP_URL } from '@attune/config';
import { createTestDatabase, type TestDatabase } from '@attune/db/testing';
import { expect } from 'vitest';
import { BIN, type CliResult, runCli } from './run-cli.js';

/** The example pack every test registers. */
export const EXAMPLES = fileURLToPath(new URL('../../../../packs/examples', import.meta.url));
const KEY = 'cli-remote-encryption-key-0123456789abcdef';

export type Mode = 'local' | 'remote';
export type Run = (args: string[], input?: string, code?: number) => Promise<CliResult>;

/** `attune args…` with exactly `env`, `input` on stdin, in `cwd` when given. */
export const attune = (
  env: Record<string, string>,
  args: string[],
  input = '',
  cwd?: string,
): Promise<CliResult> => runCli(env, args, input, cwd);

/** The output with the mode's own names made the same (each mode works on secrets of its own). */
export const same = (text: string, mode: string) =>
  text
    .replaceAll(mode, 'MODE')
    .replaceAll(mode.toUpperCase(), 'MODE')
    .replace(/"?id"?: ?"?\d+"?/g, 'id')
    .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, 'TIME')
    // Who wrote a version: the operating-system user locally, the token through the API.
    .replace(/(cli|token):[^\s"]+/g, 'ACTOR')
    .replace(/"actor":\{[^}]*\}/g, '"actor":ACTOR')
    .replace(/ {2,}/g, '  '); // table columns as wide as the names in them

/** Both modes on one database, and what the tests do with them. */
export interface BothModes {
  readonly db: TestDatabase;
  readonly local: Record<string, string>;
  readonly remote: Record<string, string>;
  /**
   * Runs `script` in local mode, then in remote mode, with a `run` that checks each command's exit code and records
   * its output made mode-neutral ({@link same}, then `normalize`). Answers what each mode recorded.
   */
  inBothModes(
    script: (run: Run, mode: Mode) => Promise<void>,
    normalize?: (text: string) => string,
  ): Promise<Record<Mode, string[]>>;
  close(): Promise<void>;
}

/** Starts both modes: the database (examples registered), an admin token and `attune api` on a free port. */
export async function startBothModes(brokerName: string): Promise<BothModes> {
  const broker = isolatedBroker(brokerName, process.env.AMQP_URL || DEFAULT_AMQP_URL);
  const db = await createTestDatabase();
  let api: ChildProcess | undefined;
  const close = async () => {
    if (api && api.exitCode === null) {
      const stopping = api;
      stopping.kill('SIGTERM');
      await new Promise((resolve) => stopping.once('exit', resolve));
    }
    await broker.remove();
    await db.drop();
  };
  try {
    const local = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/root',
      DATABASE_URL: db.url as string,
      ...broker.env,
      ATTUNE__SECURITY__ENCRYPTION_KEY: KEY,
    };
    expect((await attune(local, ['pack', 'register', EXAMPLES])).code).toBe(0);
    const created = await attune(local, ['token', 'create', 'remote-cli', '--scopes', 'admin', '--json']);
    const token = JSON.parse(created.stdout).token as string;
    const server = spawn(process.execPath, [BIN, 'api'], {
      env: { ...local, ATTUNE__API__PORT: '0', ATTUNE__API__HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    api = server;
    let said = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the API did not start: ${said}`)), 30_000);
      server.stderr?.on('data', (c: Buffer) => {
        said += c.toString();
        const match = /listening on (http:\/\/\S+?) /.exec(said);
        if (match) {
          clearTimeout(timer);
          resolve(match[1] as string);
        }
      });
    });
    // Neither the database nor the encryption key: only the API's address and a token.
    const remote = { PATH: local.PATH, HOME: local.HOME, ATTUNE_API_URL: url, ATTUNE_TOKEN: token };
    return {
      db,
      local,
      remote,
      async inBothModes(script, normalize = (text) => text) {
        const outputs = { local: [] as string[], remote: [] as string[] };
        for (const mode of ['local', 'remote'] as const) {
          const env = mode === 'local' ? local : remote;
          await script(async (args, input = '', code = 0) => {
            const r = await attune(env, args, input);
            expect(r.code, `${mode}: attune ${args.join(' ')}\n${r.stderr}`).toBe(code);
            outputs[mode].push(normalize(same(`${r.code}\n${r.stdout}\n${r.stderr}`, mode)));
            return r;
          }, mode);
        }
        return outputs;
      },
      close,
    };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}
