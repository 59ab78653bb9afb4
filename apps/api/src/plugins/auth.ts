import type { AuthFailureRecorder } from '@attune/audit';
import { hasScope, type Principal, type Scope, type TokenService } from '@attune/auth';
import { type Actor, AttuneError, tokenActor } from '@attune/core';
import { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/**
 * Whether the request matched an API route. Decided on the route Fastify matched, not the raw URL, so that no
 * spelling of a path (`//api/…`, `%2Fapi`, a query string) is treated differently from the route it reaches.
 */
export function isApiRoute(req: FastifyRequest): boolean {
  return req.routeOptions.url?.startsWith('/api/') === true;
}

/**
 * Authentication (docs/api.md#authentication): identifies the caller of every /api/ route by its bearer token,
 * before the rate limit counts it ({@link registerRateLimit}); {@link requireAuthentication} then refuses the
 * unauthenticated, so that an address sending bad tokens is limited while valid tokens from it keep working.
 */
export function registerAuthentication(
  app: FastifyInstance,
  tokens: Pick<TokenService, 'verify'>,
  failures?: Pick<AuthFailureRecorder, 'record' | 'flush'>,
): void {
  app.addHook('onRequest', async (req) => {
    if (!isApiRoute(req)) return;
    const header = req.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    const principal = token ? await tokens.verify(token) : null;
    if (principal) req.principal = principal;
    // Counted here, before the rate limit, so that refused floods are recorded too (aggregated: docs/audit.md). An IPv6
    // client is counted by its /64, as the rate limit counts it: one host cannot fill the table with its addresses.
    else failures?.record(normalizeIP(req.ip, 64), token ? 'invalid_token' : 'missing_token');
  });
  if (failures) app.addHook('onClose', async () => failures.flush());
}

/** Refuses an /api/ request without a valid token (after the rate limit has counted it). */
export function requireAuthenticationOnApiRoutes(app: FastifyInstance): void {
  // A route's own onRequest hooks run after the global ones, the limit's first.
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

async function requireAuthentication(req: FastifyRequest): Promise<void> {
  if (req.principal) return;
  const header = req.headers.authorization;
  throw new AttuneError({
    code: 'ATTUNE_API_UNAUTHENTICATED',
    category: 'unauthenticated',
    message: header?.startsWith('Bearer ')
      ? 'The bearer token is not valid.'
      : 'Send Authorization: Bearer <token>.',
  });
}

/**
 * Refuses a request whose token lacks `scope`: 403, or with `hide` 404, so that a caller who may not see a resource
 * learns nothing about whether it exists. Returns the request's actor for the service call that follows.
 */
export function need(req: FastifyRequest, scope: Scope, hide = false): Actor {
  if (!req.principal || !hasScope(req.principal, scope)) {
    if (hide)
      throw new AttuneError({ code: 'ATTUNE_API_NOT_FOUND', category: 'not_found', message: 'Not found.' });
    throw new AttuneError({
      code: 'ATTUNE_API_FORBIDDEN',
      category: 'denied',
      message: `This token lacks the ${scope} scope.`,
    });
  }
  return requestActor(req);
}

/** The actor of an authenticated request (every /api/ route has one). */
export function actorOf(req: FastifyRequest): Actor {
  if (!req.principal)
    throw new AttuneError({
      code: 'ATTUNE_API_UNAUTHENTICATED',
      category: 'unauthenticated',
      message: 'Send Authorization: Bearer <token>.',
    });
  return requestActor(req);
}

/** The actor of a request: its token, client address and request id (what the audit log records). */
function requestActor(req: FastifyRequest): Actor {
  const principal = req.principal as Principal;
  return { ...tokenActor(principal.tokenId, principal.name), source: req.ip, requestId: String(req.id) };
}

/** Whether the caller's token holds `scope`. */
export function may(principal: Principal | undefined, scope: Scope): boolean {
  return principal !== undefined && hasScope(principal, scope);
}
