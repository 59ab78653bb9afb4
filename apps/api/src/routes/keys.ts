import { type Actor, AttuneError } from '@attune/core';
import { type KeyOwner, type KeyService, type SecretValue, toKeyPageResource } from '@attune/secrets';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { may, need } from '../plugins/auth.js';
import * as s from '../schemas.js';
import { etag, keyDto, writeAnswer } from './key-dto.js';
import { durationOf, expiryOf } from './query.js';

const errors = s.errorResponses;

/** `/api/v1/keys`: create, list, read, update, delete (docs/api.md#keys). */
export function registerKeyRoutes(app: FastifyInstance, keys: KeyService): void {
  app.post<{ Body: Record<string, unknown> }>(
    '/api/v1/keys',
    {
      schema: {
        tags: ['keys'],
        operationId: 'createKey',
        summary: 'Create a key (scope keys:write)',
        body: s.createKeyBody,
        response: {
          201: { type: 'object', properties: { data: s.keyDto, message: { type: 'string' } } },
          ...errors,
        },
      },
    },
    async (req, reply) => {
      const actor = need(req, 'keys:write');
      const b = req.body;
      const record = await keys.create(actor, {
        ...(b.ref === undefined ? {} : { ref: b.ref as string }),
        owner: ownerOf(b),
        name: b.name as string,
        value: b.value as SecretValue,
        encrypted: b.encrypted as boolean,
        ...(b.max_versions === undefined ? {} : { maxVersions: b.max_versions as number | null }),
        ...expiryInput(b.expires_at),
      });
      return reply
        .code(201)
        .header('etag', etag(record))
        .send({ data: writeAnswer(record, true, req.principal), message: `Key ${record.ref} created` });
    },
  );

  app.put<{ Body: Record<string, unknown> }>(
    '/api/v1/keys',
    {
      schema: {
        tags: ['keys'],
        operationId: 'setKey',
        summary:
          'Create a key, or write its next version if it exists with this owner and name — what `attune key set` does (scope keys:write)',
        body: s.setKeyBody,
        response: {
          200: { type: 'object', properties: { data: s.keyDto, created: { type: 'boolean' } } },
          201: { type: 'object', properties: { data: s.keyDto, created: { type: 'boolean' } } },
          ...errors,
        },
      },
    },
    async (req, reply) => {
      const actor = need(req, 'keys:write');
      const b = req.body;
      const expectedVersion = expectedVersionOf(
        req.headers['if-match'],
        b.expected_version as number | undefined,
      );
      const { key, created } = await keys.set(actor, {
        ...(b.ref === undefined ? {} : { ref: b.ref as string }),
        owner: ownerOf(b),
        name: b.name as string,
        value: b.value as SecretValue,
        ...(b.encrypted === undefined ? {} : { encrypted: b.encrypted as boolean }),
        ...(b.max_versions === undefined ? {} : { maxVersions: b.max_versions as number | null }),
        ...(expectedVersion === undefined ? {} : { expectedVersion }),
        ...expiryInput(b.expires_at),
      });
      return reply
        .code(created ? 201 : 200)
        .header('etag', etag(key))
        .send({ data: writeAnswer(key, true, req.principal), created });
    },
  );

  app.get<{
    Querystring: {
      owner_type?: 'system' | 'pack' | 'action';
      owner_pack?: string;
      owner_action?: string;
      page?: string;
      per_page?: string;
      deleted?: 'true' | 'false';
      expiring?: string;
      expired?: 'true' | 'false';
    };
  }>(
    '/api/v1/keys',
    {
      schema: {
        tags: ['keys'],
        operationId: 'listKeys',
        summary: 'List keys, without encrypted values (scope keys:read)',
        querystring: s.listKeysQuery,
        response: { 200: s.keyPageDto, ...errors },
      },
    },
    async (req) => {
      const actor = need(req, 'keys:read');
      const q = req.query;
      const page = await keys.list(actor, {
        ...(q.owner_type ? { ownerType: q.owner_type } : {}),
        ...(q.owner_pack ? { pack: idOrRef(q.owner_pack) } : {}),
        ...(q.owner_action ? { action: idOrRef(q.owner_action) } : {}),
        page: Number(q.page ?? 1),
        perPage: Number(q.per_page ?? 50),
        deleted: q.deleted === 'true',
        ...(q.expiring === undefined ? {} : { expiringWithinMs: durationOf(q.expiring, 'expiring') }),
        ...(q.expired === 'true' ? { expired: true } : {}),
      });
      return toKeyPageResource(page);
    },
  );

  app.get<{ Params: { ref: string }; Querystring: { decrypt?: 'true' | 'false' } }>(
    '/api/v1/keys/:ref',
    {
      schema: {
        tags: ['keys'],
        operationId: 'getKey',
        summary: 'Read a key; ?decrypt=true returns the plaintext (scopes keys:read, keys:decrypt)',
        params: s.keyRefParams,
        querystring: s.getKeyQuery,
        response: { 200: { type: 'object', properties: { data: s.keyDto } }, ...errors },
      },
    },
    async (req, reply) => {
      const actor = need(req, 'keys:read', true);
      const decrypt = req.query.decrypt === 'true';
      if (decrypt) await needToDecrypt(req, keys, actor, req.params.ref);
      const record = await keys.get(actor, req.params.ref, { decrypt });
      void reply.header('etag', etag(record));
      return { data: keyDto(record) };
    },
  );

  app.put<{
    Params: { ref: string };
    Body: {
      value?: SecretValue;
      encrypted?: boolean;
      max_versions?: number | null;
      expected_version?: number;
      expires_at?: string | null;
    };
  }>(
    '/api/v1/keys/:ref',
    {
      schema: {
        tags: ['keys'],
        operationId: 'updateKey',
        summary:
          'Change a key’s value, encryption, retention and/or expiry (scope keys:write; encrypted:false without a new value stores the plaintext, so it also needs keys:read and keys:decrypt)',
        params: s.keyRefParams,
        body: s.updateKeyBody,
        response: {
          200: { type: 'object', properties: { data: s.keyDto, message: { type: 'string' } } },
          ...errors,
        },
      },
    },
    async (req, reply) => {
      const actor = need(req, 'keys:write');
      // Making an encrypted key plain without a new value stores, and answers, its plaintext: that is a decrypt.
      if (req.body.encrypted === false && req.body.value === undefined) {
        need(req, 'keys:read');
        await needToDecrypt(req, keys, actor, req.params.ref);
      }
      const b = req.body;
      const expectedVersion = expectedVersionOf(req.headers['if-match'], b.expected_version);
      const record = await keys.update(actor, req.params.ref, {
        ...(b.value === undefined ? {} : { value: b.value }),
        ...(b.encrypted === undefined ? {} : { encrypted: b.encrypted }),
        ...(b.max_versions === undefined ? {} : { maxVersions: b.max_versions }),
        ...(expectedVersion === undefined ? {} : { expectedVersion }),
        ...expiryInput(b.expires_at),
      });
      void reply.header('etag', etag(record));
      return {
        data: writeAnswer(record, req.body.value !== undefined, req.principal),
        message: `Key ${record.ref} updated`,
      };
    },
  );

  app.delete<{ Params: { ref: string }; Querystring: { purge?: 'true' | 'false' } }>(
    '/api/v1/keys/:ref',
    {
      schema: {
        tags: ['keys'],
        operationId: 'deleteKey',
        summary:
          'Delete a key: softly (it stops resolving; versions kept; undelete brings it back), or for good with ?purge=true (scope keys:write)',
        params: s.keyRefParams,
        querystring: s.deleteKeyQuery,
        response: { 204: s.noContent, ...errors },
      },
    },
    async (req, reply) => {
      const actor = need(req, 'keys:write');
      await keys.delete(actor, req.params.ref, { purge: req.query.purge === 'true' });
      return reply.code(204).send();
    },
  );

  app.post<{ Params: { ref: string } }>(
    '/api/v1/keys/:ref/undelete',
    {
      schema: {
        tags: ['keys'],
        operationId: 'undeleteKey',
        summary: 'Bring a soft-deleted key back (scope keys:write)',
        params: s.keyRefParams,
        response: {
          200: { type: 'object', properties: { data: s.keyDto, message: { type: 'string' } } },
          ...errors,
        },
      },
    },
    async (req) => {
      const actor = need(req, 'keys:write');
      const record = await keys.undelete(actor, req.params.ref);
      return { data: writeAnswer(record, false, req.principal), message: `Key ${record.ref} undeleted` };
    },
  );
}

