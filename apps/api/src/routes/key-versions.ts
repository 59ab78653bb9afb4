import type { KeyService } from '@attune/secrets';
import type { FastifyInstance } from 'fastify';
import { need } from '../plugins/auth.js';
import * as s from '../schemas.js';
import { etag, keyDto, keyVersionDto } from './key-dto.js';
import { expectedVersionOf, needToDecrypt } from './keys.js';

const errors = s.errorResponses;

/**
 * `/api/v1/keys/{ref}/versions`, `…/rollback`, `…/versions/destroy`: a key's versions (docs/api.md#versions).
 * Listing answers metadata only; a version's value needs keys:decrypt as the key's does; rolling back needs only
 * keys:write and never answers the value.
 */
export function registerKeyVersionRoutes(app: FastifyInstance, keys: KeyService): void {
  app.get<{ Params: { ref: string } }>(
    '/api/v1/keys/:ref/versions',
    {
      schema: {
        tags: ['keys'],
        operationId: 'listKeyVersions',
        summary: 'List a key’s versions, newest first, without values (scope keys:read)',
        params: s.keyRefParams,
        response: {
          200: { type: 'object', properties: { data: { type: 'array', items: s.keyVersionDto } } },
          ...errors,
        },
      },
    },
    async (req) => {
      const actor = need(req, 'keys:read', true);
      return { data: (await keys.versions.list(actor, req.params.ref)).map(keyVersionDto) };
    },
  );

  app.get<{ Params: { ref: string; version: string }; Querystring: { decrypt?: 'true' | 'false' } }>(
    '/api/v1/keys/:ref/versions/:version',
    {
      schema: {
        tags: ['keys'],
        operationId: 'getKeyVersion',
        summary: 'Read one version; ?decrypt=true returns its plaintext (scopes keys:read, keys:decrypt)',
        params: s.keyVersionParams,
        querystring: s.getKeyQuery,
        response: { 200: { type: 'object', properties: { data: s.keyVersionDto } }, ...errors },
      },
    },
    async (req) => {
      const actor = need(req, 'keys:read', true);
      const decrypt = req.query.decrypt === 'true';
      if (decrypt) await needToDecrypt(req, keys, actor, req.params.ref, Number(req.params.version));
      const version = await keys.versions.get(actor, req.params.ref, Number(req.params.version), { decrypt });
      return { data: keyVersionDto(version) };
    },
  );

  app.post<{ Params: { ref: string }; Body: { version: number; expected_version?: number } }>(
    '/api/v1/keys/:ref/rollback',
    {
      schema: {
        tags: ['keys'],
        operationId: 'rollbackKey',
        summary:
          'Make a version’s value current again, as a new version; answers no value (scope keys:write; If-Match or expected_version for check-and-set)',
        params: s.keyRefParams,
        body: s.rollbackBody,
        response: {
          200: { type: 'object', properties: { data: s.keyDto, message: { type: 'string' } } },
          ...errors,
        },
      },
    },
    async (req, reply) => {
      const actor = need(req, 'keys:write');
      const expectedVersion = expectedVersionOf(req.headers['if-match'], req.body.expected_version);
      const record = await keys.versions.rollback(actor, req.params.ref, req.body.version, {
        ...(expectedVersion === undefined ? {} : { expectedVersion }),
      });
      void reply.header('etag', etag(record));
      return {
        data: { ...keyDto(record), value: null },
        message: `Key ${record.ref} rolled back to the value of version ${req.body.version}, as version ${record.version}`,
      };
    },
  );

  app.post<{ Params: { ref: string }; Body: { versions: number[] } }>(
    '/api/v1/keys/:ref/versions/destroy',
    {
      schema: {
        tags: ['keys'],
        operationId: 'destroyKeyVersions',
        summary: 'Erase the values of versions for good; their metadata stays (scope keys:write)',
        params: s.keyRefParams,
        body: s.destroyVersionsBody,
        response: {
          200: {
            type: 'object',
            properties: {
              data: {
                type: 'object',
                properties: { destroyed: { type: 'array', items: { type: 'integer' } } },
              },
            },
          },
          ...errors,
        },
      },
    },
    async (req) => {
      const actor = need(req, 'keys:write');
      return { data: { destroyed: await keys.versions.destroy(actor, req.params.ref, req.body.versions) } };
    },
  );
}
