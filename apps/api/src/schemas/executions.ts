/** Schemas of the API (docs/api.md): executions. */
import { anyJson, ref } from './common.js';

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
