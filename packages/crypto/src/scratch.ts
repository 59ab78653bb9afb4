/**
 * Two buffers reused across encrypt and decrypt calls, so a call parses and seals without allocating a few fresh
 * buffers each time. Every call is synchronous and zeroes the regions that held plaintext before it returns; the
 * rest holds only public bytes (nonces, ciphertext, tags, contexts).
 * @internal
 */
export const scratch = { input: Buffer.alloc(4096), output: Buffer.alloc(4096) };

/** Values up to this size use the shared buffers; larger ones get buffers of their own for the one call. */
const SCRATCH_LIMIT = 64 * 1024;

/** A zeroed-at-rest buffer of at least `size` bytes: the shared one, grown if needed, or a fresh one past the limit. */
export function scratchBuffer(which: 'input' | 'output', size: number): Buffer {
  if (size <= scratch[which].length) return scratch[which];
  if (size > SCRATCH_LIMIT) return Buffer.alloc(size);
  scratch[which] = Buffer.alloc(Math.min(SCRATCH_LIMIT, 2 ** Math.ceil(Math.log2(size))));
  return scratch[which];
}
