import { isUtf8 } from 'node:buffer';
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createSecretKey,
  type KeyObject,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { base64Length, decodeBase64Into } from './base64.js';
import {
  ENVELOPE_PREFIX,
  KEY_HASH_LABEL,
  KEY_LENGTH,
  MIN_PASSWORD_LENGTH,
  NONCE_LENGTH,
  TAG_LENGTH,
  V1_AAD_PREFIX,
  V1_PREFIX,
} from './constants.js';
import {
  AuthenticationFailedError,
  InvalidPlaintextError,
  KeyHashMismatchError,
  KeyTooShortError,
  MalformedCiphertextError,
} from './errors.js';
import {
  type CryptoBackend,
  type NativeGcm,
  type NativeKeyHandle,
  NativeOpenResult,
  nativeBinding,
} from './native.js';
import { scratchBuffer } from './scratch.js';

const ALGORITHM = 'aes-256-gcm';
const GCM_OPTIONS = { authTagLength: TAG_LENGTH } as const;
/** Nonces drawn from the CSPRNG per refill. One `randomBytes` call costs more than a whole small encryption. */
const NONCE_POOL_SIZE = 256;
/** UTF-8 bytes of the v1 AAD prefix; the context's bytes follow them. */
const V1_AAD_PREFIX_BYTES = Buffer.from(V1_AAD_PREFIX, 'utf8');
/** Where {@link parseCiphertext} put the parts of a ciphertext: nonce at 0, then ct ‖ tag, then the AAD. */
interface Parsed {
  readonly input: Buffer;
  /** Ciphertext length (the plaintext's); the tag follows it at `NONCE_LENGTH + dataLength`. */
  readonly dataLength: number;
  readonly aadOffset: number;
  readonly aadLength: number;
}

/** Options of {@link EncryptionKey.fromPassword}. */
export interface KeyOptions {
  /**
   * Forces an AES-GCM implementation: `native` (the OpenSSL fast path; throws when it is not built) or `node`
   * (node:crypto). Both read and write identical formats. Default: `native` when built, unless
   * `ATTUNE_CRYPTO_NATIVE=off` (docs/encryption.md#implementations).
   */
  readonly backend?: 'native' | 'node';
}

/** Options of {@link EncryptionKey.encrypt} and {@link EncryptionKey.decrypt}. */
export interface CipherOptions {
  /**
   * Binds the ciphertext to this context (for a secret, its ref) through GCM associated data. With a context,
   * `encrypt` writes the v1 format, and `decrypt` of a v1 value succeeds only with the same context.
   * Seed-format values carry no context; `decrypt` ignores the option for them.
   */
  readonly context?: string;
}

/** Which format a ciphertext string is in. */
export type CiphertextFormat = 'seed' | 'v1' | 'e1';

/**
 * An AES-256-GCM key derived once from a password, as the seed specifies: key = SHA-256(UTF-8 bytes of password).
 *
 * Derive it once (at start-up) and reuse it: encrypt and decrypt never derive again. The password and the key bytes
 * are not reachable from the object (no property, no `toJSON`, no `inspect` output).
 */
export class EncryptionKey {
  /** The public key hash (docs/encryption.md#key-hash): identifies the key, reveals nothing of it. */
  readonly keyHash: string;
  /** The AES-GCM implementation this key runs on. */
  readonly backend: CryptoBackend;
  /** The node:crypto key, when the key runs on node:crypto. */
  readonly #key: KeyObject | undefined;
  readonly #native: { readonly binding: NativeGcm; readonly handle: NativeKeyHandle } | undefined;
  /** A one-way digest of the seed's key hash (hex of the key itself), to recognise rows the seed wrote. */
  readonly #seedHashDigest: Buffer;
  #noncePool: Buffer = Buffer.alloc(0);
  #nonceOffset = 0;

