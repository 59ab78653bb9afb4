/**
 * The API's rate limits, each on an API of its own beside the file's test API (same database, other limits): bad
 * tokens and unknown paths against the address's budget, each valid token its own budget, and X-Forwarded-For
 * believed only from a trusted proxy.
 */
import { silentLogger } from '@attune/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi, createApiServices } from '../src/index.js';
import { startTestApi, type TestApi } from './support/test-api.js';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi({ broker: 'apiratelimits' });
});

afterAll(async () => {
  await api?.close();
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
      ...createApiServices({
        db: api.db,
        security: api.security,
        publish: (m) => api.publisher.publish(m),
        logger,
      }),
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
    const { tokens } = api;
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
    const { tokens } = api;
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
