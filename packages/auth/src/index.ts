/**
 * `@attune/auth`: bearer tokens of the HTTP API — the store of `attune.api_token`, the token service (create once,
 * list, revoke, verify in constant time) and scopes. See docs/api.md#authentication.
 */
export { TokenError } from './errors.js';
export { hasScope, type Principal, SCOPES, type Scope } from './scopes.js';
export { toTokenResource } from './token-dto.js';
export { TOKEN_PREFIX, TokenService } from './token-service.js';
export { type TokenRecord, type TokenRow, TokenStore } from './token-store.js';
