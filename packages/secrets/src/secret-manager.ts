import type { EncryptionKey } from '@attune/crypto';
import type { PrismaClient, SqlExecutor } from '@attune/db';
import type { Logger } from 'pino';
import { KeyRepository } from './key-repository.js';
import {
  prepareSecretEnv,
  type ResolvedSecret,
  type ResolvedSecrets,
  SecretResolver,
} from './secret-resolver.js';
import {
  decodeValue,
  encodeValue,
  type SecretValue,
  type StoredRow,
  type StoredValue,
} from './stored-value.js';

/** Dependencies of {@link SecretManager}: the database, the configured key (optional) and a logger. */
export interface SecretManagerOptions {
  readonly prisma: PrismaClient;
  readonly sql: SqlExecutor;
  readonly encryptionKey?: EncryptionKey | undefined;
  readonly logger: Logger;
}

/**
 * The seed's `SecretManager`, as one object over the repository and the resolver: fetch the secrets of an action,
 * decrypt a stored value if needed, encrypt a value, and prepare the env vars. Nothing here logs a value.
 */
export class SecretManager {
  /** Key CRUD. */
  readonly keys: KeyRepository;
  readonly #resolver: SecretResolver;
  readonly #key: EncryptionKey | undefined;

  constructor(options: SecretManagerOptions) {
    this.#key = options.encryptionKey;
    const logger = options.logger.child({ component: 'secrets' });
    this.keys = new KeyRepository({ prisma: options.prisma, encryptionKey: options.encryptionKey, logger });
    this.#resolver = new SecretResolver({ sql: options.sql, encryptionKey: options.encryptionKey, logger });
  }

  /** The seed's `fetch_secrets_for_action`: system → pack → action, most specific wins, failures as warnings. */
  fetchSecretsForAction(actionRef: string): Promise<ResolvedSecrets> {
    return this.#resolver.resolveForAction(actionRef);
  }

  /** The seed's `decrypt_if_needed`. @throws {KeyUndecryptableError} */
  decryptIfNeeded(row: StoredRow): SecretValue {
    return decodeValue(row, this.#key);
  }

  /** The seed's `encrypt_value`: the stored form of a value for the key `ref`. @throws {EncryptionKeyRequiredError} */
  encryptValue(value: SecretValue, ref: string): StoredValue {
    return encodeValue(value, { ref, encrypted: true, key: this.#key });
  }

  /** The seed's `prepare_secret_env`: `SECRET_<NAME>` → value. */
  prepareSecretEnv(secrets: readonly ResolvedSecret[]): Record<string, string> {
    return prepareSecretEnv(secrets);
  }
}
