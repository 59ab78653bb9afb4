/** Schemas of the API (docs/api.md): API tokens. */
import { listOf } from './common.js';

const tokenResource = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    scopes: { type: 'array', items: { type: 'string' } },
    created: { type: 'string', format: 'date-time' },
    last_used_at: { type: ['string', 'null'], format: 'date-time' },
    revoked_at: { type: ['string', 'null'], format: 'date-time' },
  },
} as const;

export const createTokenBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'scopes'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 64 },
    scopes: { type: 'array', minItems: 1, maxItems: 16, items: { type: 'string', maxLength: 32 } },
  },
} as const;

export const tokenNameParams = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;

export const createdTokenDto = {
  type: 'object',
  properties: {
    data: {
      type: 'object',
      properties: { token: { type: 'string', description: 'Shown this once.' }, ...tokenResource.properties },
    },
  },
} as const;

export const tokenDto = { type: 'object', properties: { data: tokenResource } } as const;

export const tokenListDto = listOf(tokenResource);
