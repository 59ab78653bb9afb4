import { randomBytes } from 'node:crypto';
import { DATA_KEY_WRAP_CONTEXT, ENVELOPE_PREFIX, KEY_LENGTH, V1_PREFIX } from './constants.js';
import { EncryptionKey, type KeyOptions } from './encryption-key.js';
import { MalformedCiphertextError } from './errors.js';

/**
 * Envelope encryption (docs/encryption.md#envelope-encryption): values are encrypted with data keys, data keys are
 * wrapped by a master key. Rotating the master key rewraps data keys only; rotating a data key re-encrypts the values
 * of its owner only; destroying one shreds them.
 */

/** Which data key, and which version of it, encrypted a value. */
export interface DataKeyRef {
  /** The data key's id (a positive integer). */
  readonly id: number;
  /** Its owner's data key version (1, 2, …). */
  readonly version: number;
}

/** A parsed envelope header: the data key, and the header's length (`e1:<id>.<version>:`). */
export interface EnvelopeHeader extends DataKeyRef {
  readonly headerLength: number;
}

const HEADER = /^e1:([1-9][0-9]{0,15})\.([1-9][0-9]{0,8}):/;

/** 32 fresh random bytes: a new data key. Wipe them once wrapped and loaded. */
export function generateKeyBytes(): Buffer {
  return randomBytes(KEY_LENGTH);
}

/**
 * Wraps a data key's bytes with a master key: a v1 ciphertext bound to `attune:data-key:<id>.<version>`, so a wrapped
 * key copied to another data key's row does not unwrap.
 */
export function wrapDataKey(master: EncryptionKey, raw: Uint8Array, ref: DataKeyRef): string {
  return master.encrypt(raw, { context: `${DATA_KEY_WRAP_CONTEXT}${ref.id}.${ref.version}` });
}

/**
 * Unwraps a data key with the master key that wrapped it, and loads it; the raw bytes are wiped.
 * @throws {AuthenticationFailedError} wrong master key, or the wrapped key was altered or moved.
 */
export function unwrapDataKey(
  master: EncryptionKey,
  wrapped: string,
  ref: DataKeyRef,
  options?: KeyOptions,
): EncryptionKey {
  const raw = master.decryptToBytes(wrapped, { context: `${DATA_KEY_WRAP_CONTEXT}${ref.id}.${ref.version}` });
  try {
    return EncryptionKey.fromBytes(raw, options);
  } finally {
    raw.fill(0);
  }
}

/**
 * Encrypts with a data key: `e1:<id>.<version>:<b64 nonce>:<b64 ciphertext‖tag>`. The header and `context` (the
 * secret's ref) are the AAD, so neither the data key named nor the row can be changed without failing to decrypt.
 */
export function sealEnvelope(
  dataKey: EncryptionKey,
  ref: DataKeyRef,
  plaintext: string | Uint8Array,
  context: string,
): string {
  const header = `${ENVELOPE_PREFIX}${ref.id}.${ref.version}:`;
  return header + dataKey.encrypt(plaintext, { context: header + context }).slice(V1_PREFIX.length);
}

/** The data key an enveloped value names, or null when the value is not in the envelope format. */
export function envelopeDataKey(ciphertext: string): EnvelopeHeader | null {
  if (!ciphertext.startsWith(ENVELOPE_PREFIX)) return null;
  const match = HEADER.exec(ciphertext);
  return match ? { id: Number(match[1]), version: Number(match[2]), headerLength: match[0].length } : null;
}

/**
 * Decrypts an enveloped value with its data key (the one {@link envelopeDataKey} names).
 * @throws {MalformedCiphertextError} not an enveloped value; {@link AuthenticationFailedError} wrong data key,
 *   tampered value, header or context.
 */
export function openEnvelope(
  dataKey: EncryptionKey,
  ciphertext: string,
  context: string,
  header: EnvelopeHeader | null = envelopeDataKey(ciphertext),
): string {
  if (!header)
    throw new MalformedCiphertextError(
      ciphertext.startsWith(ENVELOPE_PREFIX) ? 'no_separator' : 'unknown_version',
    );
  const text = ciphertext.slice(0, header.headerLength);
  return dataKey.decrypt(V1_PREFIX + ciphertext.slice(header.headerLength), { context: text + context });
}

/**
 * Rewraps a data key from one master key to another without loading it as a key: unwrap with `from`, wrap with `to`,
 * the raw bytes wiped in between (master-key rotation: docs/secrets-management.md#rotating-the-encryption-key).
 * @throws {AuthenticationFailedError} when `from` did not wrap it.
 */
export function rewrapDataKey(
  from: EncryptionKey,
  to: EncryptionKey,
  wrapped: string,
  ref: DataKeyRef,
): string {
  const raw = from.decryptToBytes(wrapped, { context: `${DATA_KEY_WRAP_CONTEXT}${ref.id}.${ref.version}` });
  try {
    return wrapDataKey(to, raw, ref);
  } finally {
    raw.fill(0);
  }
}
