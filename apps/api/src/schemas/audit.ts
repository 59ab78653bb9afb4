/** Schemas of the API (docs/api.md): the audit log. */
import { cursorPageOf, listOf, ref } from './common.js';

export const auditQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ref: { ...ref, description: 'Events of this key ref.' },
    actor: {
      type: 'string',
      minLength: 1,
      maxLength: 200,
      description: 'Events of this actor (token name, user@host…).',
    },
    action: { type: 'string', pattern: '^[a-z_]+\\.[a-z_]+$', description: 'e.g. key.decrypted' },
    from: { type: 'string', maxLength: 40, description: 'ISO 8601; events at or after it.' },
    to: { type: 'string', maxLength: 40, description: 'ISO 8601; events before it.' },
    before: {
      type: 'string',
      pattern: '^[1-9][0-9]{0,18}$',
      description: 'Cursor: events older than this id.',
    },
    limit: { type: 'string', pattern: '^([1-9][0-9]{0,2}|1000)$', description: '1–1000 (default 100).' },
  },
} as const;

export const auditHashBody = {
  type: 'object',
  additionalProperties: false,
  required: ['value'],
  properties: {
    value: { type: 'string', minLength: 1, description: 'The string to look up; never recorded.' },
  },
} as const;

const auditEventDto = {
  type: 'object',
  description: 'An audit event; never a value, nor a value HMAC.',
  properties: {
    id: { type: 'string' },
    at: { type: 'string', format: 'date-time' },
    actor: {
      type: 'object',
      properties: { type: { type: 'string' }, id: { type: 'string' }, name: { type: 'string' } },
    },
    source: { type: ['string', 'null'] },
    request_id: { type: ['string', 'null'] },
    action: { type: 'string' },
    ref: { type: ['string', 'null'] },
    version: { type: ['integer', 'null'] },
    outcome: { type: 'string', enum: ['ok', 'refused', 'failed'] },
    detail: { type: 'object', additionalProperties: true },
    hash: { type: ['string', 'null'], description: 'Null until the event is sealed into the chain.' },
  },
} as const;

export const auditPageDto = cursorPageOf(auditEventDto);

export const auditEventsDto = listOf(auditEventDto);
