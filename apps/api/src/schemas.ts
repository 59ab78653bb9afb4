/**
 * One JSON schema per route: Fastify validates requests with them, and @fastify/swagger builds the OpenAPI document
 * from the same objects, so the documentation cannot drift from what is enforced.
 */
const ref = {
  type: 'string',
  minLength: 1,
  maxLength: 255,
  pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]*$',
} as const;
const name = {
  type: 'string',
  minLength: 1,
  maxLength: 128,
  pattern: '^[A-Za-z0-9_][A-Za-z0-9_-]*$',
} as const;
const id = { type: 'integer', minimum: 1, maximum: 2147483647 } as const;
/** A pack or action in a query string: its id or its ref (ids above 2^31 − 1 are refused by the route). */
const idOrRefQuery = { ...ref } as const;
const secretValue = {
  description: 'A string, or structured JSON (object, array, number, boolean).',
  anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }, { type: 'object' }, { type: 'array' }],
} as const;

export const errorResponse = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string' },
        category: {
          type: 'string',
          description: 'Decides the status and the CLI exit code (docs/api.md#errors).',
        },
        message: { type: 'string' },
        field: { type: 'string' },
      },
      required: ['code', 'message'],
    },
  },
} as const;

/** The error answers every route documents (docs/api.md#errors). */
export const errorResponses = {
  400: errorResponse,
  401: errorResponse,
  403: errorResponse,
  404: errorResponse,
  409: errorResponse,
  413: errorResponse,
  429: errorResponse,
};

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
  },
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

export const createExecutionBody = {
  type: 'object',
  additionalProperties: false,
  required: ['action_ref'],
  properties: { action_ref: ref, parameters: { type: 'object', default: {} } },
} as const;

export const executionParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: '^[1-9][0-9]{0,18}$' } },
} as const;

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

const cursor = { type: 'string', pattern: '^[1-9][0-9]{0,18}$' } as const;
const limit = {
  type: 'string',
  pattern: '^([1-9][0-9]{0,2}|1000)$',
  description: '1–1000 (default 100).',
} as const;

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

export const versionExecutionsDto = {
  type: 'object',
  properties: { data: { type: 'array', items: secretUse }, next: { type: ['string', 'null'] } },
} as const;

export const unusedKeysDto = {
  type: 'object',
  properties: {
    data: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          ref: { type: 'string' },
          level: { type: 'string' },
          created: { type: 'string', format: 'date-time' },
          last_used_at: { type: ['string', 'null'], format: 'date-time' },
        },
      },
    },
  },
} as const;

export const listActionsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { pack: { ...ref, maxLength: 64, description: 'Pack ref.' } },
} as const;

/** Any JSON value (parameters, results, a structured secret value). */
const anyJson = {} as const;

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

export const packListDto = {
  type: 'object',
  properties: {
    data: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          id: { type: 'integer' },
          ref: { type: 'string' },
          label: { type: 'string' },
          version: { type: 'string' },
          description: { type: ['string', 'null'] },
        },
      },
    },
  },
} as const;

export const actionListDto = {
  type: 'object',
  properties: {
    data: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          id: { type: 'integer' },
          ref: { type: 'string' },
          runner_type: { type: 'string' },
          entry_point: { type: 'string' },
          parameters: anyJson,
          timeout: { type: 'integer' },
          secrets: {
            type: 'array',
            description: 'The secrets the action declares.',
            items: {
              type: 'object',
              properties: { name: { type: 'string' }, required: { type: 'boolean' } },
              required: ['name', 'required'],
            },
          },
          secrets_policy: {
            type: ['string', 'null'],
            enum: ['all', 'declared', null],
            description:
              "The action's own policy, else its pack's; null: the worker's (worker.secrets_policy).",
          },
          secrets_delivery: { type: 'string', enum: ['env', 'file', 'stdin'] },
          secrets_file_format: { type: ['string', 'null'], enum: ['json', 'dotenv', null] },
          network: { type: 'boolean' },
        },
      },
    },
  },
} as const;

export const executionRequestedDto = {
  type: 'object',
  properties: {
    data: {
      type: 'object',
      properties: { id: { type: 'string' }, action_ref: { type: 'string' }, status: { type: 'string' } },
    },
  },
} as const;

const warningDto = {
  type: 'object',
  properties: { kind: { type: 'string' }, ref: { type: 'string' }, message: { type: 'string' } },
} as const;

const secretReceivedDto = {
  type: 'object',
  description: 'The provenance of one secret the execution received; never a value.',
  properties: {
    env_name: { type: 'string' },
    ref: { type: 'string' },
    level: { type: 'string', enum: ['system', 'pack', 'action'] },
    version: { type: 'integer' },
    key_hash: { type: ['string', 'null'] },
    data_key: { type: ['string', 'null'] },
    overrides: { type: 'array', items: { type: 'string' } },
  },
} as const;

export const executionDto = {
  type: 'object',
  properties: {
    data: {
      type: 'object',
      properties: {
        id: { type: 'string' },
        action_ref: { type: 'string' },
        status: { type: 'string' },
        parameters: anyJson,
        result: anyJson,
        stdout: { type: ['string', 'null'] },
        stderr: { type: ['string', 'null'] },
        stdout_truncated: { type: 'boolean' },
        stderr_truncated: { type: 'boolean' },
        exit_code: { type: ['integer', 'null'] },
        duration_ms: { type: ['integer', 'null'] },
        warnings: { type: 'array', items: warningDto },
        secrets: { type: 'array', items: secretReceivedDto },
        worker_id: { type: ['string', 'null'] },
        created: { type: 'string', format: 'date-time' },
        started_at: { type: ['string', 'null'], format: 'date-time' },
        finished_at: { type: ['string', 'null'], format: 'date-time' },
      },
    },
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

export const auditPageDto = {
  type: 'object',
  properties: { data: { type: 'array', items: auditEventDto }, next: { type: ['string', 'null'] } },
} as const;

export const auditEventsDto = {
  type: 'object',
  properties: { data: { type: 'array', items: auditEventDto } },
} as const;

export const noContent = { type: 'null', description: 'No content.' } as const;

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

export const tokenListDto = {
  type: 'object',
  properties: { data: { type: 'array', items: tokenResource } },
} as const;