  private constructor(raw: Buffer, keyHash: string, options: KeyOptions | undefined) {
    this.keyHash = keyHash;
    this.#seedHashDigest = seedHashDigestOfKey(raw);
    const native = options?.backend === 'node' ? undefined : nativeBinding();
    if (native && 'binding' in native) {
      this.#native = { binding: native.binding, handle: native.binding.createKey(raw) };
      this.#key = undefined;
      this.backend = { name: 'native', openssl: native.binding.openssl };
    } else {
      if (options?.backend === 'native') {
        throw new Error(`The native AES-GCM backend is unavailable: ${native?.reason ?? 'unknown reason'}.`);
      }
      this.#native = undefined;
      this.#key = createSecretKey(raw);
      this.backend = {
        name: 'node',
        openssl: `OpenSSL ${process.versions.openssl}`,
        reason: native?.reason ?? 'node backend requested',
      };
    }
  }

  /**
   * Derives the key from a password of at least {@link MIN_PASSWORD_LENGTH} characters.
   * @throws {KeyTooShortError} when the password is shorter.
   * @throws {Error} when `options.backend` is `native`, or `ATTUNE_CRYPTO_NATIVE=required`, and the native fast path
   *   is not built (the message says why).
   */
  static fromPassword(password: string, options?: KeyOptions): EncryptionKey {
    const length = countCodePoints(password);
    if (length < MIN_PASSWORD_LENGTH) throw new KeyTooShortError(length, MIN_PASSWORD_LENGTH);
    const raw = createHash('sha256').update(password, 'utf8').digest();
    try {
      const keyHash = createHmac('sha256', raw).update(KEY_HASH_LABEL, 'utf8').digest('hex');
      return new EncryptionKey(raw, keyHash, options);
    } finally {
      raw.fill(0);
    }
  }

  /**
   * A key from 32 raw bytes: a data key (docs/encryption.md#envelope-encryption), never a password's. The bytes are
   * copied into the key and may be wiped by the caller afterwards.
   * @throws {RangeError} when `raw` is not {@link KEY_LENGTH} bytes.
   */
  static fromBytes(raw: Uint8Array, options?: KeyOptions): EncryptionKey {
    if (raw.length !== KEY_LENGTH) throw new RangeError(`A key is ${KEY_LENGTH} bytes.`);
    const copy = Buffer.from(raw);
    try {
      const keyHash = createHmac('sha256', copy).update(KEY_HASH_LABEL, 'utf8').digest('hex');
      return new EncryptionKey(copy, keyHash, options);
    } finally {
      copy.fill(0);
    }
  }

