import type { PackService } from '@attune/registry';
import { declaredSecretsOf } from '@attune/secrets';
import type { FastifyInstance } from 'fastify';
import { actorOf } from '../plugins/auth.js';
import * as s from '../schemas.js';

/** `/api/v1/actions`: registered actions, for any valid token (docs/api.md#packs-and-actions). */
export function registerActionRoutes(app: FastifyInstance, packs: Pick<PackService, 'listActions'>): void {
  app.get<{ Querystring: { pack?: string } }>(
    '/api/v1/actions',
    {
      schema: {
        tags: ['packs'],
        operationId: 'listActions',
        summary: 'List actions, optionally of one pack (any valid token)',
        querystring: s.listActionsQuery,
        response: { 200: s.actionListDto, ...s.errorResponses },
      },
    },
    async (req) => {
      const actions = await packs.listActions(actorOf(req), { pack: req.query.pack });
      return {
        data: actions.map((a) => ({
          id: a.id,
          ref: a.ref,
          runner_type: a.runnerType,
          entry_point: a.entryPoint,
          parameters: a.parameters,
          timeout: a.timeoutSeconds,
          secrets: declaredSecretsOf(a.expectedSecrets),
          secrets_policy: a.secretsPolicy,
          secrets_delivery: a.secretsDelivery,
          secrets_file_format: a.secretsFileFormat,
          network: a.network,
        })),
      };
    },
  );
}
