import { AuthenticationFailedError, type EncryptionKey, MalformedCiphertextError } from '@attune/crypto';
import {
  EncryptionKeyRequiredError,
  InvalidKeyInputError,
  KeyUndecryptableError,
  ValueTooLargeError,
} from './errors.js';
import { Keyring } from './keyring/keyring.js';
import { MAX_VALUE_BYTES } from './limits.js';
import { findUnstorable, MAX_NESTING, type TextProblem, textProblem } from './text.js';

/** A secret's value: a string, or structured JSON (object, array, number, boolean) as the reference allows. */
export type SecretValue = string | number | boolean | SecretValue[] | { [key: string]: SecretValue };

/** How a value sits in the `key` table's `value`, `value_type`, `encrypted` and `encryption_key_hash` columns. */
export interface StoredValue {
  /** JSONB: the value itself, or the ciphertext string when encrypted. */
  readonly value: SecretValue;
  /** `string`: the value (or plaintext) is a string; `json`: structured, encrypted as compact JSON. */
  readonly valueType: 'string' | 'json';
  readonly encrypted: boolean;
  readonly encryptionKeyHash: string | null;
}

export { MAX_VALUE_BYTES } from './limits.js';

/**
 * Checks a value and returns its serialised size. Refuses null, undefined, functions, non-finite numbers and
 * values over {@link MAX_VALUE_BYTES}.
 * @throws {InvalidKeyInputError} (field `value`), never quoting the value.
 */
export function validateSecretValue(value: unknown): asserts value is SecretValue {
  if (typeof value === 'string') {
    if (Buffer.byteLength(value, 'utf8') > MAX_VALUE_BYTES) throw tooLarge(Buffer.byteLength(value, 'utf8'));
    refuseUnusableText(textProblem(value));
    return;
  }
  if (value === null || value === undefined) {
    throw new InvalidKeyInputError(
      'value',
      'The value is missing; give a string or a JSON object, array, number or boolean.',
    );
  }
  if (!isJsonValue(value, 0)) {
    throw new InvalidKeyInputError(
      'value',
      'The value is not plain JSON (strings, finite numbers, booleans, arrays and objects, nesting up to 32 levels; null only inside).',
    );
  }
  const size = Buffer.byteLength(JSON.stringify(value), 'utf8');
  if (size > MAX_VALUE_BYTES) throw tooLarge(size);
  // Every string and key inside a structured value: they become environment variables and JSON in the database too.
  const bad = findUnstorable(value);
  if (bad && bad.kind !== 'too-deep') refuseUnusableText(bad.kind);
}

/**
 * Refuses what no secret may hold (see {@link textProblem}). The message says what is wrong, never where in the
 * value.
 */
function refuseUnusableText(problem: TextProblem | undefined): void {
  if (problem === 'nul') {
    throw new InvalidKeyInputError(
      'value',
      'The value holds a NUL character, which no environment variable can carry; remove it (encode binary data as base64).',
    );
  }
  if (problem === 'unpaired-surrogate') {
    throw new InvalidKeyInputError(
      'value',
      'The value holds an unpaired UTF-16 surrogate, which has no UTF-8 form; send well-formed Unicode text.',
    );
  }
}

function tooLarge(size: number): ValueTooLargeError {
  return new ValueTooLargeError(size, MAX_VALUE_BYTES);
}

function isJsonValue(value: unknown, depth: number): boolean {
  if (depth > MAX_NESTING) return false;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (value === null) return depth > 0;
      if (Array.isArray(value)) return value.every((v) => isJsonValue(v, depth + 1));
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      return Object.values(value).every((v) => isJsonValue(v, depth + 1));
    }
    default:
      return false;
  }
}

/**
 * Turns a value into its stored form. Encrypted values are bound to the key's ref (ciphertext v1 with the ref as
 * context), so a ciphertext copied into another row does not decrypt.
 * @throws {EncryptionKeyRequiredError} when encryption is asked for and no key is configured.
 */
