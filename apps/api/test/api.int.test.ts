import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { AuditLog } from '@attune/audit';
import { TokenService, TokenStore } from '@attune/auth';
import { ExecutionPublisher } from '@attune/broker';
import { isolatedBroker } from '@attune/broker/testing';
import { DEFAULT_AMQP_URL } from '@attune/config';
import { type Actor, silentLogger } from '@attune/core';
import { EncryptionKey } from '@attune/crypto';
import { createTestDatabase, type TestDatabase } from '@attune/db/testing';
import { ExecutionStore } from '@attune/executions';
import amqp from 'amqplib';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi, createApiServices } from '../src/index.js';
import { capturingApiLogger } from './support/log-lines.js';

const AMQP_URL = process.env.AMQP_URL || DEFAULT_AMQP_URL;
const REDOCLY = fileURLToPath(new URL('../node_modules/.bin/redocly', import.meta.url));
const run = promisify(execFile);
const isolated = isolatedBroker('apitest', AMQP_URL);
const broker = isolated.config;
const PASSWORD = 'api-test-encryption-key-0123456789abcdef';
const AUDIT_HMAC_KEY = 'api-test-audit-hmac-key-0123456789abcdef';
const key = EncryptionKey.fromPassword(PASSWORD);
const security = {
  keyring: [{ id: 'default', password: PASSWORD, source: 'config' as const }],
  activeKeyId: 'default',
};

let db: TestDatabase;
let app: FastifyInstance;
let base: string;
let publisher: ExecutionPublisher;
let services: ReturnType<typeof createApiServices>;
const logLines: string[] = [];
const tokens: Record<string, string> = {};
const operator: Actor = { type: 'cli', id: 'tester@test', name: 'tester@test' };

beforeAll(async () => {
  db = await createTestDatabase();
  // The first pack of this fresh database gets id 1, as the seed's example assumes.
  const pack = await db.prisma.pack.create({
    data: { ref: 'mypack', label: 'My pack', version: '1.0.0', path: '/nonexistent' },
  });
  expect(pack.id).toBe(1);
  await db.prisma.action.create({
    data: {
      ref: 'mypack.deploy',
      packId: pack.id,
      name: 'deploy',
      runnerType: 'shell',
      entryPoint: 'deploy.sh',
      timeoutSeconds: 30,
    },
  });
  await db.prisma.action.create({
    data: {
      ref: 'mypack.report',
      packId: pack.id,
      name: 'report',
      runnerType: 'python',
      entryPoint: 'report.py',
      timeoutSeconds: 30,
      parameters: { target: { type: 'string' }, items: { type: 'array' } },
    },
  });
  const logger = capturingApiLogger(logLines);
  publisher = new ExecutionPublisher(broker);
  services = createApiServices({
    db,
    security,
    publish: (m) => publisher.publish(m),
    logger,
    audit: new AuditLog({ valueKey: AUDIT_HMAC_KEY }),
  });
  app = await buildApi({
    ...services,
    logger,
    maxBodyBytes: 128 * 1024,
    authFailureLimit: 50,
    // The fuzz tests send hundreds of requests a minute with one token; the limits have tests of their own.
    rateLimitPerMinute: 100_000,
  });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  const store = new TokenService({ store: new TokenStore(db.prisma), logger: silentLogger() });
  for (const [name, scopes] of Object.entries({
    admin: ['admin'],
    read: ['keys:read'],
    readDecrypt: ['keys:read', 'keys:decrypt'],
    decryptOnly: ['keys:decrypt'],
    write: ['keys:write'],
    run: ['executions:run'],
    auditor: ['audit:read'],
  })) {
    tokens[name] = (await store.create(operator, name, scopes)).token;
  }
  const revoked = await store.create(operator, 'revoked', ['admin']);
  await store.revoke(operator, 'revoked');
  tokens.revoked = revoked.token;
});

afterAll(async () => {
  await app?.close();
  await publisher?.close();
  await isolated.remove();
  await db?.drop();
});

async function call(method: string, path: string, token: string | undefined, body?: unknown, raw?: string) {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined || raw !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    // biome-ignore lint/suspicious/noExplicitAny: the tests read response bodies of every shape
    body: text ? (JSON.parse(text) as Record<string, any>) : undefined,
  };
}
const keyCount = () => db.prisma.key.count();

