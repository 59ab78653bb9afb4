import type { Actor } from '@attune/core';
import type { Keyring } from '../keyring/keyring.js';
import type { SecretValue } from '../stored-value.js';

/** Who owns a secret (docs/secrets-management.md#ownership-hierarchy). Packs and actions by id or by ref. */
export type KeyOwner =
  | { readonly type: 'system' }
  | { readonly type: 'pack'; readonly pack: number | string }
  | { readonly type: 'action'; readonly action: number | string };

/** Owner level of a key. */
export type OwnerType = 'system' | 'pack' | 'action';

/** A secret (a row of `attune.key`) as the key service returns it. `value` is null for an encrypted key unless decryption was asked for. */
export interface KeyRecord {
  readonly id: number;
  readonly ref: string;
  readonly ownerType: OwnerType;
  /** Owning pack's id (pack keys only). */
  readonly ownerPack: number | null;
  /** Owning action's id (action keys only). */
  readonly ownerAction: number | null;
  readonly name: string;
  /** The env var it is injected as: `SECRET_<NAME>`. */
  readonly envName: string;
  readonly value: SecretValue | null;
  readonly encrypted: boolean;
  /**
   * The key hash it was encrypted with, when that is the configured key's (public, docs/encryption.md#key-hash);
   * null otherwise — another key's stored hash may be in the seed's scheme, which is that key itself.
   */
  readonly encryptionKeyHash: string | null;
  readonly created: Date;
  readonly updated: Date;
  /** The number of the current version (docs/secrets-management.md#versions). */
  readonly version: number;
  /** The data key that encrypted the current value (docs/encryption.md#envelope-encryption); null otherwise. */
  readonly dataKey: { readonly id: number; readonly version: number } | null;
  /** Versions kept (null: the configured default, `secrets.max_versions`). */
  readonly maxVersions: number | null;
  /** When it was soft-deleted; null while it resolves. */
  readonly deletedAt: Date | null;
  /** When its current value expires (docs/secrets-management.md#expiry); null: never. */
  readonly expiresAt: Date | null;
}

/** A version of a secret (metadata; `value` only when decryption was asked for, or for a plain value). */
export interface KeyVersionRecord {
  readonly ref: string;
  readonly version: number;
  /** Whether it is the secret's current version. */
  readonly current: boolean;
  /** How it came to be: `create`, `update`, `rollback` (of `sourceVersion`) or `migration`. */
  readonly origin: 'create' | 'update' | 'rollback' | 'migration';
  readonly sourceVersion: number | null;
  readonly actor: Actor;
  readonly created: Date;
  readonly valueType: 'string' | 'json';
  readonly encrypted: boolean;
  readonly encryptionKeyHash: string | null;
  readonly dataKey: { readonly id: number; readonly version: number } | null;
  /** When its value was destroyed; null while it is kept. */
  readonly destroyedAt: Date | null;
  /** When this value expires; null: never. */
  readonly expiresAt: Date | null;
  readonly value: SecretValue | null;
}

/** Input of {@link KeyService.create}. */
export interface CreateKeyInput {
  /** Unique ref; defaults to `system.<name>`, `<pack ref>.<name>` or `<action ref>.<name>`. */
  readonly ref?: string;
  readonly owner: KeyOwner;
  readonly name: string;
  readonly value: SecretValue;
  /** Encrypt with the configured key (default false, as in the seed's API). */
  readonly encrypted?: boolean;
  /** Versions kept (1–1000); default `secrets.max_versions`. */
  readonly maxVersions?: number | null;
  /** Check-and-set (for `set` of an existing secret): the version it must be at, or nothing is written. */
  readonly expectedVersion?: number;
  /** When the value expires (in the future); null or absent: never. */
  readonly expiresAt?: Date | null;
}

/** Input of {@link KeyService.update}: a new value, a change of encryption, or both. */
export interface UpdateKeyInput {
  readonly value?: SecretValue;
  readonly encrypted?: boolean;
  /** Versions kept (1–1000), or null for the configured default. */
  readonly maxVersions?: number | null;
  /** Check-and-set: the version the secret must be at, or nothing is written (`KeyVersionConflictError`). */
  readonly expectedVersion?: number;
  /**
   * When the value expires (in the future), or null: never. With a new `value`, absent means never (expiry belongs
   * to a value); without one, it changes the current value's expiry in place (no new version).
   */
  readonly expiresAt?: Date | null;
}

/** Filter and page of {@link KeyService.list}. */
export interface ListKeysInput {
  readonly ownerType?: OwnerType;
  /** Pack id or ref: pack-owned keys of that pack (with `ownerType` 'pack' or unset). */
  readonly pack?: number | string;
  /** Action id or ref: keys owned by that action. */
  readonly action?: number | string;
  /** 1-based page number (default 1). */
  readonly page?: number;
  /** Page size, 1–1000 (default 50). */
  readonly perPage?: number;
  /** Soft-deleted secrets too (default false). */
  readonly deleted?: boolean;
  /** Only secrets whose value expires within this many milliseconds from now (not yet expired, unless `expired`). */
  readonly expiringWithinMs?: number;
  /** Only secrets whose value has expired (with `expiringWithinMs`: those too). */
  readonly expired?: boolean;
}

/** One page of keys; encrypted values are never included. */
export interface KeyPage {
  readonly items: KeyRecord[];
  readonly total: number;
  readonly page: number;
  readonly perPage: number;
}

/** A row of `attune.key` as the key store reads it, with its data key's identity. */
export interface KeyRow {
  readonly id: number;
  readonly ref: string;
  readonly ownerType: OwnerType;
  readonly ownerPack: number | null;
  readonly ownerAction: number | null;
  readonly name: string;
  readonly envName: string;
  readonly value: unknown;
  readonly valueType: string;
  readonly encrypted: boolean;
  readonly encryptionKeyHash: string | null;
  readonly created: Date;
  readonly updated: Date;
  readonly currentVersion: number;
  readonly dataKeyId: number | null;
  readonly maxVersions: number | null;
  readonly deletedAt: Date | null;
  readonly expiresAt: Date | null;
  readonly dataKey: {
    readonly id: number;
    readonly version: number;
    readonly masterKeyHash: string | null;
  } | null;
}

/**
 * A stored key hash is shown only when it is the hash of a master key of the ring (public,
 * docs/encryption.md#key-hash): a hash in the seed's scheme is a key itself, and one of another key cannot be told
 * apart from that. For an enveloped value it is the hash of the master key that wraps its data key.
 */
function publicKeyHash(stored: string | null, keyring: Keyring): string | null {
  return stored !== null && keyring.keys.some((k) => k.key.keyHash === stored) ? stored : null;
}

/** The record of a row. */
export function toRecord(row: KeyRow, value: SecretValue | null, keyring: Keyring): KeyRecord {
  return {
    id: row.id,
    ref: row.ref,
    ownerType: row.ownerType,
    ownerPack: row.ownerPack,
    ownerAction: row.ownerAction,
    name: row.name,
    envName: row.envName,
    value,
    encrypted: row.encrypted,
    encryptionKeyHash: publicKeyHash(row.encryptionKeyHash ?? row.dataKey?.masterKeyHash ?? null, keyring),
    created: row.created,
    updated: row.updated,
    version: row.currentVersion,
    dataKey: row.dataKey ? { id: row.dataKey.id, version: row.dataKey.version } : null,
    maxVersions: row.maxVersions,
    deletedAt: row.deletedAt,
    expiresAt: row.expiresAt,
  };
}
