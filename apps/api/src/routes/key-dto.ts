import type { Principal } from '@attune/auth';
import type { KeyRecord, KeyVersionRecord } from '@attune/secrets';
import { may } from '../plugins/auth.js';

/** The ETag of a key: its current version (a write may send it back as If-Match for check-and-set). */
export function etag(k: KeyRecord): string {
  return `"${k.version}"`;
}

/**
 * The answer to a write: it never holds a value the token could not read otherwise — only the value the request
 * itself sent, or a plain value when the token may read keys.
 */
export function writeAnswer(k: KeyRecord, sentValue: boolean, principal: Principal | undefined) {
  const dto = keyDto(k);
  const readable = sentValue || may(principal, 'keys:read');
  return readable ? dto : { ...dto, value: null };
}

export function keyDto(k: KeyRecord) {
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
  };
}

/** A version on the wire (docs/api.md#versions). */
export function keyVersionDto(v: KeyVersionRecord) {
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
    value: v.value,
  };
}
