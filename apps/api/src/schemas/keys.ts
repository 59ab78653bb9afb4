/** Schemas of the API (docs/api.md): keys and their versions. */
import { id, idOrRefQuery, name, ref, secretValue } from './common.js';

export const keyDto = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    ref: { type: 'string' },
    owner_type: { type: 'string', enum: ['system', 'pack', 'action'] },
    owner_pack: { type: ['integer', 'null'] },
    owner_action: { type: ['integer', 'null'] },
    name: { type: 'string' },
    env_name: { type: 'string' },
    value: { description: 'Plaintext; null for an encrypted key unless decrypted.' },
    encrypted: { type: 'boolean' },
    encryption_key_hash: { type: ['string', 'null'] },
    created: { type: 'string', format: 'date-time' },
    updated: { type: 'string', format: 'date-time' },
    version: { type: 'integer', description: 'The current version (also the ETag).' },
    data_key: {
      type: ['object', 'null'],
      properties: { id: { type: 'integer' }, version: { type: 'integer' } },
      description: 'The data key that encrypts the current value (docs/encryption.md#envelope-encryption).',
    },
    max_versions: { type: ['integer', 'null'], description: 'Versions kept; null: secrets.max_versions.' },
    deleted_at: { type: ['string', 'null'], format: 'date-time', description: 'Set while soft-deleted.' },
    expires_at: {
      type: ['string', 'null'],
      format: 'date-time',
      description:
        'When the current value expires (docs/secrets-management.md#expiry): not delivered to actions after it (but within secrets.expiry_grace, with a warning); null: never.',
    },
  },
} as const;

/** When a value expires: an ISO 8601 time in the future, or null (never). */
const expiresAt = {
  type: ['string', 'null'],
  maxLength: 64,
  description:
    'When the value expires (ISO 8601 with a time zone, on a day that exists, in the future); null or absent: never. Expired secrets are not delivered to actions (but within secrets.expiry_grace, with a warning), and are never deleted by expiry.',
} as const;

/** Versions kept for a secret (null: the configured default, `secrets.max_versions`). */
const maxVersions = { type: ['integer', 'null'], minimum: 1, maximum: 1000 } as const;

/** A version number. */
const versionNumber = { type: 'integer', minimum: 1, maximum: 2147483647 } as const;

export const keyVersionDto = {
  type: 'object',
  properties: {
    version: { type: 'integer' },
    current: { type: 'boolean' },
    origin: { type: 'string', enum: ['create', 'update', 'rollback', 'migration'] },
    source_version: { type: ['integer', 'null'] },
    actor: {
      type: 'object',
      properties: { type: { type: 'string' }, id: { type: 'string' }, name: { type: 'string' } },
    },
    created: { type: 'string', format: 'date-time' },
    value_type: { type: 'string', enum: ['string', 'json'] },
    encrypted: { type: 'boolean' },
    encryption_key_hash: { type: ['string', 'null'] },
    data_key: {
      type: ['object', 'null'],
      properties: { id: { type: 'integer' }, version: { type: 'integer' } },
    },
    destroyed_at: { type: ['string', 'null'], format: 'date-time' },
    expires_at: { type: ['string', 'null'], format: 'date-time', description: 'When this value expires.' },
    value: { description: 'Only with ?decrypt=true (or for a plain value); null once destroyed.' },
  },
} as const;

export const keyVersionParams = {
  type: 'object',
  required: ['ref', 'version'],
  properties: { ref, version: { type: 'string', pattern: '^[1-9][0-9]{0,9}$' } },
} as const;

export const rollbackBody = {
  type: 'object',
  additionalProperties: false,
  required: ['version'],
  properties: {
    version: { ...versionNumber, description: 'The version whose value becomes current again.' },
    expected_version: { ...versionNumber, description: 'Check-and-set: the version the key must be at now.' },
  },
} as const;

export const destroyVersionsBody = {
  type: 'object',
  additionalProperties: false,
  required: ['versions'],
  properties: { versions: { type: 'array', minItems: 1, maxItems: 1000, items: versionNumber } },
} as const;

export const deleteKeyQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    purge: {
      type: 'string',
      enum: ['true', 'false'],
      description: 'true: delete the key and every version for good (default: soft delete).',
    },
  },
} as const;

export const createKeyBody = {
  type: 'object',
  additionalProperties: false,
  required: ['owner_type', 'name', 'value'],
  properties: {
    ref: {
      ...ref,
      description: 'Unique ref; defaults to system.<name>, <pack ref>.<name> or <action ref>.<name>.',
    },
    owner_type: { type: 'string', enum: ['system', 'pack', 'action'] },
    owner_pack: { ...id, description: "The owning pack's id (the seed's form)." },
    owner_pack_ref: { ...ref, description: "The owning pack's ref." },
    owner_action: { ...id, description: "The owning action's id." },
    owner_action_ref: { ...ref, description: "The owning action's ref." },
    name,
    value: secretValue,
    encrypted: { type: 'boolean', default: false },
    max_versions: maxVersions,
    expires_at: expiresAt,
  },
} as const;

/** `PUT /api/v1/keys`: create or write the next version (`KeyService.set`); check-and-set with `expected_version`. */
export const setKeyBody = {
  ...createKeyBody,
  properties: {
    ...createKeyBody.properties,
    encrypted: { type: 'boolean' },
    expected_version: {
      type: 'integer',
      minimum: 1,
      description: 'Write only if the key is at this version.',
    },
  },
} as const;

export const updateKeyBody = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    value: secretValue,
    encrypted: { type: 'boolean' },
    max_versions: maxVersions,
    expires_at: {
      ...expiresAt,
      description:
        'When the value expires (ISO 8601, in the future), or null: never. With a new value, absent means never; without one, changes the current value’s expiry (no new version).',
    },
    expected_version: {
      ...versionNumber,
      description:
        'Check-and-set: the version the key must be at (or send If-Match); else 409, nothing written.',
    },
  },
} as const;

export const keyRefParams = { type: 'object', required: ['ref'], properties: { ref } } as const;

export const listKeysQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    owner_type: { type: 'string', enum: ['system', 'pack', 'action'] },
    owner_pack: { ...idOrRefQuery, description: 'Pack id or ref.' },
    owner_action: { ...idOrRefQuery, description: 'Action id or ref.' },
    page: { type: 'string', pattern: '^[1-9][0-9]{0,8}$', description: '1-based page (default 1).' },
    per_page: {
      type: 'string',
      pattern: '^([1-9][0-9]{0,2}|1000)$',
      description: 'Page size, 1–1000 (default 50).',
    },
    deleted: { type: 'string', enum: ['true', 'false'], description: 'true: soft-deleted keys too.' },
    expiring: {
      type: 'string',
      pattern: '^[0-9]{1,9}[smhdw]$',
      description: 'Only keys whose value expires within this time and has not yet (e.g. 7d), soonest first.',
    },
    expired: {
      type: 'string',
      enum: ['true', 'false'],
      description: 'true: only keys whose value has expired (with expiring: those too), soonest first.',
    },
  },
} as const;

export const getKeyQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    decrypt: {
      type: 'string',
      enum: ['true', 'false'],
      description: 'true: return the plaintext (needs keys:decrypt).',
    },
  },
} as const;

export const keyPageDto = {
  type: 'object',
  properties: {
    data: { type: 'array', items: keyDto },
    pagination: {
      type: 'object',
      properties: {
        page: { type: 'integer' },
        per_page: { type: 'integer' },
        total: { type: 'integer' },
        total_pages: { type: 'integer' },
      },
    },
  },
} as const;
