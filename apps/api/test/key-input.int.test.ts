/**
 * Bad input to the key and execution routes: 400 naming the field, 409 on conflicts, 413 above the size limit, and
 * never a 500 or a write — for listed bad bodies and for fuzzed values and bodies (fast-check).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSeedExampleKey, startTestApi, type TestApi } from './support/test-api.js';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi({ broker: 'apikeyinput' });
  // The seed's example key: what the bad bodies conflict with, and what the fuzzed updates go to.
  await createSeedExampleKey(api);
});

afterAll(async () => {
  await api?.close();
});

describe('bad input over the API', () => {
  it('answers 400 with the field, 409 on conflicts, 413 above the size limit — and writes nothing', async () => {
    const { call, tokens, db, base, keyCount } = api;
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
    const { call, tokens, keyCount } = api;
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
    const { call, tokens, keyCount } = api;
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
});
