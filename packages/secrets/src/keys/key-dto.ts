import type { KeyPage, KeyRecord, KeyVersionRecord } from './key-types.js';

/**
 * A key on the wire: the API's answers and `attune key … --json` print this one shape (snake_case, times in ISO 8601
 * once serialised). The value only as the caller may see it (null for an encrypted key read without decrypting).
 */
export function toKeyResource(k: KeyRecord) {
  return {
    id: k.id,
    ref: k.ref,
    owner_type: k.ownerType,
    owner_pack: k.ownerPack,
    owner_action: k.ownerAction,
    name: k.name,
    env_name: k.envName,
    value: k.value,
    encrypted: k.encrypted,
    encryption_key_hash: k.encryptionKeyHash,
    created: k.created,
    updated: k.updated,
    version: k.version,
    data_key: k.dataKey,
    max_versions: k.maxVersions,
    deleted_at: k.deletedAt,
    expires_at: k.expiresAt,
  };
}

/** A page of keys on the wire (`GET /api/v1/keys`, `attune key list --json`). */
export function toKeyPageResource(page: KeyPage) {
  return {
    data: page.items.map(toKeyResource),
    pagination: {
      page: page.page,
      per_page: page.perPage,
      total: page.total,
      total_pages: Math.ceil(page.total / page.perPage),
    },
  };
}

/** A version on the wire (docs/api.md#versions; `attune key versions|get --version … --json`). */
export function toKeyVersionResource(v: KeyVersionRecord) {
  return {
    version: v.version,
    current: v.current,
    origin: v.origin,
    source_version: v.sourceVersion,
    actor: v.actor,
    created: v.created,
    value_type: v.valueType,
    encrypted: v.encrypted,
    encryption_key_hash: v.encryptionKeyHash,
    data_key: v.dataKey,
    destroyed_at: v.destroyedAt,
    expires_at: v.expiresAt,
    value: v.value,
  };
}
