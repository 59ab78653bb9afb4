/**
 * The process environment enters Attune here, and only here: entry points pass {@link processEnvironment} to
 * `loadConfig`, and nothing else reads `process.env` (the crypto package's `ATTUNE_CRYPTO_NATIVE` build switch and
 * the standalone `attune-crypto` / `attune-db` tools excepted: they sit below this package).
 */

/** Environment variables that hold the encryption key or credentials. */
export const CREDENTIAL_ENV = [
  'ATTUNE__SECURITY__ENCRYPTION_KEY',
  'ATTUNE__AUDIT__HMAC_KEY',
  'ATTUNE_TOKEN',
  'ATTUNE__DATABASE__URL',
  'ATTUNE__BROKER__URL',
  'DATABASE_URL',
  'AMQP_URL',
] as const;

/** This process's environment. */
export function processEnvironment(): NodeJS.ProcessEnv {
  return process.env;
}

/**
 * Drops the encryption key and the credentials from this process's environment once the configuration is read, so
 * that nothing the process starts later can inherit them, whatever environment it is given.
 */
export function dropCredentialEnvironment(): void {
  for (const name of CREDENTIAL_ENV) delete process.env[name];
}
