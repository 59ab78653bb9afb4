/**
 * Key versions over HTTP: check-and-set (If-Match, expected_version), the version list, reading one version with
 * keys:decrypt, rollback with keys:write alone, destroying old versions — and no value in the log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './support/test-api.js';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi({ broker: 'apikeyversions' });
});

afterAll(async () => {
  await api?.close();
});

describe('key versions over the API', () => {
  it('keeps versions: lists them, reads one with keys:decrypt, rolls back with keys:write alone, destroys', async () => {
    const { call, tokens, base, logLines } = api;
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
});
