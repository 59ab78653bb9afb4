import {
  type DataKeyRef,
  type EncryptionKey,
  generateKeyBytes,
  unwrapDataKey,
  wrapDataKey,
} from '@attune/crypto';
import type { SqlQueryable } from '@attune/db';
import { EncryptionKeyRequiredError, KeyUndecryptableError } from '../errors.js';
import type { OwnerColumns } from '../keys/key-store.js';
import { type DataKeyRow, DataKeyStore } from './data-key-store.js';
import type { Keyring } from './keyring.js';

/** Unwrapped data keys kept in memory at most (the worker's and the API's working set; older ones are unwrapped again). */
export const DATA_KEY_CACHE_SIZE = 4096;

/** What decrypting needs of a data key: the columns a query returns beside the value. */
export type DataKeyColumns = Pick<DataKeyRow, 'id' | 'version' | 'state' | 'wrapped' | 'master_key_hash'>;

/**
 * Data keys: the owner's active one (created, wrapped by the active master key, on first use) for writing, and any
 * one unwrapped for reading — through a bounded cache, so a resolution unwraps each data key once, not once per value.
 */
export class DataKeys {
  readonly #keyring: Keyring;
  readonly #store: DataKeyStore;
  readonly #cache = new Map<number, { readonly version: number; readonly key: EncryptionKey }>();
  readonly #cacheSize: number;

  constructor(options: { keyring: Keyring; store?: DataKeyStore; cacheSize?: number }) {
    this.#keyring = options.keyring;
    this.#store = options.store ?? new DataKeyStore();
    this.#cacheSize = options.cacheSize ?? DATA_KEY_CACHE_SIZE;
  }

  /** The keyring the data keys are wrapped with. */
  get keyring(): Keyring {
    return this.#keyring;
  }

  /**
   * The data key of a row, unwrapped. `ref` names the secret, for the error.
   * @throws {KeyUndecryptableError} `data_key_destroyed`, `no_key_configured`, `key_hash_mismatch` (its master key is
   *   not in the ring) or `authentication_failed` (the wrapped key was altered or moved).
   */
  unwrap(row: DataKeyColumns, ref: string): EncryptionKey {
    if (row.state === 'destroyed' || row.wrapped === null || row.master_key_hash === null) {
      this.#cache.delete(row.id);
      throw new KeyUndecryptableError(ref, 'data_key_destroyed', `its data key (${row.id}) was destroyed.`);
    }
    // Bounded: the oldest unwrapped key is the first dropped (unwrapped again when next needed).
    const cached = this.#cache.get(row.id);
    if (cached && cached.version === row.version) return cached.key;
    if (this.#keyring.empty)
      throw new KeyUndecryptableError(ref, 'no_key_configured', 'no encryption key is configured.');
    const master = this.#keyring.byHash(row.master_key_hash);
    if (!master) {
      throw new KeyUndecryptableError(
        ref,
        'key_hash_mismatch',
        `its data key (${row.id}) is wrapped by a master key that is not in the keyring (key hash ${row.master_key_hash.slice(0, 12)}…).`,
      );
    }
    let key: EncryptionKey;
    try {
      key = unwrapDataKey(master.key, row.wrapped, { id: row.id, version: row.version });
    } catch {
      throw new KeyUndecryptableError(
        ref,
        'authentication_failed',
        `its data key (${row.id}) does not unwrap: it was altered or moved.`,
      );
    }
    this.#cache.set(row.id, { version: row.version, key });
    if (this.#cache.size > this.#cacheSize) this.#cache.delete(this.#cache.keys().next().value as number);
    return key;
  }

  /**
   * The owner's active data key, created on first use (wrapped by the active master key) in the caller's
   * transaction.
   * @throws {EncryptionKeyRequiredError} when no master key is configured.
   */
  async active(
    owner: OwnerColumns,
    ref: string,
    q: SqlQueryable,
  ): Promise<{ ref: DataKeyRef; key: EncryptionKey }> {
    if (!this.#keyring.active) throw new EncryptionKeyRequiredError(ref, 'encrypt');
    let row = await this.#store.findActive(owner, q);
    if (!row) {
      const master = this.#keyring.active;
      if (!master) throw new EncryptionKeyRequiredError(ref, 'encrypt');
      const raw = generateKeyBytes();
      try {
        row =
          (await this.#store.createNext(
            owner,
            (dk) => ({ wrapped: wrapDataKey(master.key, raw, dk), masterKeyHash: master.key.keyHash }),
            q,
          )) ?? (await this.#store.findActive(owner, q));
      } finally {
        raw.fill(0);
      }
      if (!row) throw new Error('the data key of the owner could not be created');
    }
    return { ref: { id: row.id, version: row.version }, key: this.unwrap(row, ref) };
  }

  /** Forgets the unwrapped data keys (after a data key is destroyed, so nothing here still holds it). */
  forget(id?: number): void {
    if (id === undefined) this.#cache.clear();
    else this.#cache.delete(id);
  }
}