  /**
   * True when `storedKeyHash` names this key: this key hash, or the seed's (`hex(SHA-256(password))`, which is the
   * key itself, docs/encryption.md#key-hash), so rows the seed wrote decrypt with the right key. Constant-time in the
   * hash contents; the seed's form is compared through a one-way digest, never kept in the clear.
   */
  matchesKeyHash(storedKeyHash: string): boolean {
    const a = Buffer.from(storedKeyHash, 'utf8');
    const b = Buffer.from(this.keyHash, 'utf8');
    if (a.length === b.length && timingSafeEqual(a, b)) return true;
    return timingSafeEqual(seedHashDigest(storedKeyHash.toLowerCase()), this.#seedHashDigest);
  }

  /** Whether `storedKeyHash` is in the seed's scheme for this key (rows to rewrite, docs/encryption.md#key-hash). */
  isSeedKeyHash(storedKeyHash: string): boolean {
    return timingSafeEqual(seedHashDigest(storedKeyHash.toLowerCase()), this.#seedHashDigest);
  }

  /**
   * Throws unless `storedKeyHash` names this key. Used before decrypting a stored value.
   * @throws {KeyHashMismatchError}
   */
  assertKeyHash(storedKeyHash: string): void {
    if (!this.matchesKeyHash(storedKeyHash)) throw new KeyHashMismatchError(storedKeyHash, this.keyHash);
  }

  /**
   * Encrypts a UTF-8 string or bytes with a fresh random 96-bit nonce.
   * Without `context`: the seed format `base64(nonce):base64(ciphertext‖tag)`.
   * With `context`: `v1:base64(nonce):base64(ciphertext‖tag)`, authenticated together with the context.
   */
  encrypt(plaintext: string | Uint8Array, options?: CipherOptions): string {
    return this.sealWithNonce(this.#nextNonce(), plaintext, options?.context);
  }

  /**
   * Decrypts a seed-format or v1 string to a UTF-8 string.
   * @throws {MalformedCiphertextError} when the input is not a ciphertext (says which rule it broke).
   * @throws {AuthenticationFailedError} on a wrong key, tampering, or a wrong context.
   * @throws {InvalidPlaintextError} when the authentic plaintext is not UTF-8.
   */
  decrypt(ciphertext: string, options?: CipherOptions): string {
    const bytes = this.#open(ciphertext, options?.context);
    try {
      // isUtf8 + toString is several times faster than a fatal TextDecoder on values of a KiB or more.
      if (!isUtf8(bytes)) throw new InvalidPlaintextError();
      return bytes.toString('utf8');
    } finally {
      bytes.fill(0);
    }
  }

  /** Like {@link EncryptionKey.decrypt}, returning the plaintext bytes (a buffer of the caller's own). */
  decryptToBytes(ciphertext: string, options?: CipherOptions): Buffer {
    const bytes = this.#open(ciphertext, options?.context);
    const copy = Buffer.allocUnsafeSlow(bytes.length);
    bytes.copy(copy);
    bytes.fill(0);
    return copy;
  }

  /**
   * Encrypts with a caller-chosen nonce. Only for fixed test vectors: reusing a nonce under one key destroys
   * GCM's confidentiality and integrity. Not exported from the package entry.
   * @internal
   */
  sealWithNonce(nonce: Uint8Array, plaintext: string | Uint8Array, context: string | undefined): string {
    if (nonce.length !== NONCE_LENGTH) throw new RangeError(`A nonce is ${NONCE_LENGTH} bytes.`);
    const dataLength =
      typeof plaintext === 'string' ? Buffer.byteLength(plaintext, 'utf8') : plaintext.length;
    const aadOffset = NONCE_LENGTH + dataLength;
    const aadLength =
      context === undefined ? 0 : V1_AAD_PREFIX_BYTES.length + Buffer.byteLength(context, 'utf8');
    // Layout: nonce ‖ plaintext ‖ AAD in one buffer; ciphertext ‖ tag in another.
    const input = scratchBuffer('input', aadOffset + aadLength);
    const output = scratchBuffer('output', dataLength + TAG_LENGTH);
    input.set(nonce, 0);
    try {
      if (typeof plaintext === 'string') input.write(plaintext, NONCE_LENGTH, dataLength, 'utf8');
      else input.set(plaintext, NONCE_LENGTH);
      if (context !== undefined) writeAad(input, aadOffset, context);
      if (this.#native) {
        const { binding, handle } = this.#native;
        binding.seal(handle, input, 0, NONCE_LENGTH, dataLength, aadOffset, aadLength, output);
      } else {
        const cipher = createCipheriv(
          ALGORITHM,
          this.#key as KeyObject,
          input.subarray(0, NONCE_LENGTH),
          GCM_OPTIONS,
        );
        if (aadLength > 0) cipher.setAAD(input.subarray(aadOffset, aadOffset + aadLength));
        cipher.update(input.subarray(NONCE_LENGTH, aadOffset)).copy(output, 0);
        cipher.final();
        cipher.getAuthTag().copy(output, dataLength);
      }
    } finally {
      input.fill(0, NONCE_LENGTH, aadOffset);
    }
    const encoded = `${input.toString('base64', 0, NONCE_LENGTH)}:${output.toString('base64', 0, dataLength + TAG_LENGTH)}`;
    return context === undefined ? encoded : V1_PREFIX + encoded;
  }

  /** Authenticates and decrypts; returns the plaintext in a buffer the caller must zero once read. */
  #open(ciphertext: string, context: string | undefined): Buffer {
    if (this.#native) return openNative(this.#native.binding, this.#native.handle, ciphertext, context);
    const { input, dataLength, aadOffset, aadLength } = parseCiphertext(ciphertext, context);
    const decipher = createDecipheriv(
      ALGORITHM,
      this.#key as KeyObject,
      input.subarray(0, NONCE_LENGTH),
      GCM_OPTIONS,
    );
    decipher.setAuthTag(input.subarray(NONCE_LENGTH + dataLength, aadOffset));
    if (aadLength > 0) decipher.setAAD(input.subarray(aadOffset, aadOffset + aadLength));
    const plaintext = decipher.update(input.subarray(NONCE_LENGTH, NONCE_LENGTH + dataLength));
    try {
      decipher.final();
    } catch {
      // OpenSSL's message carries nothing secret, but it carries nothing useful either: one error for all causes.
      plaintext.fill(0);
      throw new AuthenticationFailedError();
    }
    return plaintext;
  }

  #nextNonce(): Buffer {
    if (this.#nonceOffset + NONCE_LENGTH > this.#noncePool.length) {
      // A fresh buffer each refill: nonces handed out earlier are never overwritten, and none is ever handed out twice.
      this.#noncePool = randomBytes(NONCE_LENGTH * NONCE_POOL_SIZE);
      this.#nonceOffset = 0;
    }
    const nonce = this.#noncePool.subarray(this.#nonceOffset, this.#nonceOffset + NONCE_LENGTH);
    this.#nonceOffset += NONCE_LENGTH;
    return nonce;
  }

  /** Keeps key material out of `console.log`, `util.inspect` and pino. */
  toJSON(): { keyHash: string } {
    return { keyHash: this.keyHash };
  }

  /** @internal */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `EncryptionKey { keyHash: '${this.keyHash}' }`;
  }
}

/**
 * Up to this many characters, the native path hands the whole string to the addon (one call: base64, lengths, GCM);
 * past it, Node's SIMD base64 decoder beats the addon's scalar one, so the text is parsed here and only GCM runs there.
 */
const NATIVE_TEXT_LIMIT = 2048;

/**
 * The native path. Short values: the version prefix is read here, the rest in one call to the addon, which accepts
 * exactly what {@link parseCiphertext} accepts; when it refuses the text, parseCiphertext says why, so both backends
 * throw the same errors. Long values: parseCiphertext, then the addon's GCM on the decoded bytes.
 */
function openNative(
  binding: NativeGcm,
  handle: NativeKeyHandle,
  ciphertext: string,
  context: string | undefined,
): Buffer {
  const start = versionPrefixLength(ciphertext, context);
  if (ciphertext.length > NATIVE_TEXT_LIMIT) {
    const { input, dataLength, aadOffset, aadLength } = parseCiphertext(ciphertext, context);
    const output = scratchBuffer('output', dataLength);
    if (!binding.open(handle, input, 0, NONCE_LENGTH, dataLength, aadOffset, aadLength, output)) {
      throw new AuthenticationFailedError();
    }
    return output.subarray(0, dataLength);
  }
  // The body decodes to at most 3 bytes per 4 characters, so the plaintext fits in this many.
  const output = scratchBuffer('output', Math.ceil(((ciphertext.length - start) * 3) / 4));
  const aad = start === 0 ? null : V1_AAD_PREFIX + (context as string);
  const result = binding.openText(handle, ciphertext, start, aad, output);
  if (result >= 0) return output.subarray(0, result);
  if (result === NativeOpenResult.AuthenticationFailed) throw new AuthenticationFailedError();
  if (result === NativeOpenResult.Malformed) parseCiphertext(ciphertext, context); // throws the precise reason
  throw Object.assign(new Error(`The native AES-GCM path failed unexpectedly (result ${result}).`), {
    code: 'ATTUNE_CRYPTO_NATIVE_INTERNAL',
  });
}

/**
 * Length of the version prefix: 0 for the seed format, 3 for `v1:`.
 * @throws {MalformedCiphertextError} `empty`, `context_required` (v1 without a context) or `unknown_version`.
 */
function versionPrefixLength(ciphertext: string, context: string | undefined): number {
  if (typeof ciphertext !== 'string' || ciphertext.length === 0) throw new MalformedCiphertextError('empty');
  if (ciphertext.startsWith(V1_PREFIX)) {
    if (context === undefined) throw new MalformedCiphertextError('context_required');
    return V1_PREFIX.length;
  }
  if (isOtherVersion(ciphertext)) throw new MalformedCiphertextError('unknown_version');
  return 0;
}

/**
 * Checks a ciphertext string's format and decodes it into the input scratch buffer: nonce at 0, ct ‖ tag after it,
 * then the AAD of a v1 value. The grammar's one definition in code; the native path is held to it by a test.
 * @throws {MalformedCiphertextError} naming the rule the input broke.
 */
function parseCiphertext(ciphertext: string, context: string | undefined): Parsed {
  const start = versionPrefixLength(ciphertext, context);
  const v1 = start > 0;
  const separator = ciphertext.indexOf(':', start);
  if (separator < 0) throw new MalformedCiphertextError('no_separator');
  const nonceText = ciphertext.slice(start, separator);
  if (base64Length(nonceText, 'nonce') !== NONCE_LENGTH) {
    throw new MalformedCiphertextError('bad_nonce_length', 'nonce');
  }
  const bodyText = ciphertext.slice(separator + 1);
  const bodyLength = base64Length(bodyText, 'ciphertext');
  if (bodyLength < TAG_LENGTH) throw new MalformedCiphertextError('too_short', 'ciphertext');
  const aadOffset = NONCE_LENGTH + bodyLength;
  const aadLength = v1 ? V1_AAD_PREFIX_BYTES.length + Buffer.byteLength(context as string, 'utf8') : 0;
  const input = scratchBuffer('input', aadOffset + aadLength);
  decodeBase64Into(nonceText, input, 0, NONCE_LENGTH, 'nonce');
  decodeBase64Into(bodyText, input, NONCE_LENGTH, bodyLength, 'ciphertext');
  if (v1) writeAad(input, aadOffset, context as string);
  return { input, dataLength: bodyLength - TAG_LENGTH, aadOffset, aadLength };
}

/** `v<digits>:` other than `v1:`: a version this build does not read. */
function isOtherVersion(ciphertext: string): boolean {
  if (ciphertext.charCodeAt(0) !== 118 /* v */) return false;
  let i = 1;
  while (i < ciphertext.length && i < 6 && ciphertext.charCodeAt(i) >= 48 && ciphertext.charCodeAt(i) <= 57)
    i++;
  return i > 1 && ciphertext.charCodeAt(i) === 58 /* : */;
}

function writeAad(buffer: Buffer, offset: number, context: string): void {
  V1_AAD_PREFIX_BYTES.copy(buffer, offset);
  buffer.write(context, offset + V1_AAD_PREFIX_BYTES.length, 'utf8');
}

/** Tells which format a ciphertext string claims to be in, without validating it. */
export function ciphertextFormat(ciphertext: string): CiphertextFormat {
  return ciphertext.startsWith(V1_PREFIX) ? 'v1' : ciphertext.startsWith(ENVELOPE_PREFIX) ? 'e1' : 'seed';
}

function countCodePoints(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

const SEED_HASH_LABEL = 'attune:seed-key-hash-check:v1\0';

/** SHA-256 under a label of a (claimed) seed key hash: comparable, and revealing nothing of the key. */
function seedHashDigest(hexKey: string): Buffer {
  return createHash('sha256').update(SEED_HASH_LABEL, 'utf8').update(hexKey, 'utf8').digest();
}

/** {@link seedHashDigest} of the key's own hex form, built in a buffer that is wiped (never a string). */
function seedHashDigestOfKey(raw: Buffer): Buffer {
  const hex = Buffer.alloc(raw.length * 2);
  const digits = '0123456789abcdef';
  for (let i = 0; i < raw.length; i++) {
    hex[2 * i] = digits.charCodeAt((raw[i] as number) >> 4);
    hex[2 * i + 1] = digits.charCodeAt((raw[i] as number) & 15);
  }
  try {
    return createHash('sha256').update(SEED_HASH_LABEL, 'utf8').update(hex).digest();
  } finally {
    hex.fill(0);
  }
}
