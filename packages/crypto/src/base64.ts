import { MalformedCiphertextError } from './errors.js';

/** The byte length standard padded base64 text decodes to. @throws {MalformedCiphertextError} on a bad length. */
export function base64Length(text: string, part: 'nonce' | 'ciphertext'): number {
  const length = text.length;
  if (length === 0 || length % 4 !== 0) throw new MalformedCiphertextError('bad_base64', part);
  const padding = text.charCodeAt(length - 1) === 61 ? (text.charCodeAt(length - 2) === 61 ? 2 : 1) : 0;
  return (length / 4) * 3 - padding;
}

/**
 * Decodes standard padded base64 (RFC 4648 section 4) of exactly `expected` bytes into `target` at `offset`,
 * refusing anything else. The caller has checked that the length is a multiple of 4 and computed `expected` from it.
 *
 * Node's decoder is lenient: it skips characters outside the alphabet, stops at `=`, and also accepts the URL-safe
 * alphabet. Skipped or early-stopped input yields fewer bytes than the length implies, so an exact count catches it
 * without a regex pass over the whole string (which costs more than the decode itself).
 */
export function decodeBase64Into(
  text: string,
  target: Buffer,
  offset: number,
  expected: number,
  part: 'nonce' | 'ciphertext',
): void {
  if (text.includes('-') || text.includes('_')) throw new MalformedCiphertextError('bad_base64', part);
  if (target.write(text, offset, expected, 'base64') !== expected) {
    throw new MalformedCiphertextError('bad_base64', part);
  }
}
