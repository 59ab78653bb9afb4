import { MalformedCiphertextError } from './errors.js';

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