/**
 * The version a check-and-set write expects: from `If-Match` ("3", or W/"3") or the body's `expected_version`; both
 * given must agree.
 */
export function expectedVersionOf(header: string | undefined, body: number | undefined): number | undefined {
  if (header === undefined) return body;
  const match = /^\s*(?:W\/)?"?([1-9][0-9]{0,9})"?\s*$/.exec(header);
  if (!match) throw invalid('If-Match must name one version, e.g. If-Match: "3".', 'If-Match');
  const fromHeader = Number(match[1]);
  if (body !== undefined && body !== fromHeader)
    throw invalid('If-Match and expected_version name different versions.', 'expected_version');
  return fromHeader;
}

function ownerOf(b: Record<string, unknown>): KeyOwner {
  const type = b.owner_type as KeyOwner['type'];
  const extra = (names: string[]) => names.filter((n) => b[n] !== undefined);
  if (type === 'system') {
    const given = extra(['owner_pack', 'owner_pack_ref', 'owner_action', 'owner_action_ref']);
    if (given.length) throw invalid(`A system key has no owner; remove ${given.join(', ')}.`, given[0]);
    return { type };
  }
  const [idField, refField, other] =
    type === 'pack'
      ? ['owner_pack', 'owner_pack_ref', ['owner_action', 'owner_action_ref']]
      : ['owner_action', 'owner_action_ref', ['owner_pack', 'owner_pack_ref']];
  const wrong = extra(other as string[]);
  if (wrong.length)
    throw invalid(`A ${type} key takes ${idField} or ${refField}, not ${wrong.join(', ')}.`, wrong[0]);
  const given = b[idField as string] ?? b[refField as string];
  if (given === undefined || (b[idField as string] !== undefined && b[refField as string] !== undefined)) {
    throw invalid(
      `A ${type} key needs exactly one of ${idField} (id) or ${refField} (ref).`,
      idField as string,
    );
  }
  return type === 'pack'
    ? { type, pack: given as number | string }
    : { type: 'action', action: given as number | string };
}

function invalid(message: string, field: string | undefined): AttuneError {
  return new AttuneError({ code: 'ATTUNE_API_INVALID', category: 'invalid', message, field });
}

/** A query's owner: digits are an id (the key service refuses one out of range), anything else a ref. */
function idOrRef(text: string): number | string {
  return /^[0-9]+$/.test(text) ? Number(text) : text;
}

/**
 * Refuses a decrypt without the keys:decrypt scope (403), recording the refusal in the audit log with its actor,
 * address and request id (docs/audit.md#what-is-recorded).
 */
export async function needToDecrypt(
  req: FastifyRequest,
  keys: KeyService,
  actor: Actor,
  ref: string,
  version?: number,
): Promise<void> {
  if (may(req.principal, 'keys:decrypt')) return;
  await keys.recordRefusedDecrypt(actor, ref, 'refused', 'the token lacks the keys:decrypt scope', version);
  need(req, 'keys:decrypt');
}

/** `expires_at` of a body as the key service takes it (absent stays absent). */
function expiryInput(value: unknown): { expiresAt?: Date | null } {
  const expiresAt = expiryOf(value);
  return expiresAt === undefined ? {} : { expiresAt };
}
