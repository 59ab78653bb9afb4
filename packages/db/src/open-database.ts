import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import type { DatabaseConfig } from './config.js';
import { lockEmbeddedDatabase } from './embedded-lock.js';
import { DatabaseConfigError } from './errors.js';
import { PrismaClient } from './generated/prisma/client.js';
import { pgExecutor, pgliteExecutor, type SqlExecutor } from './sql-executor.js';

/** An open database: the Prisma client and the raw-SQL executor share one pool (or one PGlite instance). */
export interface Database {
  /** `postgres` (a server) or `pglite` (embedded). */
  readonly kind: DatabaseConfig['kind'];
  /** Prisma client over the same connections as {@link Database.sql}. */
  readonly prisma: PrismaClient;
  /** Raw SQL for hot paths and migrations. */
  readonly sql: SqlExecutor;
  /** Closes the client and the pool (or the embedded database). Idempotent. */
  close(): Promise<void>;
}

/**
 * Opens the configured database. Does not migrate: call `migrate(db.sql)` first where that is wanted.
 * @throws {EmbeddedDatabaseBusyError} when another live process has the embedded database open.
 */
export async function openDatabase(config: DatabaseConfig): Promise<Database> {
  if (config.kind === 'postgres') {
    const pool = new pg.Pool({ connectionString: config.url, max: config.poolSize });
    // An idle client that errors (server restart) must not crash the process; the pool replaces it.
    pool.on('error', () => undefined);
    const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
    return withClose('postgres', prisma, pgExecutor(pool), () => pool.end());
  }
  let unlock: () => void = () => {};
  if (!config.dataDir.startsWith('memory://')) {
    ensurePrivateDirectory(config.dataDir);
    // One process at a time: PGlite has one writer, and a second process would lose writes silently.
    unlock = lockEmbeddedDatabase(config.dataDir);
  }
  let lite: PGlite;
  try {
    lite = await PGlite.create(config.dataDir);
  } catch (error) {
    unlock();
    throw error;
  }
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(lite) });
  return withClose('pglite', prisma, pgliteExecutor(lite), async () => {
    await lite.close();
    unlock();
  });
}

function withClose(
  kind: DatabaseConfig['kind'],
  prisma: PrismaClient,
  sql: SqlExecutor,
  closeDriver: () => Promise<void>,
): Database {
  let closing: Promise<void> | undefined;
  return {
    kind,
    prisma,
    sql,
    close() {
      closing ??= prisma.$disconnect().then(closeDriver);
      return closing;
    },
  };
}

/**
 * The embedded database's folder is its owner's alone (0700): PGlite writes its files world-readable and -writable
 * (0666, whatever the umask), and they hold ciphertexts, token hashes and plain values. A folder that belongs to
 * another user (someone who created `.attune/pglite` first, in a shared folder) is refused.
 */
function ensurePrivateDirectory(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = lstatSync(dir);
  if (!stat.isDirectory())
    throw new DatabaseConfigError(
      `The embedded database folder ${dir} is not a folder (a symlink is refused).`,
    );
  const self = process.getuid?.();
  if (self !== undefined && stat.uid !== self) {
    throw new DatabaseConfigError(
      `The embedded database folder ${dir} belongs to uid ${stat.uid}, not to this process's user (uid ${self}); ` +
        'choose another folder (ATTUNE__DATABASE__EMBEDDED_DIR) or remove it.',
    );
  }
  if ((stat.mode & 0o777) !== 0o700) chmodSync(dir, 0o700);
}
