import type { EncryptionKey } from '@attune/crypto';
import type { PrismaClient, SqlExecutor } from '@attune/db';
import type { Logger } from 'pino';
import { Keyring } from './keyring/keyring.js';
import { ValueCipher } from './keyring/value-cipher.js';
import { KeyService } from './keys/key-service.js';
import { KeyStore } from './keys/key-store.js';
import type { OwnerDirectory } from './keys/owner-directory.js';
import {
  prepareSecretEnv,
  type ResolvedSecret,
  type ResolvedSecrets,
  SecretResolver,
} from './secret-resolver.js';
import { encodeValue, type SecretValue, type StoredRow, type StoredValue } from './stored-value.js';
import { KeyVersionStore } from './versions/version-store.js';

/** Dependencies of {@link SecretManager}: the database, the owners, the master keys (optional), a logger. */
export interface SecretManagerOptions {
  readonly prisma: PrismaClient;
  readonly sql: SqlExecutor;
  /** Packs and actions, which own secrets (the registry's `PackStore`). */
  readonly owners: OwnerDirectory;
  /** The master keys; or `encryptionKey`, a ring of one. */
  readonly keyring?: Keyring | undefined;
  readonly encryptionKey?: EncryptionKey | undefined;
  readonly logger: Logger;
}

/**
 * The seed's `SecretManager`, as one object over the key service and the resolver: fetch the secrets of an action,
 * decrypt a stored value if needed, encrypt a value, and prepare the env vars. Nothing here logs a value.
 */
export class SecretManager {
  /** Secret CRUD and versions, for an actor. */
  readonly keys: KeyService;
  readonly #resolver: SecretResolver;
  readonly #keyring: Keyring;
  readonly #cipher: ValueCipher;
  readonly #sql: SqlExecutor;

  constructor(options: SecretManagerOptions) {
    this.#keyring = options.keyring ?? Keyring.of(options.encryptionKey);
    const logger = options.logger.child({ component: 'secrets' });
    const cipher = new ValueCipher({ keyring: this.#keyring });
    this.#cipher = cipher;
    this.#sql = options.sql;
    this.keys = new KeyService({
      store: new KeyStore(options.prisma),
      versions: new KeyVersionStore(options.prisma),
      owners: options.owners,
      cipher,
      logger,
    });
    this.#resolver = new SecretResolver({ sql: options.sql, cipher, logger });
  }

  /** The seed's `fetch_secrets_for_action`: system → pack → action, most specific wins, failures as warnings. */
  fetchSecretsForAction(actionRef: string): Promise<ResolvedSecrets> {
    return this.#resolver.resolveForAction(actionRef);
  }

  /**
   * The seed's `decrypt_if_needed`: the plaintext of a stored row, in whichever format it was written (under a data
   * key — the row's `dataKeyId` — or directly with a master key). @throws {KeyUndecryptableError}
   */
  decryptIfNeeded(
    row: StoredRow & { readonly dataKeyId?: number | null; readonly currentVersion?: number },
  ): Promise<SecretValue> {
    return this.#cipher.openStored(
      { ...row, dataKeyId: row.dataKeyId ?? null, version: row.currentVersion ?? 1 },
      this.#sql,
    );
  }

  /**
   * The seed's `encrypt_value`: the value encrypted directly with the active master key, bound to `ref` (the seed's
   * one-key design; the key service stores values under data keys instead). @throws {EncryptionKeyRequiredError}
   */
  encryptValue(value: SecretValue, ref: string): StoredValue {
    return encodeValue(value, { ref, encrypted: true, key: this.#keyring.active?.key });
  }

  /** The seed's `prepare_secret_env`: `SECRET_<NAME>` → value. */
  prepareSecretEnv(secrets: readonly ResolvedSecret[]): Record<string, string> {
    return prepareSecretEnv(secrets);
  }
}
