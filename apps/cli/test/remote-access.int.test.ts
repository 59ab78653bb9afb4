/**
 * Remote mode's access and trust: tokens, `attune login`/`logout`, an API whose answers are treated as untrusted, a
 * discovered attune.yaml read only when it is the user's own, and command lines that are mistakes.
 */

import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attune, type BothModes, startBothModes } from './support/both-modes.js';

let modes: BothModes;
let local: Record<string, string>;
let remote: Record<string, string>;

beforeAll(async () => {
  modes = await startBothModes('cliaccess');
  ({ local, remote } = modes);
});

afterAll(async () => {
  await modes?.close();
});

const inBothModes: BothModes['inBothModes'] = (script, normalize) => modes.inBothModes(script, normalize);

describe('the CLI in both modes', () => {
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
