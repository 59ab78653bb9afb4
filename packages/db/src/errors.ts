import { AttuneError, type ErrorCategory } from '@attune/core';

/** Stable codes of the errors `@attune/db` throws. */
export const DbErrorCode = {
  Config: 'ATTUNE_DB_CONFIG',
  MigrationModified: 'ATTUNE_DB_MIGRATION_MODIFIED',
  MigrationFailedEarlier: 'ATTUNE_DB_MIGRATION_FAILED_EARLIER',
  MigrationFailed: 'ATTUNE_DB_MIGRATION_FAILED',
  MigrationsMissing: 'ATTUNE_DB_MIGRATIONS_MISSING',
  EmbeddedBusy: 'ATTUNE_DB_EMBEDDED_BUSY',
} as const;

/** One of {@link DbErrorCode}'s values. */
export type DbErrorCode = (typeof DbErrorCode)[keyof typeof DbErrorCode];

/** Base class of the operational errors of `@attune/db`. */
export class DbError extends AttuneError {
  /** Stable code; callers branch on it, never on the message. */
  declare readonly code: DbErrorCode;

  constructor(code: DbErrorCode, category: ErrorCategory, message: string, options?: ErrorOptions) {
    super({ code, category, message, cause: options?.cause });
  }
}

/** The database configuration is invalid; the message names the setting and what is wrong with it. */
export class DatabaseConfigError extends DbError {
  constructor(message: string) {
    super(DbErrorCode.Config, 'invalid', message);
  }
}

/** An applied migration's file no longer matches the checksum recorded when it was applied. */
export class MigrationModifiedError extends DbError {
  /** Directory name of the migration. */
  readonly migration: string;

  constructor(migration: string) {
    super(
      DbErrorCode.MigrationModified,
      'internal',
      `Migration ${migration} was edited after it was applied: its migration.sql no longer matches the checksum in ` +
        '_prisma_migrations. Restore the file as applied and put the change in a new migration.',
    );
    this.migration = migration;
  }
}

/** An earlier migration failed (left unfinished, not rolled back); nothing more is applied until it is resolved. */
export class MigrationFailedEarlierError extends DbError {
  /** Directory name of the migration. */
  readonly migration: string;

  constructor(migration: string, startedAt: Date, logs: string | null) {
    super(
      DbErrorCode.MigrationFailedEarlier,
      'internal',
      `Migration ${migration} started at ${startedAt.toISOString()} and never finished${logs ? ` (${firstLine(logs)})` : ''}. ` +
        'Its changes may be half-applied. Inspect the database, undo or complete them by hand, then run ' +
        `\`attune-db migrate --resolve-rolled-back ${migration}\` (or \`prisma migrate resolve --rolled-back\`).`,
    );
    this.migration = migration;
  }
}

/** A migration failed now. It ran in a transaction, so nothing of it was applied. */
export class MigrationFailedError extends DbError {
  /** Directory name of the migration. */
  readonly migration: string;

  constructor(migration: string, cause: unknown) {
    super(
      DbErrorCode.MigrationFailed,
      'internal',
      `Migration ${migration} failed and was rolled back; nothing of it was applied: ${
        cause instanceof Error ? firstLine(cause.message) : 'unknown error'
      }. Fix the migration and run migrate again.`,
      { cause },
    );
    this.migration = migration;
  }
}

function firstLine(text: string): string {
  return text.split('\n')[0]?.slice(0, 300) ?? '';
}

/**
 * The embedded database is open in another process. PGlite has one writer: two processes on one folder lose each
 * other's writes, so the second is refused. The message names the holder and what to do instead.
 */
export class EmbeddedDatabaseBusyError extends DbError {
  /** The process holding the database. */
  readonly pid: number;

  constructor(dataDir: string, holder: { pid: number; command: string }) {
    super(
      DbErrorCode.EmbeddedBusy,
      'unavailable',
      `The embedded database ${dataDir} is in use by another process: pid ${holder.pid} (${holder.command}). ` +
        "Two processes on it would lose each other's writes. Work through that process (e.g. the HTTP API), stop it, " +
        'or set DATABASE_URL to a PostgreSQL server that several processes can share.',
    );
    this.pid = holder.pid;
  }
}
