import { randomBytes } from 'node:crypto';

/** Bytes of CSPRNG output in a generated password: 256 bits, the strength of the AES key it derives. */
const GENERATED_PASSWORD_BYTES = 32;

/**
 * Returns a new random password for `ATTUNE__SECURITY__ENCRYPTION_KEY`: 32 bytes from the CSPRNG as unpadded
 * base64url, 43 characters, above the 32-character minimum and safe in YAML, shell and env files unquoted.
 */
export function generatePassword(): string {
  return randomBytes(GENERATED_PASSWORD_BYTES).toString('base64url');
}
