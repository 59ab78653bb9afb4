import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import {
  DbError,
  DbErrorCode,
  MigrationFailedEarlierError,
  MigrationFailedError,
  MigrationModifiedError,
} from './errors.js';
import type { SqlExecutor, SqlSession } from './sql-executor.js';

/**
 * Prisma's advisory lock key for migrations (`prisma migrate deploy` takes the same one), so our applier and Prisma's
 * never run at once against one database.
 */
export const PRISMA_MIGRATION_LOCK_KEY = 72707369;

/** The repository's `prisma/migrations` folder. */
export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('../../../prisma/migrations', import.meta.url));

/** Prisma's own bookkeeping table, created exactly as `prisma migrate deploy` creates it. */
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

/** One migration folder on disk. */
export interface MigrationFile {
  /** Folder name, `<14-digit timestamp>_<name>`. */
  readonly name: string;
  /** SQL text of `migration.sql`. */
  readonly sql: string;
  /** Hex SHA-256 of the file's bytes: Prisma's checksum. */
  readonly checksum: string;
}

/** What {@link migrate} did. */
export interface MigrationReport {
  /** Migrations applied by this run, in order. */
  readonly applied: string[];
  /** Migrations that were already applied. */
  readonly alreadyApplied: string[];
}

interface MigrationRow {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
  started_at: Date;
}

/** Reads the migration folders in order. */
export function readMigrations(dir: string = DEFAULT_MIGRATIONS_DIR): MigrationFile[] {
  if (!existsSync(dir)) {
    throw new DbError(DbErrorCode.MigrationsMissing, 'internal', `No migrations folder at ${dir}.`);
  }
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, 'migration.sql')))
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const bytes = readFileSync(join(dir, name, 'migration.sql'));
      return {
        name,
        sql: bytes.toString('utf8'),
        checksum: createHash('sha256').update(bytes).digest('hex'),
      };
    });
}

/**
 * Applies pending migrations the way `prisma migrate deploy` does, keeping `_prisma_migrations` compatible with it:
 * under Prisma's advisory lock, refusing edited migrations and unresolved failures, and idempotent. Unlike Prisma,
 * each migration runs in a transaction with its bookkeeping row, so a failure leaves nothing half-applied; the
 * failure is recorded as rolled back (Prisma re-applies such rows too).
 */
export async function migrate(
  sql: SqlExecutor,
  options: { migrationsDir?: string; logger?: Logger } = {},
): Promise<MigrationReport> {
  const migrations = readMigrations(options.migrationsDir);
  const logger = options.logger;
  return sql.withSession((session) =>
    underMigrationLock(session, async () => {
      const rows = await session.query<MigrationRow>(
        'SELECT id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at ' +
          'FROM "_prisma_migrations" ORDER BY started_at, migration_name',
      );
      const unresolved = rows.find((row) => row.finished_at === null && row.rolled_back_at === null);
      if (unresolved) {
        throw new MigrationFailedEarlierError(
          unresolved.migration_name,
          unresolved.started_at,
          unresolved.logs,
        );
      }
      const applied = new Map(
        rows
          .filter((row) => row.finished_at !== null && row.rolled_back_at === null)
          .map((r) => [r.migration_name, r]),
      );
      const local = new Set(migrations.map((m) => m.name));
      for (const name of applied.keys()) {
        if (!local.has(name)) {
          logger?.warn(
            { migration: name },
            'applied migration has no folder here: this build may be older than the database',
          );
        }
      }
      const report: MigrationReport = { applied: [], alreadyApplied: [] };
      for (const migration of migrations) {
        const row = applied.get(migration.name);
        if (row) {
          if (row.checksum !== migration.checksum) throw new MigrationModifiedError(migration.name);
          report.alreadyApplied.push(migration.name);
          continue;
        }
        await applyOne(session, migration);
        logger?.info({ migration: migration.name }, 'migration applied');
        report.applied.push(migration.name);
      }
      return report;
    }),
  );
}

/**
 * Runs `fn` holding Prisma's migration lock, with the bookkeeping table in place. On failure the unlock is best
 * effort: the error propagates, the session is discarded, and closing its connection frees the lock.
 */
async function underMigrationLock<T>(session: SqlSession, fn: () => Promise<T>): Promise<T> {
  await session.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATION_LOCK_KEY]);
  let result: T;
  try {
    await session.exec(CREATE_MIGRATIONS_TABLE);
    result = await fn();
  } catch (error) {
    await session.query('SELECT pg_advisory_unlock($1)', [PRISMA_MIGRATION_LOCK_KEY]).catch(() => undefined);
    throw error;
  }
  await session.query('SELECT pg_advisory_unlock($1)', [PRISMA_MIGRATION_LOCK_KEY]);
  return result;
}

async function applyOne(session: SqlSession, migration: MigrationFile): Promise<void> {
  const startedAt = new Date();
  try {
    await session.transaction(async (tx) => {
      await tx.exec(migration.sql);
      await tx.query(
        'INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, logs, rolled_back_at, ' +
          'started_at, applied_steps_count) VALUES ($1, $2, now(), $3, NULL, NULL, $4, 1)',
        [randomUUID(), migration.checksum, migration.name, startedAt],
      );
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await session.query(
      'INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, logs, rolled_back_at, ' +
        'started_at, applied_steps_count) VALUES ($1, $2, NULL, $3, $4, now(), $5, 0)',
      [randomUUID(), migration.checksum, migration.name, `rolled back by attune-db: ${message}`, startedAt],
    );
    throw new MigrationFailedError(migration.name, error);
  }
}

/**
 * Marks an unfinished migration as rolled back (`prisma migrate resolve --rolled-back`), after an operator has
 * undone its partial changes. Returns false when no unfinished row of that name exists.
 */
export async function resolveRolledBack(sql: SqlExecutor, migration: string): Promise<boolean> {
  return sql.withSession((session) =>
    underMigrationLock(session, async () => {
      const rows = await session.query<{ id: string }>(
        'UPDATE "_prisma_migrations" SET rolled_back_at = now() ' +
          'WHERE migration_name = $1 AND finished_at IS NULL AND rolled_back_at IS NULL RETURNING id',
        [migration],
      );
      return rows.length > 0;
    }),
  );
}
