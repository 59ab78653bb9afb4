import type { Principal } from '@attune/auth';
import { AttuneError } from '@attune/core';
import type { KeyOwner, KeyRecord, KeyService, SecretValue } from '@attune/secrets';
import type { FastifyInstance } from 'fastify';
import { may, need } from '../plugins/auth.js';
import * as s from '../schemas.js';

const errors = s.errorResponses;

/** `/api/v1/keys`: create, list, read, update, delete (docs/api.md#keys). */
export function registerKeyRoutes(app: FastifyInstance, keys: KeyService): void {
  app.post<{ Body: Record<string, unknown> }>(
    '/api/v1/keys',
    {
      schema: {
        tags: ['keys'],
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
      });
      return reply
        .code(201)
        .send({ data: writeAnswer(record, true, req.principal), message: `Key ${record.ref} created` });
    },
  );

  app.get<{
    Querystring: {
      owner_type?: 'system' | 'pack' | 'action';
      owner_pack?: string;
      owner_action?: string;
      page?: string;
      per_page?: string;
    };
  }>(
    '/api/v1/keys',
    {
      schema: {
        tags: ['keys'],
        summary: 'List keys, without encrypted values (scope keys:read)',
        querystring: s.listKeysQuery,
        response: errors,
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
      });
      return {
        data: page.items.map(keyDto),
        pagination: {
          page: page.page,
          per_page: page.perPage,
          total: page.total,
          total_pages: Math.ceil(page.total / page.perPage),
        },
      };
    },
  );

  app.get<{ Params: { ref: string }; Querystring: { decrypt?: 'true' | 'false' } }>(
    '/api/v1/keys/:ref',
    {
      schema: {
        tags: ['keys'],
        summary: 'Read a key; ?decrypt=true returns the plaintext (scopes keys:read, keys:decrypt)',
        params: s.keyRefParams,
        querystring: s.getKeyQuery,
        response: { 200: { type: 'object', properties: { data: s.keyDto } }, ...errors },
      },
    },
    async (req) => {
      const actor = need(req, 'keys:read', true);
      const decrypt = req.query.decrypt === 'true';
      if (decrypt) need(req, 'keys:decrypt');
      return { data: keyDto(await keys.get(actor, req.params.ref, { decrypt })) };
    },
  );

  app.put<{ Params: { ref: string }; Body: { value?: SecretValue; encrypted?: boolean } }>(
    '/api/v1/keys/:ref',
    {
      schema: {
        tags: ['keys'],
        summary:
          'Change a key’s value and/or encryption (scope keys:write; encrypted:false without a new value stores the plaintext, so it also needs keys:read and keys:decrypt)',
        params: s.keyRefParams,
        body: s.updateKeyBody,
        response: {
          200: { type: 'object', properties: { data: s.keyDto, message: { type: 'string' } } },
          ...errors,
        },
      },
    },
    async (req) => {
      const actor = need(req, 'keys:write');
      // Making an encrypted key plain without a new value stores, and answers, its plaintext: that is a decrypt.
      if (req.body.encrypted === false && req.body.value === undefined) {
        need(req, 'keys:read');
        need(req, 'keys:decrypt');
      }
      const record = await keys.update(actor, req.params.ref, req.body);
      return {
        data: writeAnswer(record, req.body.value !== undefined, req.principal),
        message: `Key ${record.ref} updated`,
      };
    },
  );

  app.delete<{ Params: { ref: string } }>(
    '/api/v1/keys/:ref',
    {
      schema: {
        tags: ['keys'],
        summary: 'Delete a key (scope keys:write)',
        params: s.keyRefParams,
        response: errors,
      },
    },
    async (req, reply) => {
      const actor = need(req, 'keys:write');
      await keys.delete(actor, req.params.ref);
      return reply.code(204).send();
    },
  );
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
 * The answer to a write: it never holds a value the token could not read otherwise — only the value the request
 * itself sent, or a plain value when the token may read keys.
 */
function writeAnswer(k: KeyRecord, sentValue: boolean, principal: Principal | undefined) {
  const dto = keyDto(k);
  const readable = sentValue || may(principal, 'keys:read');
  return readable ? dto : { ...dto, value: null };
}

function keyDto(k: KeyRecord) {
  return {
    id: k.id,
    ref: k.ref,
    owner_type: k.ownerType,
    owner_pack: k.ownerPack,
    owner_action: k.ownerAction,
    name: k.name,
    env_name: k.envName,
    value: k.value,
    encrypted: k.encrypted,
    encryption_key_hash: k.encryptionKeyHash,
    created: k.created,
    updated: k.updated,
  };
}
