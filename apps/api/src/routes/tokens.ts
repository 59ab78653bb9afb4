import { type TokenService, toTokenResource } from '@attune/auth';
import type { FastifyInstance } from 'fastify';
import { need } from '../plugins/auth.js';
import * as s from '../schemas.js';

const errors = s.errorResponses;

/**
 * `/api/v1/tokens`: API tokens, for an `admin` token only (docs/api.md#tokens) — what `attune token` does in remote
 * mode. A new token is answered once, at creation; only its hash is stored.
 */
export function registerTokenRoutes(app: FastifyInstance, tokens: TokenService): void {
  app.post<{ Body: { name: string; scopes: string[] } }>(
    '/api/v1/tokens',
    {
      schema: {
        tags: ['tokens'],
        operationId: 'createToken',
        summary: 'Create a token; the answer is the only time it is shown (scope admin)',
        body: s.createTokenBody,
        response: { 201: s.createdTokenDto, ...errors },
      },
    },
    async (req, reply) => {
      const actor = need(req, 'admin');
      const { token, record } = await tokens.create(actor, req.body.name, req.body.scopes);
      return reply.code(201).send({ data: { token, ...toTokenResource(record) } });
    },
  );

  app.get(
    '/api/v1/tokens',
    {
      schema: {
        tags: ['tokens'],
        operationId: 'listTokens',
        summary: 'List tokens, never the tokens themselves (scope admin)',
        response: { 200: s.tokenListDto, ...errors },
      },
    },
    async (req) => {
      const actor = need(req, 'admin');
      return { data: (await tokens.list(actor)).map(toTokenResource) };
    },
  );

  app.delete<{ Params: { name: string } }>(
    '/api/v1/tokens/:name',
    {
      schema: {
        tags: ['tokens'],
        operationId: 'revokeToken',
        summary: 'Revoke the active token with this name (scope admin)',
        params: s.tokenNameParams,
        response: { 200: s.tokenDto, ...errors },
      },
    },
    async (req) => {
      const actor = need(req, 'admin');
      return { data: toTokenResource(await tokens.revoke(actor, req.params.name)) };
    },
  );
}
