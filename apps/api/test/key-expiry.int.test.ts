import { AuditLog } from '@attune/audit';
import { TokenService, TokenStore } from '@attune/auth';
import { ExecutionPublisher } from '@attune/broker';
import { isolatedBroker } from '@attune/broker/testing';
import { DEFAULT_AMQP_URL } from '@attune/config';
import { type Actor, silentLogger } from '@attune/core';
import { createTestDatabase, type TestDatabase } from '@attune/db/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi, createApiServices } from '../src/index.js';
import { capturingApiLogger } from './support/log-lines.js';

const isolated = isolatedBroker('apiexpiry', process.env.AMQP_URL || DEFAULT_AMQP_URL);
const PASSWORD = 'api-expiry-test-encryption-key-0123456789';
const DAY = 86_400_000;
const inDays = (days: number) => new Date(Date.now() + days * DAY).toISOString();
const operator: Actor = { type: 'cli', id: 'tester@test', name: 'tester@test' };

let db: TestDatabase;
let app: FastifyInstance;
let base: string;
let publisher: ExecutionPublisher;
let token: string;
const logLines: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  await db.prisma.pack.create({ data: { ref: 'exp', label: 'exp', version: '1.0.0', path: '/nonexistent' } });
  const logger = capturingApiLogger(logLines);
  publisher = new ExecutionPublisher(isolated.config);
  const services = createApiServices({
    db,
    security: {
      keyring: [{ id: 'default', password: PASSWORD, source: 'config' as const }],
      activeKeyId: 'default',
    },
    publish: (m) => publisher.publish(m),
    logger,
    audit: new AuditLog(),
  });
  app = await buildApi({ ...services, logger, maxBodyBytes: 128 * 1024, authFailureLimit: 50 });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  const tokenService = new TokenService({ store: new TokenStore(db.prisma), logger: silentLogger() });
  token = (await tokenService.create(operator, 'admin', ['admin'])).token;
});

afterAll(async () => {
  await app?.close();
  await publisher?.close();
  await isolated.remove();
  await db?.drop();
});

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: the tests read response bodies of every shape
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : undefined };
}
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
