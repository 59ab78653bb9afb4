/**
 * Authentication and scopes over HTTP: the auth matrix (no, bad and revoked tokens; each scope allowed only what it
 * grants), token management by admin tokens only, and failed authentications recorded aggregated per address.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSeedExampleKey, startTestApi, type TestApi } from './support/test-api.js';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi({ broker: 'apiauth' });
  // The seed's example key: what each token may or may not see, decrypt or delete.
  await createSeedExampleKey(api);
});

afterAll(async () => {
  await api?.close();
});

describe('authentication over the API', () => {
  it('enforces authentication and scopes (auth matrix)', async () => {
    const { call, tokens, db } = api;
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

  it('manages tokens for an admin token only, answering a new token once', async () => {
    const { call, tokens } = api;
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

  it('records failed authentications aggregated per address, never the token sent', async () => {
    const { call, tokens, services } = api;
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
});
