import { AttuneError } from '@attune/core';
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import { isApiRoute } from './auth.js';

/**
 * Rate limits (@fastify/rate-limit) for every route registered after it: each valid token has a budget of its own;
 * requests without one share their address's, which is the failed-authentication limit on /api/ (the open pages,
 * /openapi.json and /docs, get the ordinary budget). Bounded memory: the least recently seen callers are forgotten.
 */
export async function registerRateLimit(
  app: FastifyInstance,
  limits: { perMinute: number; authFailuresPerMinute: number },
): Promise<void> {
  await app.register(rateLimit, {
    global: true,
    hook: 'onRequest',
    timeWindow: '1 minute',
    cache: 10_000,
    keyGenerator: (req) =>
      req.principal
        ? `token:${req.principal.tokenId}`
        : `${isApiRoute(req) ? 'unauthenticated' : 'open'}:${normalizeIP(req.ip, 64)}`,
    max: async (_req, key) =>
      key.startsWith('unauthenticated:') ? limits.authFailuresPerMinute : limits.perMinute,
    errorResponseBuilder: (req, context) =>
      new AttuneError({
        code: 'ATTUNE_API_RATE_LIMITED',
        category: 'rate_limited',
        message:
          req.principal || !isApiRoute(req)
            ? `Too many requests; try again in ${context.after}.`
            : `Too many requests without a valid token from this address; try again in ${context.after}.`,
      }),
  });
}
