import type { AuditLog } from '@attune/audit';
import type { Logger } from '@attune/core';
import type { PrismaClient, SqlExecutor } from '@attune/db';
import { KeyService } from '../keys/key-service.js';
import { KeyStore } from '../keys/key-store.js';
import type { OwnerDirectory } from '../keys/owner-directory.js';
import { SecretResolver } from '../secret-resolver.js';
import { KeyVersionStore } from '../versions/version-store.js';
import { Keyring } from './keyring.js';
import { KeyringService } from './keyring-service.js';
import { ValueCipher } from './value-cipher.js';

/** The secrets services of a process, sharing one keyring and one cache of unwrapped data keys. */
export interface SecretsServices {
  readonly keyring: Keyring;
  readonly keys: KeyService;
  readonly keyrings: KeyringService;
  readonly resolver: SecretResolver;
}

/**
 * Wires the secrets services over an open database, as the worker, the API and the CLI run them: the keyring from
 * configuration (`security.keyring`, `security.activeKeyId`), the key service with its stores, the keyring service
 * and the resolver.
 */
export function createSecretsServices(options: {
  prisma: PrismaClient;
  sql: SqlExecutor;
  owners: OwnerDirectory;
  security: {
    readonly keyring: ReadonlyArray<{ id: string; password: string }>;
    readonly activeKeyId: string | undefined;
  };
  maxVersions?: number;
  logger: Logger;
  /** The audit log changes, decrypts and keyring operations are recorded in (default: a new one). */
  audit?: AuditLog;
}): SecretsServices {
  const keyring = Keyring.fromConfig(options.security.keyring, options.security.activeKeyId);
  const cipher = new ValueCipher({ keyring });
  return {
    keyring,
    keys: new KeyService({
      store: new KeyStore(options.prisma),
      versions: new KeyVersionStore(options.prisma),
      owners: options.owners,
      cipher,
      logger: options.logger,
      ...(options.maxVersions === undefined ? {} : { maxVersions: options.maxVersions }),
      ...(options.audit ? { audit: options.audit } : {}),
    }),
    keyrings: new KeyringService({
      sql: options.sql,
      cipher,
      owners: options.owners,
      logger: options.logger,
      ...(options.audit ? { audit: options.audit } : {}),
    }),
    resolver: new SecretResolver({ sql: options.sql, cipher, logger: options.logger }),
  };
}
