import type { FastifyInstance } from 'fastify';
import type { ApiDependencies } from '../dependencies.js';
import * as s from '../schemas.js';

const errors = s.errorResponses;

/** `/api/v1/packs` and `/api/v1/actions`: what is registered, for any valid token (docs/api.md). */
export function registerPackRoutes(app: FastifyInstance, deps: ApiDependencies): void {
  app.get(
    '/api/v1/packs',
    { schema: { tags: ['packs'], summary: 'List packs (any valid token)', response: errors } },
    async () => {
      const packs = await deps.db.prisma.pack.findMany({ orderBy: { ref: 'asc' } });
      return {
        data: packs.map((p) => ({
          id: p.id,
          ref: p.ref,
          label: p.label,
          version: p.version,
          description: p.description,
        })),
      };
    },
  );

  app.get<{ Querystring: { pack?: string } }>(
    '/api/v1/actions',
    {
      schema: {
        tags: ['packs'],
        summary: 'List actions, optionally of one pack (any valid token)',
        querystring: s.listActionsQuery,
        response: errors,
      },
    },
    async (req) => {
      const actions = await deps.db.prisma.action.findMany({
        where: req.query.pack ? { pack: { ref: req.query.pack } } : {},
        orderBy: { ref: 'asc' },
      });
      return {
        data: actions.map((a) => ({
          id: a.id,
          ref: a.ref,
          runner_type: a.runnerType,
          entry_point: a.entryPoint,
          parameters: a.parameters,
          timeout: a.timeoutSeconds,
          secrets: a.expectedSecrets,
          network: a.network,
        })),
      };
    },
  );
}
