import type { TokenRecord } from './token-store.js';

/** A token on the wire (`/api/v1/tokens`, `attune token … --json`): never the token itself, never its hash. */
export function toTokenResource(t: TokenRecord) {
  return {
    id: t.id,
    name: t.name,
    scopes: [...t.scopes],
    created: t.created,
    last_used_at: t.lastUsedAt,
    revoked_at: t.revokedAt,
  };
}
