import { MalformedCiphertextError } from './errors.js';

/**
 * Decodes standard padded base64 (RFC 4648 section 4), refusing anything else.
 *
 * Node's decoder is lenient: it skips characters outside the alphabet, stops at `=`, and also accepts the URL-safe
 * alphabet. Skipped or early-stopped input yields fewer bytes than the length implies, so an exact length check
 * catches it without a regex pass over the whole string (which costs more than the decode itself).
 */
export function decodeBase64Strict(text: string, part: 'nonce' | 'ciphertext'): Buffer {
  const length = text.length;
  if (length === 0 || length % 4 !== 0) throw new MalformedCiphertextError('bad_base64', part);
  const padding = text.charCodeAt(length - 1) === 61 ? (text.charCodeAt(length - 2) === 61 ? 2 : 1) : 0;
  if (text.includes('-') || text.includes('_')) throw new MalformedCiphertextError('bad_base64', part);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== (length / 4) * 3 - padding) throw new MalformedCiphertextError('bad_base64', part);
  return bytes;
}
