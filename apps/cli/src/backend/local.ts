import { existsSync } from 'node:fs';
import { AuditLog, AuditService } from '@attune/audit';
import { TokenService, TokenStore } from '@attune/auth';
import { ExecutionPublisher } from '@attune/broker';
import type { CliConfig } from '@attune/config';
import type { Logger } from '@attune/core';
import { type Database, type DatabaseConfig, migrate, openDatabase } from '@attune/db';
import { ExecutionService, ExecutionStore, SecretUsageService } from '@attune/executions';
import { PackService, PackStore } from '@attune/registry';
import { createSecretsServices } from '@attune/secrets';
import type { Backend, CommandServices } from './services.js';

/** The services a local command calls, over the database it opened. */
export interface LocalServices extends CommandServices {
  readonly executions: ExecutionService;
  readonly audit: AuditService;
}

/**
 * Local mode: the CLI opens the database itself (and, for secrets, holds the encryption key). Every command brings
 * the database up to date first: the embedded default has no separate install step. Opened on first use, closed
 * once by {@link LocalBackend.close}.
 */
export class LocalBackend implements Backend {
  readonly mode = 'local';
  readonly #config: CliConfig;
  readonly #logger: Logger;
  #services: LocalServices | undefined;
  #db: Database | undefined;
  #publisher: ExecutionPublisher | undefined;

  readonly #notice: (text: string) => void;

  /** `notice`: a line for the person running the command (stderr), e.g. that an embedded database was created. */
  constructor(config: CliConfig, logger: Logger, notice: (text: string) => void = () => {}) {
    this.#config = config;
    this.#logger = logger;
    this.#notice = notice;
  }

  /** Where the database is, for a person: the embedded folder, or PostgreSQL's host and database (no credentials). */
  get databaseLocation(): string {
    return describeDatabase(this.#config.database);
  }

  /** Opens and migrates the database, and wires the services over it. */
  async services(): Promise<LocalServices> {
    if (this.#services) return this.#services;
    const target = this.#config.database;
    const creating =
      target.kind === 'pglite' && target.dataDir !== 'memory://' && !existsSync(target.dataDir);
    const db = await openDatabase(target);
    // Never silently: a command run in a new folder without DATABASE_URL makes an embedded database there.
    if (creating)
      this.#notice(
        `attune: created ${describeDatabase(target)} (DATABASE_URL is not set; set it to use PostgreSQL)`,
      );
    try {
      const migrations = await migrate(db.sql, { logger: this.#logger });
      const packs = new PackStore(db.prisma);
      const logger = this.#logger;
      const audit = new AuditLog({ valueKey: this.#config.audit.hmacKey });
      const secrets = createSecretsServices({
        prisma: db.prisma,
        sql: db.sql,
        owners: packs,
        security: this.#config,
        maxVersions: this.#config.secrets.maxVersions,
        logger,
        audit,
      });
      const executions = new ExecutionStore(db.sql);
      this.#db = db;
      this.#services = {
        migrations,
        keys: secrets.keys,
        keyring: secrets.keyrings,
        tokens: new TokenService({ store: new TokenStore(db.prisma), logger, audit }),
        packs: new PackService({ store: packs, logger, audit }),
        audit: new AuditService({ sql: db.sql, log: audit }),
        usage: new SecretUsageService({ executions, keys: secrets.keys }),
        executions: new ExecutionService({
          executions,
          audit,
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
    // What this command recorded joins the audit log's chain now (a failure is logged; the next seal takes it).
    if (this.#services)
      await this.#services.audit
        .seal()
        .catch((error: Error) =>
          this.#logger.warn({ err: { message: error.message } }, 'could not seal the audit log'),
        );
    await this.#db?.close();
  }
}

/** A database for a person: `the embedded database at <folder>`, or `PostgreSQL <host>:<port>/<database>`. */
export function describeDatabase(config: DatabaseConfig): string {
  if (config.kind === 'pglite') return `the embedded database at ${config.dataDir}`;
  try {
    const url = new URL(config.url);
    return `PostgreSQL ${url.hostname}${url.port ? `:${url.port}` : ''}${url.pathname}`;
  } catch {
    return 'PostgreSQL';
  }
}
