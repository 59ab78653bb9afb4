import {
  AuthenticationFailedError,
  envelopeDataKey,
  MalformedCiphertextError,
  openEnvelope,
  sealEnvelope,
} from '@attune/crypto';
import type { SqlQueryable } from '@attune/db';
import { EncryptionKeyRequiredError, KeyUndecryptableError } from '../errors.js';
import type { OwnerColumns } from '../keys/key-store.js';
import {
  decodeValue,
  parsePlaintext,
  type SecretValue,
  type StoredRow,
  validateSecretValue,
} from '../stored-value.js';
import { DataKeyStore } from './data-key-store.js';
import { type DataKeyColumns, DataKeys } from './data-keys.js';
import type { Keyring } from './keyring.js';

/** A value as stored: the columns of `attune.key` and `attune.key_version` that hold it. */
export interface SealedValue {
  readonly value: SecretValue;
  readonly valueType: 'string' | 'json';
  readonly encrypted: boolean;
  /** Set for values encrypted directly with a master key (earlier versions); null for enveloped and plain ones. */
  readonly encryptionKeyHash: string | null;
  /** The data key that encrypted it; null for plain values. */
  readonly dataKeyId: number | null;
}

/** A stored row to open, with its data key's columns when it names one, and the version it holds. */
export interface SealedRow extends StoredRow {
  readonly dataKey?: DataKeyColumns | null;
  /** The version of the secret the row holds: an `e1:` value is bound to it. */
  readonly version: number;
}

/**
 * What an `e1:` value is bound to besides its data key: the secret's ref and the version it holds, so that a
 * ciphertext moved to another secret, or an older version's moved over the current one, does not decrypt. Refs
 * cannot contain `#`.
 */
export function valueContext(ref: string, version: number): string {
  return `${ref}#${version}`;
}

/**
 * Encrypts and decrypts secret values for the key service, the resolver and the re-encryption job: new values under
 * their owner's active data key (`e1:`, docs/encryption.md#envelope-encryption), stored values in whichever format
 * they were written (`e1:` through their data key, `v1:` and the seed's through the master key their hash names).
 */
export class ValueCipher {
  readonly dataKeys: DataKeys;
  readonly #store: DataKeyStore;

  constructor(options: { keyring: Keyring; dataKeys?: DataKeys; store?: DataKeyStore }) {
    this.#store = options.store ?? new DataKeyStore();
    this.dataKeys = options.dataKeys ?? new DataKeys({ keyring: options.keyring, store: this.#store });
  }

  /** The master keys. */
  get keyring(): Keyring {
    return this.dataKeys.keyring;
  }

  /**
   * The stored form of a value: plain, or encrypted under the owner's active data key (created on first use in the
   * caller's transaction) and bound to the ref.
   * @throws {InvalidKeyInputError} {@link ValueTooLargeError} {@link EncryptionKeyRequiredError}
   */
  async seal(
    value: SecretValue,
    options: { ref: string; owner: OwnerColumns; encrypted: boolean; version: number },
    q: SqlQueryable,
  ): Promise<SealedValue> {
    validateSecretValue(value);
    const valueType = typeof value === 'string' ? 'string' : 'json';
    if (!options.encrypted)
      return { value, valueType, encrypted: false, encryptionKeyHash: null, dataKeyId: null };
    if (!this.keyring.active) throw new EncryptionKeyRequiredError(options.ref, 'encrypt');
    const plaintext = typeof value === 'string' ? value : JSON.stringify(value);
    const dataKey = await this.dataKeys.active(options.owner, options.ref, q);
    return {
      value: sealEnvelope(dataKey.key, dataKey.ref, plaintext, valueContext(options.ref, options.version)),
      valueType,
      encrypted: true,
      encryptionKeyHash: null,
      dataKeyId: dataKey.ref.id,
    };
  }

  /**
   * The plaintext of a stored row.
   * @throws {KeyUndecryptableError} with the reason; never the value.
   */
  open(row: SealedRow): SecretValue {
    const named = row.encrypted && typeof row.value === 'string' ? envelopeDataKey(row.value) : null;
    if (named === null) return decodeValue(row, this.keyring);
    if (!row.dataKey || row.dataKey.id !== named.id || row.dataKey.version !== named.version) {
      throw new KeyUndecryptableError(
        row.ref,
        'malformed_ciphertext',
        'the value names another data key than its row.',
      );
    }
    const key = this.dataKeys.unwrap(row.dataKey, row.ref);
    let plaintext: string;
    try {
      plaintext = openEnvelope(key, row.value as string, valueContext(row.ref, row.version), named);
    } catch (error) {
      if (error instanceof AuthenticationFailedError)
        throw new KeyUndecryptableError(
          row.ref,
          'authentication_failed',
          'the stored value was altered or copied from another key.',
        );
      if (error instanceof MalformedCiphertextError)
        throw new KeyUndecryptableError(row.ref, 'malformed_ciphertext', error.message);
      throw new KeyUndecryptableError(row.ref, 'invalid_value', 'the plaintext is not UTF-8.');
    }
    return parsePlaintext(row, plaintext);
  }

  /** {@link ValueCipher.open} for a row whose data key (if any) is read from the database first. */
  async openStored(
    row: StoredRow & { dataKeyId: number | null; version: number },
    q: SqlQueryable,
  ): Promise<SecretValue> {
    const dataKey = row.dataKeyId === null ? null : await this.#store.get(row.dataKeyId, q);
    return this.open({ ...row, dataKey });
  }
}
