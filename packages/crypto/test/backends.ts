import { loadNative, NATIVE_BINARY_URL, nativeMode } from '../src/native.js';

/**
 * The AES-GCM implementations a test run covers: node:crypto always, and the native fast path when it is built and
 * not turned off (`ATTUNE_CRYPTO_NATIVE=off`). Test support only; not exported from the package entry.
 * @internal
 */
export const TESTED_BACKENDS: ReadonlyArray<'native' | 'node'> =
  nativeMode() !== 'off' && 'binding' in loadNative(NATIVE_BINARY_URL) ? ['native', 'node'] : ['node'];
