/** Schemas of the API (docs/api.md): packs and actions. */
import { anyJson, listOf, ref } from './common.js';

export const listActionsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { pack: { ...ref, maxLength: 64, description: 'Pack ref.' } },
} as const;

export const packListDto = listOf({
  type: 'object',
  properties: {
    id: { type: 'integer' },
    ref: { type: 'string' },
    label: { type: 'string' },
    version: { type: 'string' },
    description: { type: ['string', 'null'] },
  },
});

export const actionListDto = listOf({
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
      description: "The action's own policy, else its pack's; null: the worker's (worker.secrets_policy).",
    },
    secrets_delivery: { type: 'string', enum: ['env', 'file', 'stdin'] },
    secrets_file_format: { type: ['string', 'null'], enum: ['json', 'dotenv', null] },
    network: { type: 'boolean' },
  },
});
