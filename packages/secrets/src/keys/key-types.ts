import type { EncryptionKey } from '@attune/crypto';
import type { Prisma } from '@attune/db';
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
}

/** Input of {@link KeyService.update}: a new value, a change of encryption, or both. */
export interface UpdateKeyInput {
  readonly value?: SecretValue;
  readonly encrypted?: boolean;
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
}

/** One page of keys; encrypted values are never included. */
export interface KeyPage {
  readonly items: KeyRecord[];
  readonly total: number;
  readonly page: number;
  readonly perPage: number;
}

/** A row of `attune.key` as Prisma reads it. */
export type KeyRow = Prisma.KeyModel;

/**
 * A stored key hash is shown only when it is the configured key's own (which is public, docs/encryption.md#key-hash):
 * a hash in the seed's scheme is a key itself, and one of another key cannot be told apart from that.
 */
function publicKeyHash(stored: string | null, key: EncryptionKey | undefined): string | null {
  return stored !== null && key !== undefined && stored === key.keyHash ? stored : null;
}

export function toRecord(row: KeyRow, value: SecretValue | null, key: EncryptionKey | undefined): KeyRecord {
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
    encryptionKeyHash: publicKeyHash(row.encryptionKeyHash, key),
    created: row.created,
    updated: row.updated,
  };
}
