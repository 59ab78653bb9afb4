import { createHash, randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { MigrationFailedEarlierError, MigrationFailedError, MigrationModifiedError } from './errors.js';
import { DEFAULT_MIGRATIONS_DIR, migrate, readMigrations, resolveRolledBack } from './migrator.js';
import { type Database, openDatabase } from './open-database.js';
import { testServerUrl } from './testing.js';

// The applier needs empty databases, not the migrated template other suites clone.
const created: Array<{ name: string; db: Database }> = [];
const admin = new pg.Client({ connectionString: testServerUrl() });
await admin.connect();

async function emptyDatabase(): Promise<Database> {
  const name = `attune_mig_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE "${name}"`);
  const url = new URL(testServerUrl());
  url.pathname = `/${name}`;
  const db = await openDatabase({ kind: 'postgres', url: url.toString(), poolSize: 4 });
  created.push({ name, db });
  return db;
}

function copyMigrations(): string {
  const dir = mkdtempSync(join(tmpdir(), 'attune-migrations-'));
  cpSync(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
  return dir;
}

interface Row {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  applied_steps_count: number;
  logs: string | null;
}
const bookkeeping = (db: Database) =>
  db.sql.query<Row>('SELECT * FROM "_prisma_migrations" ORDER BY started_at, migration_name');

afterAll(async () => {
  for (const { name, db } of created) {
    await db.close();
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  }
  await admin.end();
});

describe('migration applier', () => {
  it('applies every migration once and keeps Prisma bookkeeping', async () => {
    const db = await emptyDatabase();
    const migrations = readMigrations();
    const first = await migrate(db.sql);
    expect(first.applied).toEqual(migrations.map((m) => m.name));
    const rows = await bookkeeping(db);
    expect(rows).toHaveLength(migrations.length);
    for (const [i, row] of rows.entries()) {
      const file = readFileSync(join(DEFAULT_MIGRATIONS_DIR, row.migration_name, 'migration.sql'));
      expect(row.checksum).toBe(createHash('sha256').update(file).digest('hex'));
      expect(row.migration_name).toBe(migrations[i]?.name);
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.rolled_back_at).toBeNull();
      expect(row.applied_steps_count).toBe(1);
    }
    const tables = await db.sql.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'attune' ORDER BY 1",
    );
    // Every table the migration files create exists, and nothing else.
    const declared = migrations
      .flatMap((m) => [...m.sql.matchAll(/CREATE TABLE "attune"\."(\w+)"/g)].map((x) => x[1] as string))
      .sort();
    expect(declared).toEqual(expect.arrayContaining(['action', 'execution', 'key', 'pack']));
    expect(tables.map((t) => t.table_name)).toEqual(declared);
  });

  it('is idempotent', async () => {
    const db = await emptyDatabase();
    await migrate(db.sql);
    const again = await migrate(db.sql);
    expect(again.applied).toEqual([]);
    expect(again.alreadyApplied).toHaveLength(readMigrations().length);
    expect(await bookkeeping(db)).toHaveLength(readMigrations().length);
  });

  it('is safe when two run at once', async () => {
    const db = await emptyDatabase();
    const other = await openDatabase({ kind: 'postgres', url: await urlOf(db), poolSize: 2 });
    try {
      const [a, b] = await Promise.all([migrate(db.sql), migrate(other.sql)]);
      expect([...a.applied, ...b.applied].sort()).toEqual(readMigrations().map((m) => m.name));
      expect(a.applied.length === 0 || b.applied.length === 0).toBe(true);
      expect(await bookkeeping(db)).toHaveLength(readMigrations().length);
    } finally {
      await other.close();
    }
  });

  it('refuses when an applied migration file was edited', async () => {
    const db = await emptyDatabase();
    const dir = copyMigrations();
    await migrate(db.sql, { migrationsDir: dir });
    const name = readMigrations(dir)[0]?.name as string;
    const file = join(dir, name, 'migration.sql');
    writeFileSync(file, `${readFileSync(file, 'utf8')}\n-- an edit\n`);
    await expect(migrate(db.sql, { migrationsDir: dir })).rejects.toThrow(MigrationModifiedError);
    await expect(migrate(db.sql, { migrationsDir: dir })).rejects.toThrow(/was edited after it was applied/);
  });

  it('rolls a failing migration back whole, records it, and applies it once fixed', async () => {
    const db = await emptyDatabase();
    const dir = copyMigrations();
    const bad = join(dir, '29990101000000_broken');
    mkdirSync(bad);
    writeFileSync(
      join(bad, 'migration.sql'),
      'CREATE TABLE "attune"."half" (id int);\nALTER TABLE "attune"."nope" ADD COLUMN x int;\n',
    );
    const error = await migrate(db.sql, { migrationsDir: dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationFailedError);
    expect((error as Error).message).toContain('29990101000000_broken');
    expect((error as Error).message).toContain('nothing of it was applied');
    const half = await db.sql.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'half'");
    expect(half).toHaveLength(0);
    const failed = (await bookkeeping(db)).find((r) => r.migration_name === '29990101000000_broken');
    expect(failed?.finished_at).toBeNull();
    expect(failed?.rolled_back_at).toBeInstanceOf(Date);
    expect(failed?.logs).toContain('nope');
    writeFileSync(join(bad, 'migration.sql'), 'CREATE TABLE "attune"."half" (id int);\n');
    const fixed = await migrate(db.sql, { migrationsDir: dir });
    expect(fixed.applied).toEqual(['29990101000000_broken']);
  });

  it('refuses while an earlier migration is unfinished, until it is resolved', async () => {
    const db = await emptyDatabase();
    await migrate(db.sql);
    await db.sql.query(
      'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, logs, started_at) ' +
        "VALUES ('00000000-0000-4000-8000-000000000001', 'x', '29990101000000_crashed', 'connection lost', now())",
    );
    const error = await migrate(db.sql).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationFailedEarlierError);
    expect((error as Error).message).toMatch(
      /29990101000000_crashed started at .* never finished \(connection lost\)/,
    );
    expect((error as Error).message).toContain('--resolve-rolled-back 29990101000000_crashed');
    expect(await resolveRolledBack(db.sql, '29990101000000_crashed')).toBe(true);
    expect(await resolveRolledBack(db.sql, '29990101000000_crashed')).toBe(false);
    expect((await migrate(db.sql)).applied).toEqual([]);
  });
});

async function urlOf(db: Database): Promise<string> {
  const [row] = await db.sql.query<{ name: string }>('SELECT current_database() AS name');
  const url = new URL(testServerUrl());
  url.pathname = `/${row?.name}`;
  return url.toString();
}
