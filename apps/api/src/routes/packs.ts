import type { PackService } from '@attune/registry';
import type { FastifyInstance } from 'fastify';
import { actorOf } from '../plugins/auth.js';
import * as s from '../schemas.js';

/** `/api/v1/packs`: what is registered, for any valid token (docs/api.md#packs-and-actions). */
export function registerPackRoutes(app: FastifyInstance, packs: Pick<PackService, 'listPacks'>): void {
  app.get(
    '/api/v1/packs',
    {
      schema: {
        tags: ['packs'],
        operationId: 'listPacks',
        summary: 'List packs (any valid token)',
        response: { 200: s.packListDto, ...s.errorResponses },
      },
    },
    async (req) => ({ data: await packs.listPacks(actorOf(req)) }),
  );
}
