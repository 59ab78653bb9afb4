/**
 * Key expiry over HTTP: `expires_at` taken on create, shown on the key and its versions and changed in place; bad
 * expiries refused with 400 naming the field; keys listed by when they expire or that they have expired.
 */
import { AuditLog } from '@attune/audit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './support/test-api.js';

const PASSWORD = 'api-expiry-test-encryption-key-0123456789';
const DAY = 86_400_000;
const inDays = (days: number) => new Date(Date.now() + days * DAY).toISOString();

let api: TestApi;

beforeAll(async () => {
  // A master key of its own, an audit log without a value key and the default rate limit: the API as it runs.
  api = await startTestApi({
    broker: 'apiexpiry',
    password: PASSWORD,
    audit: new AuditLog(),
    limits: { rateLimitPerMinute: undefined },
  });
  await api.db.prisma.pack.create({
    data: { ref: 'exp', label: 'exp', version: '1.0.0', path: '/nonexistent' },
  });
});

afterAll(async () => {
  await api?.close();
});

/** A request with the admin token. */
const call = (method: string, path: string, body?: unknown) => api.call(method, path, api.tokens.admin, body);
const create = (name: string, extra: Record<string, unknown> = {}) =>
  call('POST', '/api/v1/keys', {
    owner_type: 'pack',
    owner_pack_ref: 'exp',
    name,
    value: `value-of-${name}`,
    encrypted: true,
    ...extra,
  });

describe('expiry over the API', () => {
  it('takes expires_at on create, shows it on the key and its version, and changes it in place', async () => {
    const when = inDays(30);
    const created = await create('api_token', { expires_at: when });
    expect(created.status).toBe(201);
    expect(created.body?.data).toMatchObject({ ref: 'exp.api_token', version: 1, expires_at: when });
    const moved = inDays(5);
    const updated = await call('PUT', '/api/v1/keys/exp.api_token', { expires_at: moved });
    expect(updated.status).toBe(200);
    expect(updated.body?.data).toMatchObject({ version: 1, expires_at: moved });
    const versions = await call('GET', '/api/v1/keys/exp.api_token/versions');
    expect(versions.body?.data.map((v: { expires_at: string }) => v.expires_at)).toEqual([moved]);
    // A new value without an expiry never expires; with one, it has its own.
    const next = await call('PUT', '/api/v1/keys/exp.api_token', { value: 'rotated-value' });
    expect(next.body?.data).toMatchObject({ version: 2, expires_at: null });
    const set = await call('PUT', '/api/v1/keys', {
      owner_type: 'pack',
      owner_pack_ref: 'exp',
      name: 'api_token',
      value: 'third-value',
      expires_at: when,
    });
    expect(set.status).toBe(200);
    expect(set.body?.data).toMatchObject({ version: 3, expires_at: when });
    expect((await call('PUT', '/api/v1/keys/exp.api_token', { expires_at: null })).body?.data).toMatchObject({
      version: 3,
      expires_at: null,
    });
  });

  it('refuses an expiry in the past, without a zone, or not a time, with 400 naming the field; nothing written', async () => {
    const { db } = api;
    const before = await db.prisma.key.count();
    for (const bad of [
      new Date(Date.now() - DAY).toISOString(),
      '2030-01-01',
      '2030-01-01T00:00:00',
      '2030-02-30T00:00:00Z', // a day that does not exist: refused, not moved to March
      '2030-01-31T23:59:60Z',
      'tomorrow',
      12345,
    ]) {
      const res = await create('bad_expiry', { expires_at: bad });
      expect(res.status, String(bad)).toBe(400);
      expect(res.body?.error?.message ?? JSON.stringify(res.body)).toMatch(/expires_at/);
    }
    expect(await db.prisma.key.count()).toBe(before);
    await create('kept');
    const res = await call('PUT', '/api/v1/keys/exp.kept', {
      value: 'new',
      expires_at: '2001-01-01T00:00:00Z',
    });
    expect(res.status).toBe(400);
    expect((await call('GET', '/api/v1/keys/exp.kept')).body?.data).toMatchObject({
      version: 1,
      expires_at: null,
    });
  });

  it('lists keys expiring within a time, expired ones, or both, soonest first', async () => {
    const { db, logLines } = api;
    await create('in_two_days', { expires_at: inDays(2) });
    await create('in_one_day', { expires_at: inDays(1) });
    await create('in_ninety_days', { expires_at: inDays(90) });
    await create('passed', { expires_at: inDays(1) });
    // Time passes for one of them (the clock, not the system under test).
    await db.sql.query(
      `UPDATE "attune"."key" SET expires_at = now() - interval '1 hour' WHERE ref = 'exp.passed'`,
    );
    const refs = async (query: string) =>
      (await call('GET', `/api/v1/keys?owner_pack=exp&${query}`)).body?.data.map(
        (k: { ref: string }) => k.ref,
      );
    expect(await refs('expiring=7d')).toEqual(['exp.in_one_day', 'exp.in_two_days']);
    expect(await refs('expired=true')).toEqual(['exp.passed']);
    expect(await refs('expiring=7d&expired=true')).toEqual([
      'exp.passed',
      'exp.in_one_day',
      'exp.in_two_days',
    ]);
    for (const bad of ['expiring=7', 'expiring=1y', 'expiring=-1d', 'expired=yes']) {
      const res = await call('GET', `/api/v1/keys?${bad}`);
      expect(res.status, bad).toBe(400);
    }
    // Expired is not gone: it is read, as any key.
    expect((await call('GET', '/api/v1/keys/exp.passed?decrypt=true')).body?.data.value).toBe(
      'value-of-passed',
    );
    expect(logLines.join('')).not.toMatch(/value-of-/);
  });
});
