/**
 * One JSON schema per route: Fastify validates requests with them, and @fastify/swagger builds the OpenAPI document
 * from the same objects, so the documentation cannot drift from what is enforced.
 */

export * from './schemas/audit.js';
export * from './schemas/common.js';
export * from './schemas/executions.js';
export * from './schemas/keys.js';
export * from './schemas/packs.js';
export * from './schemas/tokens.js';
export * from './schemas/usage.js';
