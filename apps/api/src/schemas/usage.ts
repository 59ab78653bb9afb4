/** Schemas of the API (docs/api.md): who used a secret (usage). */
import { cursor, cursorPageOf, limit, listOf } from './common.js';

export const keyUsageQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    from: { type: 'string', maxLength: 40, description: 'ISO 8601; default 30 days before `to`.' },
    to: { type: 'string', maxLength: 40, description: 'ISO 8601; default now.' },
  },
} as const;

export const versionExecutionsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { before: { ...cursor, description: 'Cursor: executions older than this id.' }, limit },
} as const;

export const unusedKeysQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['days'],
  properties: {
    days: {
      type: 'string',
      pattern: '^[1-9][0-9]{0,4}$',
      description: 'Unused for at least this many days.',
    },
  },
} as const;

const secretUse = {
  type: 'object',
  properties: {
    execution_id: { type: 'string' },
    action_ref: { type: 'string' },
    version: { type: 'integer' },
    at: { type: ['string', 'null'], format: 'date-time' },
    status: { type: 'string' },
    worker_id: { type: ['string', 'null'] },
  },
} as const;

export const keyUsageDto = {
  type: 'object',
  properties: {
    ref: { type: 'string' },
    from: { type: 'string', format: 'date-time' },
    to: { type: 'string', format: 'date-time' },
    last_use: { anyOf: [secretUse, { type: 'null' }] },
    actions: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          action_ref: { type: 'string' },
          version: { type: 'integer' },
          executions: { type: 'integer' },
          last_at: { type: 'string', format: 'date-time' },
        },
      },
    },
  },
} as const;

export const versionExecutionsDto = cursorPageOf(secretUse);

export const unusedKeysDto = listOf({
  type: 'object',
  properties: {
    ref: { type: 'string' },
    level: { type: 'string' },
    created: { type: 'string', format: 'date-time' },
    last_used_at: { type: ['string', 'null'], format: 'date-time' },
  },
});
