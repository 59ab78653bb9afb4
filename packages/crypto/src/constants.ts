/**
 * Invariants of the formats, stated once. The exact grammar is specified in docs/encryption.md; a change to any
 * of these is a new format version, and the old versions stay readable.
 */

/** AES-256 key length in bytes: SHA-256 of the password gives exactly this. */
export const KEY_LENGTH = 32;
/** GCM nonce length in bytes (96 bits, the length GCM is defined for without GHASH-derived counters). */
export const NONCE_LENGTH = 12;
/** GCM authentication tag length in bytes; never truncated. */
export const TAG_LENGTH = 16;
/** Minimum password length in characters (Unicode code points), as the reference implementation enforces. */
export const MIN_PASSWORD_LENGTH = 32;
/** Version tag that starts a context-bound ciphertext: `v1:<b64 nonce>:<b64 ct‖tag>`. */
export const V1_PREFIX = 'v1:';
/**
 * Prefix of the GCM associated data of a v1 ciphertext; the caller's context follows it. Binding the version into
 * the AAD means a v1 body can never be re-labelled as another version.
 */
export const V1_AAD_PREFIX = 'attune:v1:';
/** HMAC message whose MAC under the AES key is the key hash (docs/encryption.md#key-hash). */
export const KEY_HASH_LABEL = 'attune:key-hash:v1';

/**
 * Prefix of a value encrypted with a data key (docs/encryption.md#envelope-encryption):
 * `e1:<data key id>.<data key version>:<v1 body>`, the header bound into the AAD.
 */
export const ENVELOPE_PREFIX = 'e1:';
/** Context under which a master key wraps a data key: `attune:data-key:<id>.<version>`. */
export const DATA_KEY_WRAP_CONTEXT = 'attune:data-key:';
