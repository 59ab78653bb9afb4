/**
 * `@attune/crypto`: AES-256-GCM encryption of Attune secrets. Depends on `node:` modules only; AES-GCM runs on Node's
 * own OpenSSL, through the optional native addon (native/attune_gcm.c) when it is built.
 * Formats, the key hash and the implementations are specified in docs/encryption.md.
 */

export { main as cryptoCli } from './cli.js';
export {
  KEY_LENGTH,
  MIN_PASSWORD_LENGTH,
  NONCE_LENGTH,
  TAG_LENGTH,
  V1_PREFIX,
} from './constants.js';
export {
  type CipherOptions,
  type CiphertextFormat,
  ciphertextFormat,
  EncryptionKey,
  type KeyOptions,
} from './encryption-key.js';
export {
  type DataKeyRef,
  type EnvelopeHeader,
  envelopeDataKey,
  generateKeyBytes,
  openEnvelope,
  rewrapDataKey,
  sealEnvelope,
  unwrapDataKey,
  wrapDataKey,
} from './envelope.js';
export {
  AuthenticationFailedError,
  CryptoError,
  type CryptoErrorCategory,
  CryptoErrorCode,
  InvalidPlaintextError,
  KeyHashMismatchError,
  KeyMissingError,
  KeyTooShortError,
  MalformedCiphertextError,
  type MalformedReason,
} from './errors.js';
export type { CryptoBackend } from './native.js';
export { generatePassword } from './password.js';
