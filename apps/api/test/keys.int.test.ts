/**
 * Keys over HTTP: the seed's curl example verbatim (the key it creates is read by the tests after it), values
 * stored encrypted and answered only with ?decrypt=true and the decrypt scope, a write never answering a value its
 * token could not read, update, soft delete and purge, listing by owner, and If-Match on PUT /api/v1/keys.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { TokenService, TokenStore } from '@attune/auth';
import { silentLogger } from '@attune/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operator, startTestApi, type TestApi } from './support/test-api.js';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi({ broker: 'apikeys' });
});

afterAll(async () => {
  await api?.close();
});

describe('keys over the API', () => {
  it("accepts the seed's curl example verbatim", async () => {
    const { tokens, base, key } = api;
    const port = new URL(base).port;
    // The seed's example as written, with only the port changed to the test server's.
    const script = `curl -s -w '\\n%{http_code}' -X POST http://localhost:${port}/api/v1/keys \\
-H "Authorization: Bearer $TOKEN" \\
-d '{
"ref": "mypack.api_key",
"owner_type": "pack",
"owner_pack": 1,
"name": "api_key",
"value": "sk_live_abc123",
"encrypted": true
}'`;
    // Asynchronously: the server answering it runs in this process.
    const { stdout: out } = await promisify(execFile)('sh', ['-c', script], {
      env: { PATH: process.env.PATH, TOKEN: tokens.admin },
      encoding: 'utf8',
    });
    const [json, status] = [out.slice(0, out.lastIndexOf('\n')), out.slice(out.lastIndexOf('\n') + 1)];
    expect(status).toBe('201');
    const body = JSON.parse(json);
    expect(body.data).toMatchObject({
      ref: 'mypack.api_key',
      owner_type: 'pack',
      owner_pack: 1,
      name: 'api_key',
      env_name: 'SECRET_API_KEY',
      encrypted: true,
      value: null,
    });
    expect(body.data.encryption_key_hash).toBe(key.keyHash);
    expect(json).not.toContain('sk_live_abc123');
  });

  it('stores the value encrypted and returns plaintext only with ?decrypt=true and the decrypt scope', async () => {
    const { call, tokens, db, logLines } = api;
    const row = (
      await db.sql.query<{ value: string }>("SELECT value FROM attune.key WHERE ref = 'mypack.api_key'")
    )[0];
    // Under the owning pack's data key (docs/encryption.md#envelope-encryption).
    expect(row?.value.startsWith('e1:')).toBe(true);
    expect((await call('GET', '/api/v1/keys/mypack.api_key', tokens.read)).body?.data.value).toBeNull();
    const denied = await call('GET', '/api/v1/keys/mypack.api_key?decrypt=true', tokens.read);
    expect(denied.status).toBe(403);
    const ok = await call('GET', '/api/v1/keys/mypack.api_key?decrypt=true', tokens.readDecrypt);
    expect(ok.status).toBe(200);
    expect(ok.body?.data.value).toBe('sk_live_abc123');
    expect(logLines.join('')).not.toContain('sk_live_abc123');
    expect(logLines.join('')).not.toContain(tokens.readDecrypt);
  });

  it('never answers a write with a value the token could not read', async () => {
    const { call, tokens, db } = api;
    const plain = {
      owner_type: 'system',
      name: 'plain_for_write',
      value: 'plain-visible-value',
      encrypted: false,
    };
    expect((await call('POST', '/api/v1/keys', tokens.admin, plain)).status).toBe(201);
    // keys:write alone re-encrypts a plain key: the answer does not show the value it never sent.
    const reencrypt = await call('PUT', '/api/v1/keys/system.plain_for_write', tokens.write, {
      encrypted: false,
    });
    expect(reencrypt.status).toBe(403);
    const toEncrypted = await call('PUT', '/api/v1/keys/system.plain_for_write', tokens.write, {
      encrypted: true,
    });
    expect(toEncrypted.status).toBe(200);
    expect(toEncrypted.body?.data.value).toBeNull();
    // With keys:read, keys:decrypt and keys:write, the decrypting update is allowed and answers the value.
    const store = new TokenService({ store: new TokenStore(db.prisma), logger: silentLogger() });
    const all = (
      await store.create(operator, 'read-decrypt-write', ['keys:read', 'keys:decrypt', 'keys:write'])
    ).token;
    const decrypted = await call('PUT', '/api/v1/keys/system.plain_for_write', all, { encrypted: false });
    expect(decrypted.status).toBe(200);
    expect(decrypted.body?.data).toMatchObject({ encrypted: false, value: 'plain-visible-value' });
    // A write that sends the value may see it in the answer: it is its own.
    const sent = await call('PUT', '/api/v1/keys/system.plain_for_write', tokens.write, {
      value: 'sent-by-writer',
    });
    expect(sent.body?.data.value).toBe('sent-by-writer');
  });

  it('updates (re-encrypting) and deletes', async () => {
    const { call, tokens } = api;
    const created = await call('POST', '/api/v1/keys', tokens.admin, {
      owner_type: 'system',
      name: 'rotate_me',
      value: 'one',
    });
    expect(created.status).toBe(201);
    expect(created.body?.data.value).toBe('one');
    const enc = await call('PUT', '/api/v1/keys/system.rotate_me', tokens.write, { encrypted: true });
    expect(enc.status).toBe(200);
    expect(enc.body?.data).toMatchObject({ encrypted: true, value: null });
    const changed = await call('PUT', '/api/v1/keys/system.rotate_me', tokens.write, { value: { a: 1 } });
    expect(changed.status).toBe(200);
    expect(
      (await call('GET', '/api/v1/keys/system.rotate_me?decrypt=true', tokens.admin)).body?.data.value,
    ).toEqual({ a: 1 });
    expect((await call('PUT', '/api/v1/keys/system.rotate_me', tokens.write, {})).status).toBe(400);
    // A soft delete keeps it (and its versions) until it is purged.
    expect((await call('DELETE', '/api/v1/keys/system.rotate_me', tokens.write)).status).toBe(204);
    expect(
      (await call('GET', '/api/v1/keys/system.rotate_me', tokens.admin)).body?.data.deleted_at,
    ).toBeTruthy();
    expect((await call('PUT', '/api/v1/keys/system.rotate_me', tokens.write, { value: 'x' })).status).toBe(
      409,
    );
    const back = await call('POST', '/api/v1/keys/system.rotate_me/undelete', tokens.write);
    expect(back.status).toBe(200);
    expect(back.body?.data).toMatchObject({ deleted_at: null, value: null });
    expect((await call('DELETE', '/api/v1/keys/system.rotate_me?purge=true', tokens.write)).status).toBe(204);
    expect((await call('GET', '/api/v1/keys/system.rotate_me', tokens.admin)).status).toBe(404);
    expect((await call('DELETE', '/api/v1/keys/system.rotate_me', tokens.write)).status).toBe(404);
  });

  it('lists keys by owner, paginated, without encrypted values', async () => {
    const { call, tokens } = api;
    const res = await call('GET', '/api/v1/keys?owner_type=pack&owner_pack=mypack&per_page=10', tokens.read);
    expect(res.status).toBe(200);
    expect(res.body?.data.map((k: { ref: string }) => k.ref)).toEqual(['mypack.api_key']);
    expect(res.body?.data[0].value).toBeNull();
    expect(res.body?.pagination).toEqual({ page: 1, per_page: 10, total: 1, total_pages: 1 });
    expect((await call('GET', '/api/v1/keys?per_page=0', tokens.read)).status).toBe(400);
  });

  it('PUT /api/v1/keys honours If-Match as the key routes do', async () => {
    const { call, tokens, base } = api;
    const put = (ifMatch: string | undefined, value: string) =>
      fetch(`${base}/api/v1/keys`, {
        method: 'PUT',
        headers: {
          authorization: `Bearer ${tokens.write}`,
          'content-type': 'application/json',
          ...(ifMatch === undefined ? {} : { 'if-match': ifMatch }),
        },
        body: JSON.stringify({ owner_type: 'system', name: 'put_cas', value, encrypted: true }),
      });
    expect((await put(undefined, 'first-value-0001')).status).toBe(201);
    expect((await put('"1"', 'second-value-0002')).status).toBe(200);
    const stale = await put('"1"', 'lost-value-0003');
    expect(stale.status).toBe(409);
    expect(await stale.text()).not.toContain('lost-value-0003');
    expect((await put('"two"', 'bad-value-0004')).status).toBe(400);
    const current = await call('GET', '/api/v1/keys/system.put_cas', tokens.admin);
    expect(current.body?.data.version).toBe(2);
  });
});
