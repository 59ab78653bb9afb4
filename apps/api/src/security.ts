import { hasScope, type Principal, type Scope } from '@attune/auth';
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiDependencies } from './dependencies.js';
import { HttpError } from './http-error.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/**
 * Whether the request matched an API route. Decided on the route Fastify matched, not the raw URL, so that no
 * spelling of a path (`//api/…`, `%2Fapi`, a query string) is treated differently from the route it reaches.
 */
function isApiRoute(req: FastifyRequest): boolean {
  return req.routeOptions.url?.startsWith('/api/') === true;
}

/** Refuses an /api/ request without a valid token (after the rate limit has counted it). */
async function requireAuthentication(req: FastifyRequest): Promise<void> {
  if (req.principal) return;
  const header = req.headers.authorization;
  throw new HttpError(
    401,
    'ATTUNE_API_UNAUTHENTICATED',
    header?.startsWith('Bearer ') ? 'The bearer token is not valid.' : 'Send Authorization: Bearer <token>.',
  );
}

/**
 * Authentication and rate limits for every route registered after it (docs/api.md#authentication): the bearer
 * token is verified on /api/ routes, the limit counts each valid token and each address without one, and /api/
 * routes then refuse the unauthenticated.
 */
export async function registerSecurity(app: FastifyInstance, deps: ApiDependencies): Promise<void> {
  // Authentication identifies the caller; refusing the unauthenticated comes after the rate limit, so that an
  // address sending bad tokens is limited while valid tokens from it keep working.
  app.addHook('onRequest', async (req) => {
    if (!isApiRoute(req)) return;
    const header = req.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    const principal = token ? await deps.tokens.verify(token) : null;
    if (principal) req.principal = principal;
  });
  const perMinute = deps.rateLimitPerMinute ?? 600;
  const failureLimit = deps.authFailureLimit ?? 20;
  await app.register(rateLimit, {
    global: true,
    hook: 'onRequest',
    timeWindow: '1 minute',
    // Bounded memory: the least recently seen callers are forgotten first.
    cache: 10_000,
    // A valid token has a budget of its own; requests without one share their address's, which is the failed-
    // authentication limit on /api/ (the open pages, /openapi.json and /docs, get the ordinary budget).
    keyGenerator: (req) =>
      req.principal
        ? `token:${req.principal.tokenId}`
        : `${isApiRoute(req) ? 'unauthenticated' : 'open'}:${normalizeIP(req.ip, 64)}`,
    max: async (_req, key) => (key.startsWith('unauthenticated:') ? failureLimit : perMinute),
    errorResponseBuilder: (req, context) =>
      new HttpError(
        429,
        'ATTUNE_API_RATE_LIMITED',
        req.principal || !isApiRoute(req)
          ? `Too many requests; try again in ${context.after}.`
          : `Too many requests without a valid token from this address; try again in ${context.after}.`,
      ),
  });
  // Runs after the rate limit (a route's own onRequest hooks come after the global ones, the limit's first).
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/api/')) return;
    const hooks =
      route.onRequest === undefined
        ? []
        : Array.isArray(route.onRequest)
          ? route.onRequest
          : [route.onRequest];
    route.onRequest = [...hooks, requireAuthentication];
  });
}

/**
 * Refuses a request whose token lacks `scope`: 403, or with `hide` 404, so that a caller who may not see a resource
 * learns nothing about whether it exists.
 */
export function need(req: FastifyRequest, scope: Scope, hide = false): void {
  if (!req.principal || !hasScope(req.principal, scope)) {
    if (hide) throw new HttpError(404, 'ATTUNE_API_NOT_FOUND', 'Not found.');
    throw new HttpError(403, 'ATTUNE_API_FORBIDDEN', `This token lacks the ${scope} scope.`);
  }
}

/** Whether the caller's token holds `scope`. */
export function may(principal: Principal | undefined, scope: Scope): boolean {
  return principal !== undefined && hasScope(principal, scope);
}
