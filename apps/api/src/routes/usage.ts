import {
  type SecretUsageService,
  toSecretUsageResource,
  toSecretUseResource,
  toUnusedSecretResource,
} from '@attune/executions';
import type { FastifyInstance } from 'fastify';
import { need } from '../plugins/auth.js';
import * as s from '../schemas.js';
import { dateOf } from './query.js';

const errors = s.errorResponses;

/**
 * Who used a secret (docs/audit.md#usage), from the provenance executions store; scope keys:read, never a value:
 * `/api/v1/keys/{ref}/usage`, `/api/v1/keys/{ref}/versions/{version}/executions`, `/api/v1/usage/unused`.
 */
export function registerUsageRoutes(app: FastifyInstance, usage: SecretUsageService): void {
  app.get<{ Params: { ref: string }; Querystring: { from?: string; to?: string } }>(
    '/api/v1/keys/:ref/usage',
    {
      schema: {
        tags: ['usage'],
        operationId: 'getKeyUsage',
        summary: 'A key’s last use, and the actions and versions that used it in a period (scope keys:read)',
        params: s.keyRefParams,
        querystring: s.keyUsageQuery,
        response: { 200: { type: 'object', properties: { data: s.keyUsageDto } }, ...errors },
      },
    },
    async (req) => {
      const actor = need(req, 'keys:read');
      const period: { from?: Date; to?: Date } = {};
      const from = dateOf(req.query.from, 'from');
      const to = dateOf(req.query.to, 'to');
      if (from) period.from = from;
      if (to) period.to = to;
      return { data: toSecretUsageResource(await usage.usage(actor, req.params.ref, period)) };
    },
  );

  app.get<{ Params: { ref: string; version: string }; Querystring: { before?: string; limit?: string } }>(
    '/api/v1/keys/:ref/versions/:version/executions',
    {
      schema: {
        tags: ['usage'],
        operationId: 'listVersionExecutions',
        summary: 'Every execution that received this version of the key, newest first (scope keys:read)',
        params: s.keyVersionParams,
        querystring: s.versionExecutionsQuery,
        response: { 200: s.versionExecutionsDto, ...errors },
      },
    },
    async (req) => {
      const actor = need(req, 'keys:read');
      const page: { before?: string; limit?: number } = {};
      if (req.query.before !== undefined) page.before = req.query.before;
      if (req.query.limit !== undefined) page.limit = Number(req.query.limit);
      const found = await usage.receivedVersion(actor, req.params.ref, Number(req.params.version), page);
      return { data: found.executions.map(toSecretUseResource), next: found.next };
    },
  );

  app.get<{ Querystring: { days: string } }>(
    '/api/v1/usage/unused',
    {
      schema: {
        tags: ['usage'],
        operationId: 'listUnusedKeys',
        summary: 'Keys no execution received for at least N days (scope keys:read)',
        querystring: s.unusedKeysQuery,
        response: { 200: s.unusedKeysDto, ...errors },
      },
    },
    async (req) => {
      const actor = need(req, 'keys:read');
      return { data: (await usage.unused(actor, Number(req.query.days))).map(toUnusedSecretResource) };
    },
  );
}
