/** `@attune/api`: the HTTP API over keys, packs, actions and executions. Reference: docs/api.md. */
export { type ApiDependencies, buildApi } from './server.js';
export { startApi } from './start.js';
