import type { EncryptionKey } from '@attune/crypto';
import type { PrismaClient, SqlExecutor } from '@attune/db';
import type { Logger } from 'pino';
import { KeyService } from './keys/key-service.js';
import { KeyStore } from './keys/key-store.js';
import type { OwnerDirectory } from './keys/owner-directory.js';
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

/** Dependencies of {@link SecretManager}: the database, the owners, the configured encryption key (optional), a logger. */
export interface SecretManagerOptions {
  readonly prisma: PrismaClient;
  readonly sql: SqlExecutor;
  /** Packs and actions, which own secrets (the registry's `PackStore`). */
  readonly owners: OwnerDirectory;
  readonly encryptionKey?: EncryptionKey | undefined;
  readonly logger: Logger;
}

/**
 * The seed's `SecretManager`, as one object over the key service and the resolver: fetch the secrets of an action,
 * decrypt a stored value if needed, encrypt a value, and prepare the env vars. Nothing here logs a value.
 */
export class SecretManager {
  /** Secret CRUD, for an actor. */
  readonly keys: KeyService;
  readonly #resolver: SecretResolver;
  readonly #key: EncryptionKey | undefined;

  constructor(options: SecretManagerOptions) {
    this.#key = options.encryptionKey;
    const logger = options.logger.child({ component: 'secrets' });
    this.keys = new KeyService({
      store: new KeyStore(options.prisma),
      owners: options.owners,
      encryptionKey: options.encryptionKey,
      logger,
    });
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

  /** The seed's `encrypt_value`: the stored form of a value for the secret `ref`. @throws {EncryptionKeyRequiredError} */
  encryptValue(value: SecretValue, ref: string): StoredValue {
    return encodeValue(value, { ref, encrypted: true, key: this.#key });
  }

  /** The seed's `prepare_secret_env`: `SECRET_<NAME>` → value. */
  prepareSecretEnv(secrets: readonly ResolvedSecret[]): Record<string, string> {
    return prepareSecretEnv(secrets);
  }
}
