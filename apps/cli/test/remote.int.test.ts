import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isolatedBroker } from '@attune/broker/testing';
import { DEFAULT_AMQP_URL } from '@attune/config';
import { createTestDatabase, type TestDatabase } from '@attune/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, type CliResult, runCli } from './support/run-cli.js';

/**
 * Remote mode: the same `attune key …` and `attune run` commands, once on the database (local mode) and once through
 * a real `attune api` process (ATTUNE_API_URL + ATTUNE_TOKEN, with neither DATABASE_URL nor a key in the CLI's
 * environment): same output, same exit codes.
 */
const EXAMPLES = fileURLToPath(new URL('../../../packs/examples', import.meta.url));
const broker = isolatedBroker('cliremote', process.env.AMQP_URL || DEFAULT_AMQP_URL);
const KEY = 'cli-remote-encryption-key-0123456789abcdef';
let db: TestDatabase;
let local: Record<string, string>;
let remote: Record<string, string>;
let api: ChildProcess | undefined;

type Result = CliResult;

const attune = (env: Record<string, string>, args: string[], input = '', cwd?: string): Promise<Result> =>
  runCli(env, args, input, cwd);

beforeAll(async () => {
  db = await createTestDatabase();
  local = {
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
  remote = {
    PATH: local.PATH as string,
    HOME: local.HOME as string,
    ATTUNE_API_URL: url,
    ATTUNE_TOKEN: token,
  };
});

afterAll(async () => {
  if (api && api.exitCode === null) {
    api.kill('SIGTERM');
    await new Promise((resolve) => api?.once('exit', resolve));
  }
  await broker.remove();
  await db?.drop();
});

/** The output with the mode's own names made the same (each mode works on secrets of its own). */
const same = (text: string, mode: string) =>
  text
    .replaceAll(mode, 'MODE')
    .replaceAll(mode.toUpperCase(), 'MODE')
    .replace(/"?id"?: ?"?\d+"?/g, 'id')
    .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, 'TIME')
    // Who wrote a version: the operating-system user locally, the token through the API.
    .replace(/(cli|token):[^\s"]+/g, 'ACTOR')
    .replace(/"actor":\{[^}]*\}/g, '"actor":ACTOR')
    .replace(/ {2,}/g, '  '); // table columns as wide as the names in them

type Mode = 'local' | 'remote';
type Run = (args: string[], input?: string, code?: number) => Promise<Result>;

/**
 * Runs `script` in local mode, then in remote mode, with a `run` that checks each command's exit code and records
 * its output made mode-neutral ({@link same}, then `normalize`). Answers what each mode recorded.
 */
async function inBothModes(
  script: (run: Run, mode: Mode) => Promise<void>,
  normalize: (text: string) => string = (text) => text,
): Promise<Record<Mode, string[]>> {
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
}

describe('the CLI in both modes', () => {
  it('sets, reads, lists, versions, rolls back, destroys, deletes and undeletes keys: same output and exit codes', {
    timeout: 180_000,
  }, async () => {
    const outputs = await inBothModes(async (run, mode) => {
      const name = `${mode}_token`;
      await run(['key', 'set', '--pack', 'examples', name], 'first-value-123');
      await run(['key', 'set', '--pack', 'examples', name], 'second-value-456');
      await run(['key', 'set', '--pack', 'examples', name, '--cas', '1'], 'lost-value-789', 4);
      await run(['key', 'versions', `examples.${name}`]);
      await run(['key', 'get', `examples.${name}`, '--version', '1', '--decrypt', '--json']);
      await run(['key', 'rollback', `examples.${name}`, '--to', '1']);
      await run(['key', 'rollback', `examples.${name}`, '--to', '1', '--cas', '1'], '', 4);
      await run(['key', 'destroy', `examples.${name}`, '--versions', '2']);
      await run(['key', 'versions', `examples.${name}`, '--json']);
      await run(['key', 'set', '--pack', 'examples', name], 'second-value-456');
      const got = await run(['key', 'get', `examples.${name}`, '--decrypt', '--json']);
      expect(JSON.parse(got.stdout)).toMatchObject({
        value: 'second-value-456',
        version: 4,
        encrypted: true,
      });
      await run(['key', 'get', `examples.${name}`]);
      await run(['key', 'delete', `examples.${name}`]);
      await run(['key', 'undelete', `examples.${name}`]);
      await run(['key', 'get', 'examples.no_such_key'], '', 3);
      await run(['key', 'set', '--pack', 'no_such_pack', name], 'x-value-0001', 3);
      await run(['key', 'set', '--system', 'bad name!'], 'x-value-0002', 2);
    });
    expect(outputs.remote).toEqual(outputs.local);
    // The listing holds both modes' secrets: the same in both modes.
    const listed = await Promise.all(
      [local, remote].map((env) => attune(env, ['key', 'list', '--pack', 'examples'])),
    );
    expect(listed[1]?.stdout).toBe(listed[0]?.stdout);
    expect(listed[0]?.stdout).toContain('examples.remote_token');
  });

  it('sets, changes and lists expiry the same way; a past or malformed one is refused with exit 2', {
    timeout: 180_000,
  }, async () => {
    const outputs = await inBothModes(async (run, mode) => {
      const ref = `examples.${mode}_expiring`;
      await run(
        ['key', 'set', '--pack', 'examples', `${mode}_expiring`, '--expires-in', '3d'],
        'expiring-value-1',
      );
      const got = await run(['key', 'get', ref, '--json']);
      const expires = Date.parse(JSON.parse(got.stdout).expires_at);
      expect(Math.abs(expires - (Date.now() + 3 * 86_400_000))).toBeLessThan(120_000);
      await run(['key', 'expire', ref, '--at', '2099-01-31']);
      await run(['key', 'expire', ref, '--never']);
      await run(['key', 'expire', ref, '--in', '2d', '--json']);
      await run(['key', 'versions', ref, '--json']);
      await run(['key', 'expire', ref, '--at', '2001-01-01'], '', 2);
      await run(['key', 'expire', ref, '--at', '2099-01-31T09:00'], '', 2);
      await run(['key', 'expire', ref, '--at', '2099-02-30'], '', 2);
      await run(['key', 'expire', ref], '', 2);
      await run(
        ['key', 'set', '--pack', 'examples', `${mode}_expiring`, '--expires-in', 'soon'],
        'x-value-1',
        2,
      );
      await run(['key', 'list', '--expiring', '7 days'], '', 2);
      await run(['key', 'list', '--expiring', '36500d', '--pack', 'no_such_pack'], '', 3);
    });
    expect(outputs.remote).toEqual(outputs.local);
    // Time passes for one of them (the clock, not the system under test): it is listed as expired, never deleted.
    await db.sql.query(
      `UPDATE "attune"."key" SET expires_at = now() - interval '1 hour' WHERE ref = 'examples.local_expiring'`,
    );
    const listed = await Promise.all(
      [local, remote].map((env) => attune(env, ['key', 'list', '--expiring', '7d', '--expired'])),
    );
    expect(listed[1]?.stdout).toBe(listed[0]?.stdout);
    expect(listed[0]?.stdout).toMatch(/examples\.local_expiring .*\(expired\)\n.*examples\.remote_expiring/);
    for (const env of [local, remote]) {
      const expired = await attune(env, ['key', 'list', '--expired', '--json']);
      expect(JSON.parse(expired.stdout).data.map((k: { ref: string }) => k.ref)).toEqual([
        'examples.local_expiring',
      ]);
      const value = await attune(env, ['key', 'get', 'examples.local_expiring', '--decrypt', '--json']);
      expect(JSON.parse(value.stdout).value).toBe('expiring-value-1');
    }
    // Deleted explicitly, so that the runs of the other tests do not receive them.
    for (const mode of ['local', 'remote'])
      expect((await attune(local, ['key', 'delete', '--purge', `examples.${mode}_expiring`])).code).toBe(0);
  });

  it('requests a run the same way, and refuses, saying why, what needs the database', async () => {
    const [l, r] = await Promise.all(
      [local, remote].map((env) => attune(env, ['run', 'examples.check', '--json'])),
    );
    // Without --json: a line of text, the same in both modes.
    const texts = await Promise.all([local, remote].map((env) => attune(env, ['run', 'examples.check'])));
    expect(texts[0]?.stdout).toMatch(/^requested execution \d+ of examples\.check/);
    expect(texts[1]?.stdout.replace(/\d+/, 'N')).toBe(texts[0]?.stdout.replace(/\d+/, 'N'));
    expect(l?.code).toBe(0);
    expect(r?.code).toBe(0);
    expect(Object.keys(JSON.parse(r?.stdout as string))).toEqual(
      Object.keys(JSON.parse(l?.stdout as string)),
    );
    expect(JSON.parse(r?.stdout as string)).toMatchObject({
      action_ref: 'examples.check',
      status: 'requested',
    });
    const refused = await attune(remote, ['pack', 'register', EXAMPLES]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('remote mode (ATTUNE_API_URL) does not reach');
    const keyring = await attune(remote, ['keyring', 'status']);
    expect(keyring.code).toBe(2);
    expect(keyring.stderr).toContain('`attune keyring` works on the database directly');
    // No token: the API refuses (exit 5, as a refusal); a wrong address: unavailable (exit 1), saying where.
    const { ATTUNE_TOKEN: _t, ...noToken } = remote;
    expect((await attune(noToken, ['key', 'list'])).code).toBe(5);
    const away = await attune({ ...remote, ATTUNE_API_URL: 'http://127.0.0.1:9' }, ['key', 'list']);
    expect(away.code).toBe(1);
    expect(away.stderr).toContain('http://127.0.0.1:9 could not be reached');
  });
  it('runs and waits for an action the same way: text, JSON and exit code', {
    timeout: 180_000,
  }, async () => {
    const worker = spawn(process.execPath, [BIN, 'worker'], {
      env: { ...local, ATTUNE__WORKER__ID: 'remote-cli-worker', ATTUNE__WORKER__HTTP_PORT: '-1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    worker.stdout?.on('data', (c: Buffer) => {
      log += c.toString();
    });
    // An expired secret: every run carries a warning that names a ref (jsonb and the API's schema order its keys
    // differently; the output must not).
    expect(
      (await attune(local, ['key', 'set', '--system', 'cli_lapsed', '--expires-in', '1d'], 'lapsed-value-1'))
        .code,
    ).toBe(0);
    await db.sql.query(
      `UPDATE "attune"."key" SET expires_at = now() - interval '1 hour' WHERE ref = 'system.cli_lapsed'`,
    );
    try {
      for (let i = 0; i < 300 && !log.includes('consuming executions'); i++)
        await new Promise((r) => setTimeout(r, 100));
      const outputs: Record<string, string[]> = {};
      for (const [mode, env] of [
        ['local', local],
        ['remote', remote],
      ] as const) {
        const seen: string[] = [];
        for (const extra of [[], ['--json']]) {
          const args = ['run', 'examples.check', '--params', '{"host":"db1"}', '--wait', '--timeout', '60'];
          const r = await attune(env, [...args, ...extra]);
          expect(r.code, `${mode}: ${r.stderr}`).toBe(0);
          if (extra.length) expect(JSON.parse(r.stdout)).toMatchObject({ status: 'succeeded' });
          else expect(r.stdout).toMatch(/━━ execution \d+: examples\.check → succeeded/);
          expect(r.stdout).toContain('parameters: {');
          // The action receives both modes' secrets (their names differ): both names made the same.
          const text = same(same(`${r.code}\n${r.stdout}\n${r.stderr}`, 'local'), 'remote');
          seen.push(text.replace(/\b\d+(\.\d+)?\b/g, 'N'));
        }
        // An action that does not exist: not found, in both modes.
        const missing = await attune(env, ['run', 'examples.no_such_action', '--wait']);
        seen.push(`${missing.code}`);
        // The last execution, read back by id: as --wait printed it; an unknown id is not found, a bad one invalid.
        const last = await attune(env, [
          'run',
          'examples.check',
          '--params',
          '{"host":"db1"}',
          '--wait',
          '--json',
        ]);
        const id = JSON.parse(last.stdout).id as string;
        for (const extra of [[], ['--json']]) {
          const got = await attune(env, ['execution', 'get', id, ...extra]);
          expect(got.code, got.stderr).toBe(0);
          if (extra.length) expect(JSON.parse(got.stdout).id).toBe(id);
          else expect(got.stdout).toContain(`━━ execution ${id}: examples.check → succeeded`);
          seen.push(same(same(got.stdout, 'local'), 'remote').replace(/\b\d+(\.\d+)?\b/g, 'N'));
        }
        expect(JSON.parse((await attune(env, ['execution', 'get', id, '--json'])).stdout)).toEqual(
          JSON.parse(last.stdout),
        );
        seen.push(`${(await attune(env, ['execution', 'get', '987654321'])).code}`);
        seen.push(`${(await attune(env, ['execution', 'get', 'abc'])).code}`);
        outputs[mode] = seen;
      }
      expect(outputs.local?.[2]).toBe('3');
      expect(outputs.local?.slice(5)).toEqual(['3', '2']);
      expect(outputs.local?.[1]).toContain('"kind":"secret_expired","ref":"system.cli_lapsed"');
      expect(outputs.remote).toEqual(outputs.local);
    } finally {
      await attune(local, ['key', 'delete', '--purge', 'system.cli_lapsed']);
      worker.kill('SIGTERM');
      await new Promise((r) => worker.once('exit', r));
    }
  });

  it('reads the audit log and who used a secret the same way', async () => {
    const outputs = await inBothModes(
      async (run, mode) => {
        const events = await run(['audit', 'list', '--ref', `examples.${mode}_token`, '--json']);
        const actions = JSON.parse(events.stdout).data.map((e: { action: string }) => e.action);
        expect(actions).toContain('key.created');
        expect(actions).toContain('key.rolled_back');
        await run(['key', 'usage', `examples.${mode}_token`]);
        await run(['key', 'executions', `examples.${mode}_token`, '--version', '1', '--json']);
        await run(['key', 'unused', '--days', '1']);
        await run(['audit', 'hash'], 'some-leaked-string', 5); // no audit HMAC key configured, in either place
      },
      (text) => text.replace(/\b\d+\b/g, 'N'),
    );
    // The events themselves name each mode's actor.
    expect(outputs.remote.slice(1)).toEqual(outputs.local.slice(1));
    expect((await attune(remote, ['audit', 'verify'])).code).toBe(2);
  });

  it('creates, lists and revokes tokens the same way, showing each token once', async () => {
    const outputs = await inBothModes(
      async (run, mode) => {
        const created = await run(['token', 'create', `${mode}-ci`, '--scopes', 'keys:read']);
        const token = created.stdout.split('\n')[0] as string;
        expect(token).toMatch(/^attune_/);
        const listed = await run(['token', 'list', '--json']);
        expect(listed.stdout).not.toContain(token);
        await run(['token', 'revoke', `${mode}-ci`]);
        await run(['token', 'revoke', `${mode}-ci`], '', 3);
        await run(['token', 'create', 'x', '--scopes', 'root'], '', 2);
      },
      (text) => text.replace(/attune_[A-Za-z0-9_-]+/g, 'TOKEN'),
    );
    // The listing holds both modes' tokens.
    const withoutListing = (records: string[]) => records.filter((_, i) => i !== 1);
    expect(withoutListing(outputs.remote)).toEqual(withoutListing(outputs.local));
  });

  it('logs in (the token checked, then kept private to the user) and out', async () => {
    const home = mkdtempSync(join(tmpdir(), 'attune-login-'));
    try {
      const { ATTUNE_TOKEN: token, ...noToken } = remote;
      const env = { ...noToken, HOME: home, XDG_CONFIG_HOME: join(home, 'config') };
      const file = join(home, 'config', 'attune', 'token');
      const wrong = await attune(env, ['login'], 'attune_not-a-valid-token\n');
      expect(wrong.code).toBe(5);
      expect(existsSync(file)).toBe(false);
      const login = await attune(env, ['login'], `${token}\n`);
      expect(login.code, login.stderr).toBe(0);
      expect(login.stdout).toContain(`the token is kept in ${file}`);
      expect(login.stdout + login.stderr).not.toContain(token as string);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect((await attune(env, ['key', 'list', '--pack', 'examples'])).code).toBe(0);
      // A kept token others could read is refused, not used.
      chmodSync(file, 0o644);
      const exposed = await attune(env, ['key', 'list']);
      expect(exposed.code).toBe(2);
      expect(exposed.stderr).toContain('holds the API token');
      chmodSync(file, 0o600);
      const logout = await attune(env, ['logout']);
      expect(logout.stdout).toContain(`removed ${file}`);
      expect(existsSync(file)).toBe(false);
      expect((await attune(env, ['key', 'list'])).code).toBe(5);
      expect((await attune(local, ['login'], 'x')).stderr).toContain('needs ATTUNE_API_URL');
      // A pasted line that is not a token is never sent (nor shown); the kept token never goes to another API.
      const pasted = await attune(env, ['login'], 'attune_PASTED\r\nsecond line\n');
      expect(pasted.code).toBe(2);
      expect(pasted.stderr).toContain('is not an Attune API token');
      expect(pasted.stderr).not.toContain('PASTED');
      expect((await attune(env, ['login'], `${token}\n`)).code).toBe(0);
      const elsewhere = await attune({ ...env, ATTUNE_API_URL: 'http://127.0.0.2:9' }, ['key', 'list']);
      expect(elsewhere.code).toBe(2);
      expect(elsewhere.stderr).toContain('it is never sent to another API');
      // Logging in to the other API replaces the kept token (no need to log out first).
      expect((await attune(env, ['logout'])).code).toBe(0);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it("treats the API's answers as untrusted: no redirect followed, no escape sequence printed, size capped", async () => {
    const received: string[] = [];
    let mode = 'redirect';
    const fake = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        received.push(`${req.method} ${req.url} ${req.headers.host} ${body}`);
        if (mode === 'redirect') {
          res.writeHead(307, { location: `http://127.0.0.1:${port}/elsewhere${req.url}` });
          res.end();
        } else if (mode === 'escape') {
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              error: { code: 'X', category: 'not_found', message: 'gone\u001b[2J\u001b]52;c;ZXZpbA==\u0007' },
            }),
          );
        } else if (mode === 'empty') {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': '0' });
          res.end();
        } else {
          res.writeHead(200, { 'content-type': 'application/json' });
          const chunk = Buffer.alloc(1024 * 1024, 'a');
          let sent = 0;
          const more = () => {
            while (sent < 80 && res.write(chunk)) sent++;
            if (sent < 80) res.once('drain', more);
            else res.end();
          };
          more();
        }
      });
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    const port = (fake.address() as AddressInfo).port;
    const env = { ...remote, ATTUNE_API_URL: `http://127.0.0.1:${port}` };
    try {
      const redirected = await attune(env, ['key', 'set', '--system', 'x'], 'a-value-that-must-stay-put');
      expect(redirected.code).toBe(1);
      expect(redirected.stderr).toContain('answered with a redirect (307), which attune does not follow');
      expect(received).toHaveLength(1); // the redirect was not followed
      mode = 'escape';
      const escaped = await attune(env, ['key', 'get', 'system.x']);
      expect(escaped.code).toBe(3);
      expect(escaped.stderr).toContain('gone\\x1b[2J\\x1b]52;c;ZXZpbA==\\x07');
      expect(escaped.stderr).not.toContain('\u001b');
      mode = 'empty';
      const empty = await attune(env, ['key', 'get', 'system.x']);
      expect([empty.code, empty.stderr]).toEqual([1, expect.stringContaining('answered 200 without a body')]);
      mode = 'huge';
      const huge = await attune(env, ['key', 'get', 'system.x']);
      expect([huge.code, huge.stderr]).toEqual([1, expect.stringContaining('answered more than 64 MiB')]);
    } finally {
      fake.closeAllConnections();
      await new Promise((resolve) => fake.close(resolve));
    }
    // A token that could break a header is refused before anything is sent, and never shown.
    const broken = await attune({ ...remote, ATTUNE_TOKEN: `${remote.ATTUNE_TOKEN}\nSECRETpart2` }, [
      'key',
      'list',
      '--json',
    ]);
    expect(broken.code).toBe(2);
    expect(broken.stdout + broken.stderr).not.toContain('SECRETpart2');
    expect(broken.stdout + broken.stderr).not.toContain(remote.ATTUNE_TOKEN as string);
    expect(JSON.parse(broken.stdout).error.code).toBe('ATTUNE_CONFIG');
  });

  it('reads a discovered attune.yaml only when it is yours, and says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'attune-discovered-'));
    try {
      chmodSync(dir, 0o1777);
      writeFileSync(join(dir, 'attune.yaml'), 'cli:\n  api_url: http://127.0.0.1:9\n', { mode: 0o644 });
      const run = (args: string[]) => attune(local, args, '', dir);
      const mine = await run(['key', 'list']);
      expect(mine.stderr).toContain(`attune: using the configuration in ${join(dir, 'attune.yaml')}`);
      expect(mine.code).toBe(1); // it pointed at 127.0.0.1:9
      // Someone else's file (planted in a shared folder): refused, nothing sent anywhere. (Giving a file away
      // needs root, as CI runs; the check itself is the same code for every user.)
      if (process.getuid?.() !== 0) return;
      chownSync(join(dir, 'attune.yaml'), 65534, 65534);
      const planted = await run(['key', 'list']);
      expect(planted.code).toBe(2);
      expect(planted.stderr).toContain('belongs to another user (uid 65534): it is not read');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('command lines that are mistakes', () => {
  it("refuses an option where a value belongs, and never prints what follows an unknown option's =", async () => {
    const swallowed = await attune(local, ['key', 'set', '--pack', '--system', 'name'], 'v');
    expect(swallowed.code).toBe(2);
    expect(swallowed.stderr).toContain("option '--pack' needs a value, and '--system' is an option");
    const typo = await attune(local, ['key', 'set', '--system', 'n', '--valu=SECRET-IN-ARGV'], 'v');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("unknown option '--valu=…'");
    expect(typo.stderr).not.toContain('SECRET-IN-ARGV');
  });
});