describe('HTTP API', () => {
  it("accepts the seed's curl example verbatim", async () => {
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

  it('enforces authentication and scopes (auth matrix)', async () => {
    const body = { owner_type: 'system', name: 'matrix_key', value: 'v-matrix', encrypted: true };
    const cases: Array<[string, string | undefined, string, string, unknown, number]> = [
      ['no token', undefined, 'GET', '/api/v1/keys', undefined, 401],
      ['bad token', 'attune_not-a-real-token', 'GET', '/api/v1/keys', undefined, 401],
      ['revoked token', tokens.revoked, 'GET', '/api/v1/keys', undefined, 401],
      ['read lists', tokens.read, 'GET', '/api/v1/keys', undefined, 200],
      ['read cannot write', tokens.read, 'POST', '/api/v1/keys', body, 403],
      ['write cannot list', tokens.write, 'GET', '/api/v1/keys', undefined, 403],
      ['write cannot see a key', tokens.write, 'GET', '/api/v1/keys/mypack.api_key', undefined, 404],
      [
        'decrypt alone cannot see a key',
        tokens.decryptOnly,
        'GET',
        '/api/v1/keys/mypack.api_key?decrypt=true',
        undefined,
        404,
      ],
      ['run cannot read keys', tokens.run, 'GET', '/api/v1/keys/mypack.api_key', undefined, 404],
      ['run cannot delete keys', tokens.run, 'DELETE', '/api/v1/keys/mypack.api_key', undefined, 403],
      ['read cannot run', tokens.read, 'POST', '/api/v1/executions', { action_ref: 'mypack.deploy' }, 403],
      ['any token lists packs', tokens.run, 'GET', '/api/v1/packs', undefined, 200],
      ['write creates', tokens.write, 'POST', '/api/v1/keys', body, 201],
      ['admin reads', tokens.admin, 'GET', '/api/v1/keys/system.matrix_key?decrypt=true', undefined, 200],
      // Making an encrypted key plain without sending a value is a decrypt: it needs keys:read and keys:decrypt.
      [
        'write cannot decrypt by update',
        tokens.write,
        'PUT',
        '/api/v1/keys/system.matrix_key',
        { encrypted: false },
        403,
      ],
      [
        'read+decrypt without write cannot update',
        tokens.readDecrypt,
        'PUT',
        '/api/v1/keys/system.matrix_key',
        { encrypted: false },
        403,
      ],
    ];
    for (const [label, token, method, path, b, status] of cases) {
      const res = await call(method, path, token, b);
      expect(res.status, label).toBe(status);
      if (status >= 400) expect(res.body?.error.code, label).toMatch(/^ATTUNE_/);
      if (label !== 'admin reads') expect(JSON.stringify(res.body ?? ''), label).not.toContain('v-matrix');
    }
    // The refused decrypt changed nothing: still encrypted.
    const row = await db.prisma.key.findUniqueOrThrow({ where: { ref: 'system.matrix_key' } });
    expect(row.encrypted).toBe(true);
    expect(JSON.stringify(row.value)).not.toContain('v-matrix');
  });

  it('never answers a write with a value the token could not read', async () => {
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

  it('answers 400 with the field, 409 on conflicts, 413 above the size limit — and writes nothing', async () => {
    const before = await keyCount();
    const bad: Array<[unknown, number, string | undefined]> = [
      [{}, 400, 'owner_type'],
      [{ owner_type: 'pack', name: 'x', value: 'v' }, 400, 'owner_pack'],
      [
        { owner_type: 'pack', owner_pack: 1, owner_pack_ref: 'mypack', name: 'x', value: 'v' },
        400,
        'owner_pack',
      ],
      [{ owner_type: 'system', owner_pack: 1, name: 'x', value: 'v' }, 400, 'owner_pack'],
      [{ owner_type: 'galaxy', name: 'x', value: 'v' }, 400, 'owner_type'],
      [{ owner_type: 'system', name: 'has space', value: 'v' }, 400, 'name'],
      [{ owner_type: 'system', name: 'a=b', value: 'v' }, 400, 'name'],
      [{ owner_type: 'system', name: 'x', value: null }, 400, 'value'],
      [{ owner_type: 'system', name: 'x', value: 'v', encrypted: 'yes' }, 400, 'encrypted'],
      [{ owner_type: 'system', name: 'x', value: 'v', extra: 1 }, 400, 'extra'],
      // An owner that does not exist is not found (404, as in the CLI's exit 3), naming no value.
      [{ owner_type: 'pack', owner_pack: 999, name: 'x', value: 'v' }, 404, undefined],
      [{ owner_type: 'pack', owner_pack_ref: 'mypack', name: 'api-key', value: 'v' }, 409, 'name'],
      [{ ref: 'mypack.api_key', owner_type: 'system', name: 'other', value: 'v' }, 409, 'ref'],
      [{ owner_type: 'system', name: 'big', value: 'x'.repeat(70 * 1024) }, 413, 'value'],
      [{ owner_type: 'system', name: 'huge', value: 'x'.repeat(200 * 1024) }, 413, undefined],
      // Text no secret may hold: a NUL (no environment variable carries it) or an unpaired surrogate (no UTF-8).
      [{ owner_type: 'system', name: 'nul_plain', value: 'a\0b', encrypted: false }, 400, 'value'],
      [{ owner_type: 'system', name: 'nul_enc', value: 'a\0b', encrypted: true }, 400, 'value'],
      [{ owner_type: 'system', name: 'sur_plain', value: 'a\uD800b', encrypted: false }, 400, 'value'],
      [{ owner_type: 'system', name: 'sur_enc', value: 'a\uDC00b', encrypted: true }, 400, 'value'],
      [{ owner_type: 'system', name: 'nul_json', value: { pw: 'x\0y' }, encrypted: true }, 400, 'value'],
    ];
    for (const [body, status, field] of bad) {
      const res = await call('POST', '/api/v1/keys', tokens.admin, body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(status);
      if (field) expect(res.body?.error.field, JSON.stringify(body).slice(0, 80)).toBe(field);
    }
    for (const raw of ['{not json', '', '[]', '"string"', 'null']) {
      const res = await call('POST', '/api/v1/keys', tokens.admin, undefined, raw);
      expect(res.status, raw).toBeGreaterThanOrEqual(400);
      expect(res.status, raw).toBeLessThan(500);
    }
    // A prototype key is refused under either content type (the form-encoded one is JSON too, for curl -d).
    for (const contentType of ['application/json', 'application/x-www-form-urlencoded']) {
      const res = await fetch(`${base}/api/v1/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': contentType },
        body: '{"owner_type":"system","name":"proto","value":"v","__proto__":{"encrypted":false}}',
      });
      expect(res.status, contentType).toBe(400);
    }
    for (const value of ['a\0b', 'a\uD800b']) {
      const res = await call('PUT', '/api/v1/keys/mypack.api_key', tokens.admin, { value });
      expect(res.status).toBe(400);
      expect(res.body?.error.field).toBe('value');
    }
    const huge = await call('GET', '/api/v1/executions/9999999999999999999', tokens.admin);
    expect(huge.status).toBe(400);
    expect(huge.body?.error.field).toBe('id');
    // Query filters and execution parameters: 400, never a 500.
    for (const path of [
      '/api/v1/keys?owner_pack=%00',
      '/api/v1/keys?owner_pack=9999999999',
      '/api/v1/keys?owner_action=4294967296',
      '/api/v1/actions?pack=%00',
    ]) {
      const res = await call('GET', path, tokens.admin);
      expect(res.status, path).toBe(400);
    }
    const executionsBefore = await db.prisma.execution.count();
    const deep = JSON.parse(`${'['.repeat(3000)}1${']'.repeat(3000)}`);
    for (const parameters of [{ target: 'a\0b' }, { target: 'a\uD800b' }, { items: [deep] }]) {
      const res = await call('POST', '/api/v1/executions', tokens.admin, {
        action_ref: 'mypack.report',
        parameters,
      });
      expect(res.status, JSON.stringify(parameters).slice(0, 40)).toBe(400);
    }
    expect(await db.prisma.execution.count()).toBe(executionsBefore);
    expect(await keyCount()).toBe(before);
  });

  it('never answers awkward values, huge numbers or deep nesting with a 500 or a write (fuzz)', async () => {
    const before = await keyCount();
    const awkward = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.string({ unit: 'binary' }).map((t) => `${t}\0${t}`),
      fc.constantFrom('\uD800', '\uDFFF', 'x\uDBFFy', '\u0000'),
      fc
        .integer({ min: 1, max: 3000 })
        .map((depth) => JSON.parse(`${'['.repeat(depth)}1${']'.repeat(depth)}`)),
      fc.bigInt({ min: 10n ** 18n, max: 10n ** 40n }).map((n) => Number(n)),
    );
    await fc.assert(
      fc.asyncProperty(awkward, fc.boolean(), async (value, encrypted) => {
        const body = { owner_type: 'system', name: 'fuzzed', value, encrypted };
        const created = await call('POST', '/api/v1/keys', tokens.admin, body);
        expect(created.status, JSON.stringify(body).slice(0, 80)).not.toBe(500);
        if (created.status === 201)
          await call('DELETE', '/api/v1/keys/system.fuzzed?purge=true', tokens.admin);
        const updated = await call('PUT', '/api/v1/keys/mypack.api_key', tokens.admin, { value });
        expect(updated.status).not.toBe(500);
      }),
      { numRuns: 80 },
    );
    await fc.assert(
      fc.asyncProperty(fc.bigInt({ min: 1n, max: 10n ** 19n - 1n }), async (id) => {
        const res = await call('GET', `/api/v1/executions/${id}`, tokens.admin);
        expect([200, 400, 404]).toContain(res.status);
      }),
      { numRuns: 40 },
    );
    expect(await keyCount()).toBe(before);
  });

  it('never answers arbitrary bodies with a 500 or a write (fuzz)', async () => {
    const before = await keyCount();
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        for (const path of ['/api/v1/keys', '/api/v1/keys/mypack.api_key', '/api/v1/executions']) {
          const method = path.endsWith('api_key') ? 'PUT' : 'POST';
          const res = await call(method, path, tokens.admin, undefined, JSON.stringify(value));
          expect(res.status).toBeGreaterThanOrEqual(400);
          expect(res.status).toBeLessThan(500);
        }
      }),
      { numRuns: 60 },
    );
    expect(await keyCount()).toBe(before);
  });

  it('updates (re-encrypting) and deletes', async () => {
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

  it('keeps versions: lists them, reads one with keys:decrypt, rolls back with keys:write alone, destroys', async () => {
    const ref = 'system.versioned';
    const created = await call('POST', '/api/v1/keys', tokens.admin, {
      owner_type: 'system',
      name: 'versioned',
      value: 'first-secret',
      encrypted: true,
    });
    expect(created.headers.get('etag')).toBe('"1"');
    expect(created.body?.data).toMatchObject({ version: 1, data_key: { version: 1 } });
    // Check-and-set: If-Match (or expected_version) must name the current version.
    const stale = await call('PUT', `/api/v1/keys/${ref}`, tokens.write, { value: 'x', expected_version: 7 });
    expect(stale.status).toBe(409);
    expect(stale.body?.error).toMatchObject({
      code: 'ATTUNE_SECRETS_VERSION_CONFLICT',
      field: 'expected_version',
    });
    const res = await fetch(`${base}/api/v1/keys/${ref}`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${tokens.write}`,
        'content-type': 'application/json',
        'if-match': '"1"',
      },
      body: JSON.stringify({ value: 'second-secret' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('"2"');
    const mismatch = await fetch(`${base}/api/v1/keys/${ref}`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${tokens.write}`,
        'content-type': 'application/json',
        'if-match': '"1"',
      },
      body: JSON.stringify({ value: 'lost-update' }),
    });
    expect(mismatch.status).toBe(409);
    const list = await call('GET', `/api/v1/keys/${ref}/versions`, tokens.read);
    expect(list.status).toBe(200);
    expect(list.body?.data.map((v: { version: number; current: boolean }) => [v.version, v.current])).toEqual(
      [
        [2, true],
        [1, false],
      ],
    );
    expect(JSON.stringify(list.body)).not.toContain('first-secret');
    expect(list.body?.data[1].actor).toMatchObject({ type: 'token', name: 'admin' });
    expect((await call('GET', `/api/v1/keys/${ref}/versions`, tokens.write)).status).toBe(404);
    expect((await call('GET', `/api/v1/keys/${ref}/versions/1?decrypt=true`, tokens.read)).status).toBe(403);
    const one = await call('GET', `/api/v1/keys/${ref}/versions/1?decrypt=true`, tokens.readDecrypt);
    expect(one.body?.data).toMatchObject({ version: 1, value: 'first-secret', current: false });
    expect((await call('GET', `/api/v1/keys/${ref}/versions/9`, tokens.read)).status).toBe(404);
    // A write-only token rolls back without ever seeing the value.
    const rolled = await call('POST', `/api/v1/keys/${ref}/rollback`, tokens.write, { version: 1 });
    expect(rolled.status).toBe(200);
    expect(rolled.body?.data).toMatchObject({ version: 3, value: null });
    expect(JSON.stringify(rolled.body)).not.toContain('first-secret');
    expect((await call('GET', `/api/v1/keys/${ref}?decrypt=true`, tokens.readDecrypt)).body?.data.value).toBe(
      'first-secret',
    );
    expect((await call('POST', `/api/v1/keys/${ref}/rollback`, tokens.read, { version: 1 })).status).toBe(
      403,
    );
    // Destroying: never the current version; a destroyed one keeps its metadata and decrypts no more.
    expect(
      (await call('POST', `/api/v1/keys/${ref}/versions/destroy`, tokens.write, { versions: [3] })).status,
    ).toBe(400);
    const destroyed = await call('POST', `/api/v1/keys/${ref}/versions/destroy`, tokens.write, {
      versions: [1, 2],
    });
    expect(destroyed.body?.data).toEqual({ destroyed: [1, 2] });
    const gone = await call('GET', `/api/v1/keys/${ref}/versions/1?decrypt=true`, tokens.readDecrypt);
    expect(gone.status).toBe(409);
    expect((await call('POST', `/api/v1/keys/${ref}/rollback`, tokens.write, { version: 2 })).status).toBe(
      409,
    );
    expect(logLines.join('')).not.toContain('first-secret');
    expect(logLines.join('')).not.toContain('second-secret');
  });

  it('lists keys by owner, paginated, without encrypted values', async () => {
    const res = await call('GET', '/api/v1/keys?owner_type=pack&owner_pack=mypack&per_page=10', tokens.read);
    expect(res.status).toBe(200);
    expect(res.body?.data.map((k: { ref: string }) => k.ref)).toEqual(['mypack.api_key']);
    expect(res.body?.data[0].value).toBeNull();
    expect(res.body?.pagination).toEqual({ page: 1, per_page: 10, total: 1, total_pages: 1 });
    expect((await call('GET', '/api/v1/keys?per_page=0', tokens.read)).status).toBe(400);
  });

  it('requests executions through the broker and reads them back', async () => {
    const res = await call('POST', '/api/v1/executions', tokens.run, {
      action_ref: 'mypack.deploy',
      parameters: {},
    });
    expect(res.status).toBe(202);
    const id = res.body?.data.id as string;
    const connection = await amqp.connect(AMQP_URL);
    const channel = await connection.createChannel();
    const msg = await channel.get(broker.queue, { noAck: true });
    await connection.close();
    expect(msg && JSON.parse(msg.content.toString())).toEqual({
      execution_id: Number(id),
      action_ref: 'mypack.deploy',
    });
    const read = await call('GET', `/api/v1/executions/${id}`, tokens.run);
    expect(read.body?.data).toMatchObject({ id, action_ref: 'mypack.deploy', status: 'requested' });
    expect((await call('POST', '/api/v1/executions', tokens.run, { action_ref: 'mypack.nope' })).status).toBe(
      404,
    );
    expect((await call('GET', '/api/v1/executions/999999', tokens.run)).status).toBe(404);
    const actions = await call('GET', '/api/v1/actions?pack=mypack', tokens.run);
    expect(actions.body?.data.map((a: { ref: string }) => a.ref)).toEqual(['mypack.deploy', 'mypack.report']);
    // What each declares and how it receives its secrets (the policy: its own, else its pack's; null: the worker's).
    expect(actions.body?.data[0]).toMatchObject({
      secrets: expect.any(Array),
      secrets_policy: null,
      secrets_delivery: 'env',
      secrets_file_format: null,
    });
    for (const declared of actions.body?.data[0].secrets ?? [])
      expect(declared).toEqual({ name: expect.any(String), required: expect.any(Boolean) });
  });

  it('records who did what in the audit log, with address and request id, never a value', async () => {
    const value = 'audit-trail-value-7f3e91';
    const ref = 'mypack.audit_probe';
    expect(
      (
        await call('POST', '/api/v1/keys', tokens.admin, {
          ref,
          name: 'audit_probe',
          owner_type: 'pack',
          owner_pack: 1,
          value,
          encrypted: true,
        })
      ).status,
    ).toBe(201);
    expect((await call('GET', `/api/v1/keys/${ref}?decrypt=true`, tokens.readDecrypt)).status).toBe(200);
    expect((await call('PUT', `/api/v1/keys/${ref}`, tokens.write, { value: `${value}-2` })).status).toBe(
      200,
    );
    // Only audit:read (or admin) reads the log.
    expect((await call('GET', '/api/v1/audit', tokens.readDecrypt)).status).toBe(403);
    const page = await call('GET', `/api/v1/audit?ref=${ref}`, tokens.auditor);
    expect(page.status).toBe(200);
    const events = page.body?.data as Array<Record<string, unknown>>;
    expect(events.map((e) => e.action)).toEqual(['key.updated', 'key.decrypted', 'key.created']);
    expect(events.map((e) => (e.actor as { name: string }).name)).toEqual(['write', 'readDecrypt', 'admin']);
    for (const e of events) {
      expect(e).toMatchObject({ ref, outcome: 'ok', source: '127.0.0.1' });
      expect(e.request_id).toEqual(expect.any(String));
    }
    expect(events.map((e) => e.version)).toEqual([2, 1, 1]);
    // Tokens, execution requests: recorded too. No value anywhere in the log.
    const all = await call('GET', '/api/v1/audit?limit=1000', tokens.admin);
    const actions = new Set(((all.body?.data ?? []) as Array<{ action: string }>).map((e) => e.action));
    expect([...actions]).toEqual(
      expect.arrayContaining(['token.created', 'token.revoked', 'execution.requested']),
    );
    expect(JSON.stringify(all.body)).not.toContain(value);
    for (const name of Object.keys(tokens)) expect(JSON.stringify(all.body)).not.toContain(tokens[name]);
    // Filters and the cursor: two pages of one event each, then the rest.
    const first = await call('GET', `/api/v1/audit?ref=${ref}&limit=1`, tokens.auditor);
    expect(first.body?.data.map((e: { action: string }) => e.action)).toEqual(['key.updated']);
    const second = await call(
      'GET',
      `/api/v1/audit?ref=${ref}&limit=1&before=${first.body?.next}`,
      tokens.auditor,
    );
    expect(second.body?.data.map((e: { action: string }) => e.action)).toEqual(['key.decrypted']);
    const byActor = await call('GET', `/api/v1/audit?actor=readDecrypt&action=key.decrypted`, tokens.auditor);
    expect(byActor.body?.data.map((e: { ref: string }) => e.ref)).toContain(ref);
    const future = await call('GET', `/api/v1/audit?from=2999-01-01T00:00:00Z`, tokens.auditor);
    expect(future.body?.data).toEqual([]);
    expect((await call('GET', '/api/v1/audit?from=yesterday', tokens.auditor)).status).toBe(400);
    expect((await call('GET', '/api/v1/audit?before=9999999999999999999', tokens.auditor)).status).toBe(400);
    // A decrypt the token may not do: refused, and recorded as refused with who, from where, and why.
    expect((await call('GET', `/api/v1/keys/${ref}?decrypt=true`, tokens.read)).status).toBe(403);
    const [refused] =
      (await call('GET', `/api/v1/audit?ref=${ref}&action=key.decrypted&limit=1`, tokens.auditor)).body
        ?.data ?? [];
    expect(refused).toMatchObject({
      outcome: 'refused',
      actor: { name: 'read' },
      source: '127.0.0.1',
      detail: { reason: 'the token lacks the keys:decrypt scope' },
    });
    // Was this leaked string ever a stored value, and when? By its keyed HMAC; the lookup is recorded, not the string.
    // Only for a token that may read values anyway (audit:read and keys:decrypt): else it is a guessing oracle.
    const hashed = await call('POST', '/api/v1/audit/hash', tokens.admin, { value });
    expect(hashed.status).toBe(200);
    expect(hashed.body?.data.map((e: { action: string; ref: string }) => [e.action, e.ref])).toEqual([
      ['key.created', ref],
    ]);
    const updatedValue = await call('POST', '/api/v1/audit/hash', tokens.admin, { value: `${value}-2` });
    expect(updatedValue.body?.data.map((e: { version: number }) => e.version)).toEqual([2]);
    expect(
      (await call('POST', '/api/v1/audit/hash', tokens.admin, { value: 'never-stored' })).body?.data,
    ).toEqual([]);
    expect((await call('POST', '/api/v1/audit/hash', tokens.auditor, { value })).status).toBe(403);
    expect((await call('POST', '/api/v1/audit/hash', tokens.readDecrypt, { value })).status).toBe(403);
    expect((await call('POST', '/api/v1/audit/hash', tokens.admin, { value: '' })).status).toBe(400);
    const lookups = await call('GET', '/api/v1/audit?action=audit.value_looked_up&limit=3', tokens.auditor);
    expect(
      lookups.body?.data.map((e: { detail: { matches: number; events: string[] } }) => [
        e.detail.matches,
        e.detail.events.length,
      ]),
    ).toEqual([
      [0, 0],
      [1, 1],
      [1, 1],
    ]);
    expect(lookups.body?.data[2].detail.events).toEqual([hashed.body?.data[0].id]);
    // The HMACs are compared, never shown: two secrets with one value would show one HMAC.
    expect(JSON.stringify(hashed.body)).not.toContain('value_hmac');
    const everything = JSON.stringify((await call('GET', '/api/v1/audit?limit=1000', tokens.admin)).body);
    expect(everything).not.toContain(value);
    expect(everything).not.toContain('value_hmac');
    expect(everything).not.toContain('never-stored');
    expect((await call('GET', '/api/v1/audit?limit=0', tokens.auditor)).status).toBe(400);
  });

  it('manages tokens for an admin token only, answering a new token once', async () => {
    expect((await call('GET', '/api/v1/tokens', tokens.write)).status).toBe(403);
    expect(
      (await call('POST', '/api/v1/tokens', tokens.auditor, { name: 'x', scopes: ['keys:read'] })).status,
    ).toBe(403);
    const created = await call('POST', '/api/v1/tokens', tokens.admin, {
      name: 'deploy-bot',
      scopes: ['keys:read'],
    });
    expect(created.status).toBe(201);
    const token = created.body?.data.token as string;
    expect(token).toMatch(/^attune_/);
    expect((await call('GET', '/api/v1/packs', token)).status).toBe(200);
    const listed = await call('GET', '/api/v1/tokens', tokens.admin);
    expect(listed.body?.data.map((t: { name: string }) => t.name)).toContain('deploy-bot');
    expect(JSON.stringify(listed.body)).not.toContain(token);
    expect((await call('POST', '/api/v1/tokens', tokens.admin, { name: 'y', scopes: ['root'] })).status).toBe(
      400,
    );
    expect(
      (await call('POST', '/api/v1/tokens', tokens.admin, { name: 'deploy-bot', scopes: ['keys:read'] }))
        .status,
    ).toBe(409);
    const revoked = await call('DELETE', '/api/v1/tokens/deploy-bot', tokens.admin);
    expect(revoked.body?.data).toMatchObject({ name: 'deploy-bot', revoked_at: expect.any(String) });
    expect((await call('GET', '/api/v1/packs', token)).status).toBe(401);
    expect((await call('DELETE', '/api/v1/tokens/deploy-bot', tokens.admin)).status).toBe(404);
    // A name no token could have (a NUL): invalid input, not a server error.
    const nul = await call('DELETE', '/api/v1/tokens/%00', tokens.admin);
    expect([nul.status, nul.body?.error.code]).toEqual([400, 'ATTUNE_AUTH_INVALID']);
  });

  it('PUT /api/v1/keys honours If-Match as the key routes do', async () => {
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

  it('records failed authentications aggregated per address, never the token sent', async () => {
    const bad = 'atk_not-a-real-token-5d1c';
    await services.authFailures?.flush(); // what earlier tests sent
    const before = (await call('GET', '/api/v1/audit?action=auth.failed', tokens.auditor)).body?.data.length;
    for (let i = 0; i < 3; i++) expect((await call('GET', '/api/v1/packs', bad)).status).toBe(401);
    expect((await call('GET', '/api/v1/packs', undefined)).status).toBe(401);
    await services.authFailures?.flush();
    const page = await call('GET', '/api/v1/audit?action=auth.failed', tokens.auditor);
    const events = page.body?.data as Array<Record<string, unknown>>;
    expect(events).toHaveLength(before + 1);
    expect(events[0]).toMatchObject({ outcome: 'refused', source: '127.0.0.1' });
    expect(events[0]?.detail).toMatchObject({ count: 4, reasons: ['invalid_token', 'missing_token'] });
    expect(JSON.stringify(page.body)).not.toContain(bad);
  });

  it('answers who used a secret: last use, actions, executions of a version, unused keys (keys:read)', async () => {
    const ref = 'mypack.usage_probe';
    const created = await call('POST', '/api/v1/keys', tokens.admin, {
      ref,
      name: 'usage_probe',
      owner_type: 'pack',
      owner_pack: 1,
      value: 'usage-probe-value',
      encrypted: true,
    });
    expect(created.status).toBe(201);
    const requested = await call('POST', '/api/v1/executions', tokens.run, { action_ref: 'mypack.deploy' });
    const id = requested.body?.data.id as string;
    // Stored as a worker stores a run's end, with the provenance of what it received.
    const store = new ExecutionStore(db.sql);
    expect(await store.claim(id, 'api-test-worker')).not.toBeNull();
    await store.finish(id, 'api-test-worker', {
      status: 'succeeded',
      exitCode: 0,
      durationMs: 3,
      stdout: '',
      stderr: '',
      stdoutTruncated: false,
      stderrTruncated: false,
      result: null,
      warnings: [],
      secrets: [
        { env_name: 'SECRET_USAGE_PROBE', ref, level: 'pack', version: 1, key_hash: null, overrides: [] },
      ],
    });
    expect((await call('GET', `/api/v1/keys/${ref}/usage`, tokens.run)).status).toBe(403);
    const u = await call('GET', `/api/v1/keys/${ref}/usage`, tokens.read);
    expect(u.status).toBe(200);
    expect(u.body?.data).toMatchObject({
      ref,
      last_use: { execution_id: id, action_ref: 'mypack.deploy', version: 1 },
      actions: [{ action_ref: 'mypack.deploy', version: 1, executions: 1 }],
    });
    const v1 = await call('GET', `/api/v1/keys/${ref}/versions/1/executions`, tokens.read);
    expect(v1.body).toMatchObject({
      data: [{ execution_id: id, status: 'succeeded', worker_id: 'api-test-worker' }],
      next: null,
    });
    const unused = await call('GET', '/api/v1/usage/unused?days=1', tokens.read);
    expect(unused.status).toBe(200);
    expect(unused.body?.data).toEqual([]); // every key here was created within the day
    expect((await call('GET', '/api/v1/usage/unused', tokens.read)).status).toBe(400);
    expect(
      (await call('GET', `/api/v1/keys/${ref}/versions/1/executions?before=9999999999999999999`, tokens.read))
        .status,
    ).toBe(400);
    expect((await call('GET', '/api/v1/usage/unused?days=0', tokens.read)).status).toBe(400);
    expect((await call('GET', `/api/v1/keys/${ref}/usage?from=soon`, tokens.read)).status).toBe(400);
    expect(JSON.stringify([u.body, v1.body])).not.toContain('usage-probe-value');
  });

  it('publishes an OpenAPI document a client can be generated from: operationIds, 2xx schemas, servers, lint clean', async () => {
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as {
      servers?: unknown[];
      paths: Record<string, Record<string, { operationId?: string; summary?: string; responses?: object }>>;
    };
    expect(doc.servers?.length).toBeGreaterThan(0);
    const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ at: `${method.toUpperCase()} ${path}`, ...op })),
    );
    expect(operations.length).toBeGreaterThanOrEqual(19);
    const ids = new Set<string>();
    for (const op of operations) {
      expect(op.operationId, op.at).toMatch(/^[a-z][A-Za-z]+$/);
      ids.add(op.operationId as string);
      expect(op.summary, op.at).toBeTruthy();
      expect(
        Object.keys(op.responses ?? {}).some((code) => /^2\d\d$/.test(code)),
        op.at,
      ).toBe(true);
    }
    expect(ids.size).toBe(operations.length);
    // Redocly's recommended rules: no error.
    const dir = mkdtempSync(join(tmpdir(), 'attune-openapi-'));
    try {
      writeFileSync(join(dir, 'openapi.json'), JSON.stringify(doc));
      const lint = await run(REDOCLY, ['lint', join(dir, 'openapi.json'), '--format=summary']).catch(
        (error: { stdout?: string; stderr?: string }) => ({
          stdout: `${error.stdout}${error.stderr}`,
          failed: true,
        }),
      );
      expect(lint, JSON.stringify(lint)).not.toHaveProperty('failed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves the OpenAPI document and a browsable page, with security headers', async () => {
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/v1/keys', '/api/v1/keys/{ref}', '/api/v1/executions']),
    );
    const page = await fetch(`${base}/docs/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('swagger');
    const res = await call('GET', '/api/v1/packs', tokens.read);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBeTruthy();
  });
});

describe('rate limits', () => {
  /** A second API on the same database, with its own limits. */
  async function limitedApi(options: {
    authFailureLimit?: number;
    rateLimitPerMinute?: number;
    trustedProxies?: string[];
  }) {
    const logger = silentLogger();
    const limited = await buildApi({
      ...createApiServices({ db, security, publish: (m) => publisher.publish(m), logger }),
      logger,
      maxBodyBytes: 128 * 1024,
      ...options,
    });
    const url = await limited.listen({ host: '127.0.0.1', port: 0 });
    const get = async (token: string | undefined, headers: Record<string, string> = {}) =>
      (
        await fetch(`${url}/api/v1/keys`, {
          headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
        })
      ).status;
    return { limited, get, url };
  }

  it('answers 429 to an address sending bad tokens, while valid tokens from it keep working', async () => {
    const { limited, get } = await limitedApi({ authFailureLimit: 10 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 25; i++) statuses.push(await get(`attune_wrong-${i}`));
      expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
      expect(statuses.slice(10)).toEqual(Array(15).fill(429));
      expect(await get(undefined)).toBe(429);
      // The same address, a valid token: served.
      expect(await get(tokens.read)).toBe(200);
      expect(await get(tokens.admin)).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('counts requests to unknown paths against the address budget', async () => {
    const { limited, url } = await limitedApi({ rateLimitPerMinute: 4 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await fetch(`${url}/no/such/page-${i}`)).status);
      expect(statuses).toEqual([404, 404, 404, 404, 429, 429]);
    } finally {
      await limited.close();
    }
  });

  it('limits each valid token to its own budget', async () => {
    const { limited, get } = await limitedApi({ rateLimitPerMinute: 5 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) statuses.push(await get(tokens.read));
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
      expect(await get(tokens.admin)).toBe(200); // another token: its own budget
    } finally {
      await limited.close();
    }
  });

  it('takes the client address from X-Forwarded-For only behind a trusted proxy', async () => {
    const trusting = await limitedApi({ authFailureLimit: 3, trustedProxies: ['127.0.0.1'] });
    try {
      for (let i = 0; i < 3; i++)
        expect(await trusting.get('attune_wrong', { 'x-forwarded-for': '10.0.0.1' })).toBe(401);
      expect(await trusting.get('attune_wrong', { 'x-forwarded-for': '10.0.0.1' })).toBe(429);
      // Behind the proxy, another client is another address.
      expect(await trusting.get('attune_wrong', { 'x-forwarded-for': '10.0.0.2' })).toBe(401);
    } finally {
      await trusting.limited.close();
    }
    const direct = await limitedApi({ authFailureLimit: 3 });
    try {
      // Without a trusted proxy the header is ignored: a client cannot pick a fresh address for each attempt.
      for (let i = 0; i < 3; i++)
        expect(await direct.get('attune_wrong', { 'x-forwarded-for': `10.1.0.${i}` })).toBe(401);
      expect(await direct.get('attune_wrong', { 'x-forwarded-for': '10.1.0.99' })).toBe(429);
    } finally {
      await direct.limited.close();
    }
  });
});
