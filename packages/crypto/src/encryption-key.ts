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
import { decodeBase64Strict } from './base64.js';
import {
  KEY_HASH_LABEL,
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

const ALGORITHM = 'aes-256-gcm';
const GCM_OPTIONS = { authTagLength: TAG_LENGTH } as const;
/** Nonces drawn from the CSPRNG per refill. One `randomBytes` call costs more than a whole small encryption. */
const NONCE_POOL_SIZE = 256;

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
export type CiphertextFormat = 'seed' | 'v1';

/**
 * An AES-256-GCM key derived once from a password, as the seed specifies: key = SHA-256(UTF-8 bytes of password).
 *
 * Derive it once (at start-up) and reuse it: encrypt and decrypt never derive again. The password and the key bytes
 * are not reachable from the object (no property, no `toJSON`, no `inspect` output).
 */
export class EncryptionKey {
  /** The public key hash (docs/encryption.md#key-hash): identifies the key, reveals nothing of it. */
  readonly keyHash: string;
  readonly #key: KeyObject;
  #noncePool: Buffer = Buffer.alloc(0);
  #nonceOffset = 0;

  private constructor(key: KeyObject, keyHash: string) {
    this.#key = key;
    this.keyHash = keyHash;
  }

  /**
   * Derives the key from a password of at least {@link MIN_PASSWORD_LENGTH} characters.
   * @throws {KeyTooShortError} when the password is shorter.
   */
  static fromPassword(password: string): EncryptionKey {
    const length = countCodePoints(password);
    if (length < MIN_PASSWORD_LENGTH) throw new KeyTooShortError(length, MIN_PASSWORD_LENGTH);
    const raw = createHash('sha256').update(password, 'utf8').digest();
    const key = createSecretKey(raw);
    const keyHash = createHmac('sha256', raw).update(KEY_HASH_LABEL, 'utf8').digest('hex');
    raw.fill(0);
    return new EncryptionKey(key, keyHash);
  }

  /** True when `storedKeyHash` names this key. Constant-time in the hash contents. */
  matchesKeyHash(storedKeyHash: string): boolean {
    const a = Buffer.from(storedKeyHash, 'utf8');
    const b = Buffer.from(this.keyHash, 'utf8');
    return a.length === b.length && timingSafeEqual(a, b);
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
    // isUtf8 + toString is several times faster than a fatal TextDecoder on values of a KiB or more.
    if (!isUtf8(bytes)) throw new InvalidPlaintextError();
    return bytes.toString('utf8');
  }

  /** Like {@link EncryptionKey.decrypt}, returning the plaintext bytes. */
  decryptToBytes(ciphertext: string, options?: CipherOptions): Buffer {
    return this.#open(ciphertext, options?.context);
  }

  /**
   * Encrypts with a caller-chosen nonce. Only for fixed test vectors: reusing a nonce under one key destroys
   * GCM's confidentiality and integrity. Not exported from the package entry.
   * @internal
   */
  sealWithNonce(nonce: Uint8Array, plaintext: string | Uint8Array, context: string | undefined): string {
    const cipher = createCipheriv(ALGORITHM, this.#key, nonce, GCM_OPTIONS);
    if (context !== undefined) cipher.setAAD(Buffer.from(V1_AAD_PREFIX + context, 'utf8'));
    const body = typeof plaintext === 'string' ? cipher.update(plaintext, 'utf8') : cipher.update(plaintext);
    cipher.final();
    const out = Buffer.allocUnsafe(body.length + TAG_LENGTH);
    body.copy(out, 0);
    cipher.getAuthTag().copy(out, body.length);
    const encoded = `${Buffer.from(nonce.buffer, nonce.byteOffset, nonce.byteLength).toString('base64')}:${out.toString('base64')}`;
    return context === undefined ? encoded : V1_PREFIX + encoded;
  }

  #open(ciphertext: string, context: string | undefined): Buffer {
    if (typeof ciphertext !== 'string' || ciphertext.length === 0)
      throw new MalformedCiphertextError('empty');
    let start = 0;
    let aad: Buffer | undefined;
    if (ciphertext.startsWith(V1_PREFIX)) {
      if (context === undefined) throw new MalformedCiphertextError('context_required');
      start = V1_PREFIX.length;
      aad = Buffer.from(V1_AAD_PREFIX + context, 'utf8');
    } else if (/^v\d+:/.test(ciphertext.slice(0, 6))) {
      throw new MalformedCiphertextError('unknown_version');
    }
    const separator = ciphertext.indexOf(':', start);
    if (separator < 0) throw new MalformedCiphertextError('no_separator');
    const nonce = decodeBase64Strict(ciphertext.slice(start, separator), 'nonce');
    if (nonce.length !== NONCE_LENGTH) throw new MalformedCiphertextError('bad_nonce_length', 'nonce');
    const body = decodeBase64Strict(ciphertext.slice(separator + 1), 'ciphertext');
    if (body.length < TAG_LENGTH) throw new MalformedCiphertextError('too_short', 'ciphertext');
    const tagStart = body.length - TAG_LENGTH;
    const decipher = createDecipheriv(ALGORITHM, this.#key, nonce, GCM_OPTIONS);
    decipher.setAuthTag(body.subarray(tagStart));
    if (aad) decipher.setAAD(aad);
    const plaintext = decipher.update(body.subarray(0, tagStart));
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

/** Tells which format a ciphertext string claims to be in, without validating it. */
export function ciphertextFormat(ciphertext: string): CiphertextFormat {
  return ciphertext.startsWith(V1_PREFIX) ? 'v1' : 'seed';
}

function countCodePoints(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}
