/**
 * Test support (`@attune/db/testing`): each test file gets its own database, cloned from a migrated template, so
 * files run in parallel and leave nothing behind. Not for production code.
 */
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate, readMigrations } from './migrator.js';
import { type Database, openDatabase } from './open-database.js';

/** Where tests find PostgreSQL: DATABASE_URL (any database on the server), else the loopback default. */
export function testServerUrl(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';
}

/** A database of one test file. */
export interface TestDatabase extends Database {
  /** Connection URL of this database (undefined for PGlite). */
  readonly url: string | undefined;
  /** Closes and drops the database. */
  drop(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/**
 * Creates a fresh, migrated database for one test file: PostgreSQL (default) or in-memory PGlite. `poolSize`: the
 * PostgreSQL pool's connections (default 5; a benchmark gives the product's default, 10).
 */
export async function createTestDatabase(
  options: { kind?: 'postgres' | 'pglite'; poolSize?: number } = {},
): Promise<TestDatabase> {
  if (options.kind === 'pglite') {
    const db = await openDatabase({ kind: 'pglite', dataDir: 'memory://' });
    await migrate(db.sql);
    return { ...db, url: undefined, drop: () => db.close() };
  }
  const serverUrl = testServerUrl();
  const template = await ensureTemplate(serverUrl);
  const name = `attune_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withAdmin(serverUrl, (admin) => admin.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`));
  const url = withDatabase(serverUrl, name);
  const db = await openDatabase({ kind: 'postgres', url, poolSize: options.poolSize ?? 5 });
  return {
    ...db,
    url,
    async drop() {
      await db.close();
      await withAdmin(serverUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

/**
 * A template database migrated to the current migrations, named by their checksums, built once per set of
 * migrations under an advisory lock so parallel test processes build it once.
 */
async function ensureTemplate(serverUrl: string): Promise<string> {
  const digest = createHash('sha256');
  for (const migration of readMigrations()) digest.update(`${migration.name}:${migration.checksum}\n`);
  const template = `attune_tpl_${digest.digest('hex').slice(0, 16)}`;
  await withAdmin(serverUrl, async (admin) => {
    await admin.query('SELECT pg_advisory_lock(727073690)');
    try {
      const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [template]);
      if (exists.rowCount) return;
      const building = `${template}_building_${randomBytes(3).toString('hex')}`;
      await admin.query(`CREATE DATABASE "${building}"`);
      const db = await openDatabase({
        kind: 'postgres',
        url: withDatabase(serverUrl, building),
        poolSize: 1,
      });
      try {
        await migrate(db.sql);
      } finally {
        await db.close();
      }
      await admin.query(`ALTER DATABASE "${building}" RENAME TO "${template}"`);
      // Templates of earlier migration sets are dead weight now; drop those nobody is connected to.
      const { rows: stale } = await admin.query<{ datname: string }>(
        `SELECT datname FROM pg_database d WHERE datname LIKE 'attune\\_tpl\\_%' AND datname <> $1
           AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)`,
        [template],
      );
      for (const { datname } of stale)
        await admin.query(`DROP DATABASE IF EXISTS "${datname}"`).catch(() => undefined);
    } finally {
      await admin.query('SELECT pg_advisory_unlock(727073690)');
    }
  });
  return template;
}

async function withAdmin<T>(serverUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
