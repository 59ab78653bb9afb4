import { EncryptionKey } from '@attune/crypto';

/** A master key of the ring: its configured id, and the key. */
export interface MasterKey {
  readonly id: string;
  readonly key: EncryptionKey;
}

/**
 * The master keys (docs/secrets-management.md#rotating-the-encryption-key): the active one wraps new data keys (and
 * encrypts nothing else); the others only unwrap the data keys, and decrypt the values, they still protect. A key is
 * found by its public key hash, which every data key and every value encrypted directly records.
 */
export class Keyring {
  readonly #keys: readonly MasterKey[];
  /** The key new data keys are wrapped with; undefined when the ring is empty. */
  readonly active: MasterKey | undefined;

  constructor(keys: readonly MasterKey[], activeId: string | undefined) {
    this.#keys = keys;
    this.active = keys.find((k) => k.id === activeId);
    if (keys.length > 0 && !this.active)
      throw new Error(`The active master key ${activeId} is not in the keyring.`);
  }

  /** A ring from configuration (`security.keyring` and `security.activeKeyId`): each key derived once. */
  static fromConfig(
    keys: ReadonlyArray<{ id: string; password: string }>,
    activeId: string | undefined,
  ): Keyring {
    return new Keyring(
      keys.map((k) => ({ id: k.id, key: EncryptionKey.fromPassword(k.password) })),
      activeId,
    );
  }

  /** A ring of one key (or an empty one): the single `security.encryption_key`. */
  static of(key: EncryptionKey | undefined, id = 'default'): Keyring {
    return key ? new Keyring([{ id, key }], id) : new Keyring([], undefined);
  }

  /** Every key of the ring, the active one included. */
  get keys(): readonly MasterKey[] {
    return this.#keys;
  }

  /** Whether the ring holds no key at all. */
  get empty(): boolean {
    return this.#keys.length === 0;
  }

  /**
   * The master key a stored key hash names (ours, or the seed's form of it: docs/encryption.md#key-hash), or
   * undefined when no key of the ring is the one.
   */
  byHash(storedKeyHash: string): MasterKey | undefined {
    return this.#keys.find((k) => k.key.matchesKeyHash(storedKeyHash));
  }
}
