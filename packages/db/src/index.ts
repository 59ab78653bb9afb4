/**
 * `@attune/db`: the Prisma client over PostgreSQL or embedded PGlite, raw SQL for hot paths, and the migration
 * applier that keeps Prisma's bookkeeping. Concepts: docs/database.md.
 */
export { type DatabaseConfig, DEFAULT_EMBEDDED_DIR, databaseConfigFromEnv } from './config.js';
export { EMBEDDED_LOCK_FILE, lockEmbeddedDatabase, processStartTime } from './embedded-lock.js';
export {
  DatabaseConfigError,
  DbError,
  DbErrorCode,
  EmbeddedDatabaseBusyError,
  MigrationFailedEarlierError,
  MigrationFailedError,
  MigrationModifiedError,
} from './errors.js';
export * from './generated/prisma/client.js';
export {
  DEFAULT_MIGRATIONS_DIR,
  type MigrationFile,
  type MigrationReport,
  migrate,
  PRISMA_MIGRATION_LOCK_KEY,
  readMigrations,
  resolveRolledBack,
} from './migrator.js';
export { type Database, openDatabase } from './open-database.js';
export { readSchemaMark, writeSchemaMark } from './schema-mark.js';
export {
  pgExecutor,
  pgliteExecutor,
  ping,
  type SqlExecutor,
  type SqlQueryable,
  type SqlSession,
  type SqlStatement,
} from './sql-executor.js';
export { inTransaction, type PrismaClientOrTransaction, sqlOf } from './transaction.js';
