import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/**
 * The OpenAPI document, built by @fastify/swagger from the routes' own JSON schemas (so it cannot drift from what is
 * enforced), served at /openapi.json, with Swagger UI at /docs.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Attune secrets API',
        version: '1.0.0',
        description:
          'Keys (secrets) and their versions, packs, actions, executions, who used which secret, and the audit log. See docs/api.md.',
        license: { name: 'UNLICENSED' },
      },
      // `attune api` listens here by default (api.host, api.port); a client sets its own base URL.
      servers: [{ url: 'http://127.0.0.1:8080', description: 'attune api, default address' }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
