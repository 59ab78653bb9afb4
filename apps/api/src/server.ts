import helmet from '@fastify/helmet';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { ApiDependencies } from './dependencies.js';
import { HttpError, sendError } from './http-error.js';
import { registerExecutionRoutes } from './routes/executions.js';
import { registerKeyRoutes } from './routes/keys.js';
import { registerPackRoutes } from './routes/packs.js';
import { registerSecurity } from './security.js';

export type { ApiDependencies } from './dependencies.js';

/**
 * Builds the HTTP API (docs/api.md). Routes are validated by their JSON schemas, authenticated by bearer token,
 * authorised by scope; bad input never writes anything and never yields a 500.
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

  // The seed's curl example sends JSON without a Content-Type (curl -d defaults to form encoding): accept a JSON body
  // under that type too, rather than make the documented example fail.
  // Parsed by Fastify's own JSON parser, so `__proto__` and `constructor.prototype` keys are refused here as they
  // are for application/json.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (req, body, done) =>
    parseJson(req, body as string, (error, value) =>
      error
        ? done(new HttpError(400, 'ATTUNE_API_BAD_JSON', 'The request body is not JSON.'), undefined)
        : done(null, value),
    ),
  );

  await app.register(helmet, { contentSecurityPolicy: false, global: true });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Attune secrets API',
        version: '1.0.0',
        description: 'Keys, packs, actions and executions. See docs/api.md.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await registerSecurity(app, deps);

  app.setErrorHandler((error, req, reply) => sendError(error, req, reply));
  // Unknown paths count against the caller's budget too (the limit's global hook covers matched routes only).
  app.setNotFoundHandler({ preHandler: app.rateLimit() }, (req, reply) => {
    void reply.code(404).send({
      error: { code: 'ATTUNE_API_NOT_FOUND', message: `No route ${req.method} ${req.url.split('?')[0]}.` },
    });
  });

  registerKeyRoutes(app, deps);
  registerPackRoutes(app, deps);
  registerExecutionRoutes(app, deps);
  return app;
}