export function encodeValue(
  value: SecretValue,
  options: { ref: string; encrypted: boolean; key: EncryptionKey | undefined },
): StoredValue {
  // Every way into storage goes through the same rules (the repository, the SecretManager facade, library callers).
  validateSecretValue(value);
  const valueType = typeof value === 'string' ? 'string' : 'json';
  if (!options.encrypted) return { value, valueType, encrypted: false, encryptionKeyHash: null };
  if (!options.key) throw new EncryptionKeyRequiredError(options.ref, 'encrypt');
  const plaintext = typeof value === 'string' ? value : JSON.stringify(value);
  return {
    value: options.key.encrypt(plaintext, { context: options.ref }),
    valueType,
    encrypted: true,
    encryptionKeyHash: options.key.keyHash,
  };
}

/** The columns {@link decodeValue} reads. */
export interface StoredRow {
  readonly ref: string;
  readonly value: unknown;
  readonly valueType: string;
  readonly encrypted: boolean;
  readonly encryptionKeyHash: string | null;
}

/**
 * The seed's `decrypt_if_needed`: returns the plaintext value of a stored row, validating the key hash when one is
 * stored. Seed-format ciphertexts (unbound) and v1 ciphertexts bound to the row's ref both decrypt.
 * @throws {KeyUndecryptableError} with the reason; never the value.
 */
export function decodeValue(row: StoredRow, keys: EncryptionKey | Keyring | undefined): SecretValue {
  if (!row.encrypted) return row.value as SecretValue;
  const key = keys instanceof Keyring ? masterKeyOf(row, keys) : keys;
  if (!key) {
    throw new KeyUndecryptableError(row.ref, 'no_key_configured', 'no encryption key is configured.');
  }
  if (typeof row.value !== 'string') {
    throw new KeyUndecryptableError(
      row.ref,
      'malformed_ciphertext',
      'the stored value is not a ciphertext string.',
    );
  }
  if (row.encryptionKeyHash !== null && !key.matchesKeyHash(row.encryptionKeyHash)) {
    throw new KeyUndecryptableError(
      row.ref,
      'key_hash_mismatch',
      // Never the stored hash: in the seed's scheme it is the key itself.
      `it was written with another key than the configured one (key hash ${key.keyHash.slice(0, 12)}…).`,
    );
  }
  let plaintext: string;
  try {
    plaintext = key.decrypt(row.value, { context: row.ref });
  } catch (error) {
    if (error instanceof AuthenticationFailedError) {
      throw new KeyUndecryptableError(
        row.ref,
        'authentication_failed',
        'wrong key, or the stored value was altered or copied from another key.',
      );
    }
    if (error instanceof MalformedCiphertextError) {
      throw new KeyUndecryptableError(row.ref, 'malformed_ciphertext', error.message);
    }
    throw new KeyUndecryptableError(row.ref, 'invalid_value', 'the plaintext is not UTF-8.');
  }
  return parsePlaintext(row, plaintext);
}

/** A decrypted plaintext as the value it stands for: JSON when the row's `value_type` says so. */
export function parsePlaintext(row: Pick<StoredRow, 'ref' | 'valueType'>, plaintext: string): SecretValue {
  if (row.valueType !== 'json') return plaintext;
  try {
    return JSON.parse(plaintext) as SecretValue;
  } catch {
    throw new KeyUndecryptableError(
      row.ref,
      'invalid_value',
      'the decrypted value is not the JSON its value_type says.',
    );
  }
}

/** Decrypts a stored row for a caller that asked to decrypt; a missing key is a configuration error here. */
export function decodeForCaller(row: StoredRow, keys: EncryptionKey | Keyring | undefined): SecretValue {
  if (row.encrypted && (!keys || (keys instanceof Keyring && keys.empty)))
    throw new EncryptionKeyRequiredError(row.ref, 'decrypt');
  return decodeValue(row, keys);
}

/**
 * The master key of the ring that encrypted a row directly: the one its stored key hash names (a row without a
 * hash is tried with the active key). When none is, the active key, whose hash check then fails with
 * `key_hash_mismatch`.
 */
function masterKeyOf(row: StoredRow, ring: Keyring): EncryptionKey | undefined {
  if (ring.empty) return undefined;
  const named = row.encryptionKeyHash === null ? undefined : ring.byHash(row.encryptionKeyHash);
  return (named ?? ring.active)?.key;
}
