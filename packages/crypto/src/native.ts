import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * The optional native fast path: AES-256-GCM through the OpenSSL inside Node, with the key schedule computed once
 * per key instead of once per call (native/attune_gcm.c). It implements no cryptography of its own.
 * @internal
 */
export interface NativeGcm {
  /** Sets up one encrypt and one decrypt context for a 32-byte key; the handle frees them when collected. */
  createKey(key: Uint8Array): NativeKeyHandle;
  /**
   * `output[0, dataLength + 16)` ← ciphertext ‖ tag of `input[dataOffset, +dataLength)`. Throws on offsets outside
   * the buffers.
   */
  seal: BufferOperation<void>;
  /**
   * `output[0, dataLength)` ← plaintext of `input[dataOffset, +dataLength)`, whose 16-byte tag follows it. Returns
   * false (and zeroes that output) when the tag does not verify.
   */
  open: BufferOperation<boolean>;
  /**
   * Opens the ciphertext string `text` from `start` (past a version prefix), with the UTF-8 bytes of `aad` as
   * associated data. Returns the plaintext length (plaintext in `output[0, length)`), or a {@link NativeOpenResult}.
   */
  openText(key: NativeKeyHandle, text: string, start: number, aad: string | null, output: Uint8Array): number;
  /** OpenSSL's version string, as the addon sees it. */
  readonly openssl: string;
}

/**
 * GCM on byte buffers: the 12-byte nonce at `nonceOffset`, the associated data at `aadOffset` and the text at
 * `dataOffset` are all read from `input`; the result goes to `output` from offset 0.
 * @internal
 */
export type BufferOperation<R> = (
  key: NativeKeyHandle,
  input: Uint8Array,
  nonceOffset: number,
  dataOffset: number,
  dataLength: number,
  aadOffset: number,
  aadLength: number,
  output: Uint8Array,
) => R;

/** The negative results of {@link NativeGcm.openText}. @internal */
export const NativeOpenResult = {
  /** The tag did not verify: wrong key, tampered, or another context. */
  AuthenticationFailed: -1,
  /** The text is not in the format; the JavaScript parser says why. */
  Malformed: -2,
  /** `output` is shorter than the plaintext. */
  OutputTooSmall: -3,
} as const;

/** An opaque key handle made by {@link NativeGcm.createKey}. @internal */
export type NativeKeyHandle = { readonly __nativeGcmKey: unique symbol };

/** How `ATTUNE_CRYPTO_NATIVE` asks for the fast path: use it if built, insist on it, or never use it. */
export type NativeMode = 'auto' | 'required' | 'off';

/** Which AES-GCM implementation a key uses, and why. */
export interface CryptoBackend {
  /** `native`: OpenSSL through the addon; `node`: node:crypto's cipher objects. Both write identical formats. */
  readonly name: 'native' | 'node';
  /** OpenSSL version of the native path; for `node`, Node's own OpenSSL (the same library). */
  readonly openssl: string;
  /** Why the native path is not used, when it is not. Never contains key material. */
  readonly reason?: string;
}

/** Where the build (scripts/build-native.mjs, node-gyp) puts the addon, relative to src/ and dist/ alike. */
export const NATIVE_BINARY_URL = new URL('../native/build/Release/attune_gcm.node', import.meta.url);

/**
 * Reads `ATTUNE_CRYPTO_NATIVE`.
 * @throws {Error} naming the variable and the accepted values, when it holds anything else.
 */
export function nativeMode(env: NodeJS.ProcessEnv = process.env): NativeMode {
  const value = env.ATTUNE_CRYPTO_NATIVE;
  if (value === undefined || value === '' || value === 'auto') return 'auto';
  if (value === 'required' || value === 'off') return value;
  throw new Error(`ATTUNE_CRYPTO_NATIVE must be auto, required or off; it is '${value}'.`);
}

/**
 * Loads the addon from `url`. Returns the binding, or why it could not be used; never throws.
 * @internal
 */
export function loadNative(url: URL): { binding: NativeGcm } | { reason: string } {
  try {
    const binding = createRequire(import.meta.url)(fileURLToPath(url)) as NativeGcm;
    if (
      typeof binding.createKey !== 'function' ||
      typeof binding.seal !== 'function' ||
      typeof binding.open !== 'function' ||
      typeof binding.openText !== 'function'
    ) {
      return { reason: `${fileURLToPath(url)} is not the attune_gcm addon` };
    }
    return { binding };
  } catch (error) {
    const detail =
      (error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND'
        ? 'not built'
        : ((error as Error).message.split('\n')[0] ?? 'failed to load');
    return { reason: `native addon ${fileURLToPath(url)}: ${detail}` };
  }
}

const loads = new Map<string, { binding: NativeGcm } | { reason: string }>();

/**
 * The binding the package uses (loaded once per path), or why it is not used: off, or not built.
 * @throws {Error} when `ATTUNE_CRYPTO_NATIVE=required` and the addon cannot be loaded, saying why.
 * @internal
 */
export function nativeBinding(
  env: NodeJS.ProcessEnv = process.env,
  url: URL = NATIVE_BINARY_URL,
): { binding: NativeGcm } | { reason: string } {
  const mode = nativeMode(env);
  if (mode === 'off') return { reason: 'ATTUNE_CRYPTO_NATIVE=off' };
  let load = loads.get(url.href);
  if (load === undefined) {
    load = loadNative(url);
    loads.set(url.href, load);
  }
  if (mode === 'required' && 'reason' in load) {
    throw new Error(
      `ATTUNE_CRYPTO_NATIVE=required, but the native AES-GCM fast path is unavailable (${load.reason}). ` +
        'Build it with `pnpm --filter @attune/crypto build` (needs a C compiler and Node headers), or unset the variable.',
    );
  }
  return load;
}
