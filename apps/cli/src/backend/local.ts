import { TokenService, TokenStore } from '@attune/auth';
import { ExecutionPublisher } from '@attune/broker';
import type { CliConfig } from '@attune/config';
import type { Logger } from '@attune/core';
import { EncryptionKey } from '@attune/crypto';
import { type Database, type MigrationReport, migrate, openDatabase } from '@attune/db';
import { ExecutionService, ExecutionStore } from '@attune/executions';
import { PackService, PackStore } from '@attune/registry';
import { KeyService, KeyStore } from '@attune/secrets';

/** The services a local command calls, over the database it opened. */
export interface LocalServices {
  /** What bringing the database up to date applied. */
  readonly migrations: MigrationReport;
  readonly keys: KeyService;
  readonly tokens: TokenService;
  readonly packs: PackService;
  readonly executions: ExecutionService;
}

/**
 * Local mode: the CLI opens the database itself (and, for secrets, holds the encryption key). Every command brings
 * the database up to date first: the embedded default has no separate install step. Opened on first use, closed
 * once by {@link LocalBackend.close}.
 */
export class LocalBackend {
  readonly #config: CliConfig;
  readonly #logger: Logger;
  #services: LocalServices | undefined;
  #db: Database | undefined;
  #publisher: ExecutionPublisher | undefined;

  constructor(config: CliConfig, logger: Logger) {
    this.#config = config;
    this.#logger = logger;
  }

  /** Opens and migrates the database, and wires the services over it. */
  async services(): Promise<LocalServices> {
    if (this.#services) return this.#services;
    const db = await openDatabase(this.#config.database);
    try {
      const migrations = await migrate(db.sql, { logger: this.#logger });
      const key = this.#config.encryptionKey
        ? EncryptionKey.fromPassword(this.#config.encryptionKey)
        : undefined;
      const packs = new PackStore(db.prisma);
      const logger = this.#logger;
      this.#db = db;
      this.#services = {
        migrations,
        keys: new KeyService({ store: new KeyStore(db.prisma), owners: packs, encryptionKey: key, logger }),
        tokens: new TokenService({ store: new TokenStore(db.prisma), logger }),
        packs: new PackService({ store: packs, logger }),
        executions: new ExecutionService({
          executions: new ExecutionStore(db.sql),
          actions: packs,
          publish: (message) => {
            this.#publisher ??= new ExecutionPublisher(this.#config.broker);
            return this.#publisher.publish(message);
          },
          logger,
        }),
      };
      return this.#services;
    } catch (error) {
      await db.close();
      throw error;
    }
  }

  /** Closes the broker connection and the database, if they were opened. */
  async close(): Promise<void> {
    await this.#publisher?.close();
    await this.#db?.close();
  }
}
