/**
 * Error classes of `@attune/crypto`. Callers branch on the class or on `code`, never on the message.
 *
 * Invariant for every class here: the message and `cause` never hold plaintext, key material or a password.
 * They may hold lengths, format names and key hashes, which are public (see docs/encryption.md).
 */

/** Stable codes of the errors this package throws. */
export const CryptoErrorCode = {
  Malformed: 'ATTUNE_CRYPTO_MALFORMED',
  AuthenticationFailed: 'ATTUNE_CRYPTO_AUTHENTICATION_FAILED',
  KeyHashMismatch: 'ATTUNE_CRYPTO_KEY_HASH_MISMATCH',
  KeyTooShort: 'ATTUNE_CRYPTO_KEY_TOO_SHORT',
  KeyMissing: 'ATTUNE_CRYPTO_KEY_MISSING',
  InvalidPlaintext: 'ATTUNE_CRYPTO_INVALID_PLAINTEXT',
} as const;

/** One of {@link CryptoErrorCode}'s values. */
export type CryptoErrorCode = (typeof CryptoErrorCode)[keyof typeof CryptoErrorCode];

/**
 * The categories of `@attune/core`'s error base that these errors use. This package depends on `node:` modules only
 * (other apps reuse it without the rest of Attune), so its errors do not extend `AttuneError`; they carry the same
 * `code` and `category` fields, which is all the one mapping to HTTP statuses and exit codes reads.
 */
export type CryptoErrorCategory = 'invalid' | 'refused';

/** Base class of every error this package throws. */
export abstract class CryptoError extends Error {
  /** Stable machine-readable code; see {@link CryptoErrorCode}. */
  abstract readonly code: CryptoErrorCode;
  /** What kind of failure it is (`@attune/core`'s categories): bad input, or a key that cannot open it. */
  abstract readonly category: CryptoErrorCategory;

  protected constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** What exactly is wrong with a ciphertext string that could not be parsed. */
export type MalformedReason =
  | 'empty'
  | 'no_separator'
  | 'bad_base64'
  | 'bad_nonce_length'
  | 'too_short'
  | 'unknown_version'
  | 'context_required';

const malformedText: Record<MalformedReason, string> = {
  empty: 'the ciphertext is empty',
  no_separator: "no ':' separator between the base64 nonce and the base64 ciphertext",
  bad_base64: 'a part is not standard padded base64 (alphabet A-Z a-z 0-9 + /, length a multiple of 4)',
  bad_nonce_length: 'the nonce must decode to exactly 12 bytes',
  too_short: 'the ciphertext is shorter than the 16-byte authentication tag',
  unknown_version: 'the version tag is not one this build reads (known: seed format, v1)',
  context_required: 'a v1 ciphertext is bound to a context, and none was given to decrypt it',
};

/** The input is not a ciphertext in a format this package reads. Nothing was decrypted. */
export class MalformedCiphertextError extends CryptoError {
  readonly code = CryptoErrorCode.Malformed;
  readonly category = 'invalid' as const;
  /** Which rule the input broke. */
  readonly reason: MalformedReason;
  /** Which part of the input, where it matters: `nonce` or `ciphertext`. */
  readonly part: 'nonce' | 'ciphertext' | undefined;

  constructor(reason: MalformedReason, part?: 'nonce' | 'ciphertext') {
    super(`Malformed ciphertext: ${malformedText[reason]}${part ? ` (in the ${part} part)` : ''}.`);
    this.reason = reason;
    this.part = part;
  }
}

/**
 * GCM rejected the value: it was encrypted with another key, or it (or its context) was changed since.
 * GCM cannot tell these apart, so neither does this error.
 */
export class AuthenticationFailedError extends CryptoError {
  readonly code = CryptoErrorCode.AuthenticationFailed;
  readonly category = 'refused' as const;

  constructor() {
    super(
      'Decryption failed: the value was encrypted with a different key, was modified, or is bound to a different context.',
    );
  }
}

/** A stored key hash names another key than the one configured. Nothing was decrypted. */
export class KeyHashMismatchError extends CryptoError {
  readonly code = CryptoErrorCode.KeyHashMismatch;
  readonly category = 'refused' as const;
  /** The key hash the value was stored with (may be the seed's, which is a key: never log it). Not enumerable. */
  declare readonly storedKeyHash: string;
  /** The key hash of the configured key. */
  readonly configuredKeyHash: string;

  constructor(storedKeyHash: string, configuredKeyHash: string) {
    // The stored hash is not quoted: in the seed's scheme it is the key itself (docs/encryption.md#key-hash).
    super(
      `Key hash mismatch: the value was written with another key than the configured one (key hash ` +
        `${shortHash(configuredKeyHash)}…). Configure the key it was written with, or re-encrypt it.`,
    );
    // Not enumerable: a logger serialising the error must not print it (it may be a key, see above).
    Object.defineProperty(this, 'storedKeyHash', { value: storedKeyHash, enumerable: false });
    this.configuredKeyHash = configuredKeyHash;
  }
}

/** The configured password is shorter than {@link MIN_PASSWORD_LENGTH} characters. */
export class KeyTooShortError extends CryptoError {
  readonly code = CryptoErrorCode.KeyTooShort;
  readonly category = 'invalid' as const;
  /** Length of the refused password in characters (Unicode code points). */
  readonly length: number;
  /** Minimum length in characters. */
  readonly minimum: number;

  constructor(length: number, minimum: number, source = 'The encryption key') {
    super(
      `${source} is ${length} characters long; at least ${minimum} are required. ` +
        'Generate one with `attune-crypto keygen`.',
    );
    this.length = length;
    this.minimum = minimum;
  }
}

/** No encryption key is configured where one is needed. */
export class KeyMissingError extends CryptoError {
  readonly code = CryptoErrorCode.KeyMissing;
  readonly category = 'refused' as const;

  constructor(hint = 'Set ATTUNE__SECURITY__ENCRYPTION_KEY (generate one with `attune-crypto keygen`).') {
    super(`No encryption key is configured. ${hint}`);
  }
}

/** The value authenticated, but its bytes are not UTF-8, so it cannot be returned as a string. */
export class InvalidPlaintextError extends CryptoError {
  readonly code = CryptoErrorCode.InvalidPlaintext;
  readonly category = 'invalid' as const;

  constructor() {
    super('The decrypted value is not valid UTF-8; use decryptToBytes() to read it as bytes.');
  }
}

function shortHash(hash: string): string {
  // Public identifiers, but keep messages short and never echo arbitrary stored text at length.
  return hash.slice(0, 12).replace(/[^0-9a-f]/gi, '?');
}
