/**
 * Remote mode, side by side with local mode: the same `attune key …`, `attune run`, `attune audit` and usage
 * commands, once on the database (local mode) and once through a real `attune api` process (ATTUNE_API_URL +
 * ATTUNE_TOKEN, with neither DATABASE_URL nor a key in the CLI's environment): same output, same exit codes. The
 * tests build on each other's secrets and executions (the audit test reads what the key and run tests did).
 */

import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attune, type BothModes, EXAMPLES, same, startBothModes } from './support/both-modes.js';
import { BIN } from './support/run-cli.js';

let modes: BothModes;
let db: BothModes['db'];
let local: Record<string, string>;
let remote: Record<string, string>;

beforeAll(async () => {
  modes = await startBothModes('cliremote');
  ({ local, remote, db } = modes);
});

afterAll(async () => {
  await modes?.close();
});

const inBothModes: BothModes['inBothModes'] = (script, normalize) => modes.inBothModes(script, normalize);

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
});
