import helmet from '@fastify/helmet';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { ApiDependencies } from './dependencies.js';
import { registerAuthentication, requireAuthenticationOnApiRoutes } from './plugins/auth.js';
import { registerErrorHandler } from './plugins/error-handler.js';
import { acceptJsonAsFormBody } from './plugins/json-body.js';
import { registerOpenApi } from './plugins/openapi.js';
import { registerRateLimit } from './plugins/rate-limit.js';
import { registerActionRoutes } from './routes/actions.js';
import { registerAuditRoutes } from './routes/audit.js';
import { registerExecutionRoutes } from './routes/executions.js';
import { registerKeyVersionRoutes } from './routes/key-versions.js';
import { registerKeyRoutes } from './routes/keys.js';
import { registerPackRoutes } from './routes/packs.js';
import { registerTokenRoutes } from './routes/tokens.js';
import { registerUsageRoutes } from './routes/usage.js';

/**
 * Builds the HTTP API (docs/api.md): plugins for what every route shares (JSON bodies, security headers, OpenAPI,
 * authentication, rate limits, errors), then one route module per resource, each calling its service. Requests are
 * validated by their JSON schemas, authenticated by bearer token, authorised by scope; bad input never writes
 * anything and never yields a 500.
 */
export async function buildApi(deps: ApiDependencies): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'api' }) as unknown as FastifyBaseLogger,
    bodyLimit: deps.maxBodyBytes,
    ...(deps.trustedProxies?.length ? { trustProxy: [...deps.trustedProxies] } : {}),
    // No type coercion: a secrets API must not turn null into "" or "1" into 1. Query strings are parsed by hand.
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false },
    },
  });
  acceptJsonAsFormBody(app);
  await app.register(helmet, { contentSecurityPolicy: false, global: true });
  await registerOpenApi(app);
  // The audit log's sealer. Registered before the authentication plugin: onClose hooks run in reverse order, so the
  // last window of failed authentications is written first, then sealed.
  const sealer = deps.auditSealer;
  if (sealer) {
    app.addHook('onReady', async () => sealer.start());
    app.addHook('onClose', async () => sealer.stop());
  }
  // Order matters: identify the caller, count it against its budget, then refuse the unauthenticated.
  registerAuthentication(app, deps.tokens, deps.authFailures);
  await registerRateLimit(app, {
    perMinute: deps.rateLimitPerMinute ?? 600,
    authFailuresPerMinute: deps.authFailureLimit ?? 20,
  });
  requireAuthenticationOnApiRoutes(app);
  registerErrorHandler(app);

  registerKeyRoutes(app, deps.keys);
  registerKeyVersionRoutes(app, deps.keys);
  registerPackRoutes(app, deps.packs);
  registerActionRoutes(app, deps.packs);
  registerExecutionRoutes(app, deps.executions);
  registerAuditRoutes(app, deps.audit);
  registerTokenRoutes(app, deps.tokens);
  registerUsageRoutes(app, deps.usage);
  return app;
}
