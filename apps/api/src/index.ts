/** `@attune/api`: the HTTP API over keys (secrets), packs, actions and executions. Reference: docs/api.md. */
export { buildApi } from './app.js';
export { type ApiDependencies, type ApiLimits, type ApiServices, createApiServices } from './dependencies.js';
export { openApiDocument } from './openapi-document.js';
export { startApi } from './start.js';
