import { resolve } from 'node:path';
import type { Database, DatabaseConfig } from '@attune/db';

/** The demo's own embedded database: never the default one, which `attune api` and the CLI use. */
export const DEMO_EMBEDDED_DIR = '.attune/demo';

/** What the demo writes into a database it created, so that a later run knows the data is its own. */
const DEMO_MARK = 'attune-demo: created by pnpm demo, which may rewrite its data';

/** The demo would change data it did not create. The message says what to do. */
export class DemoDatabaseInUseError extends Error {
  readonly code = 'ATTUNE_DEMO_DATABASE_IN_USE';
}

/** The database the demo runs on: PostgreSQL when DATABASE_URL is set, else its own embedded one. */
export function demoDatabase(configured: DatabaseConfig): DatabaseConfig {
  return configured.kind === 'postgres'
    ? configured
    : { kind: 'pglite', dataDir: resolve(DEMO_EMBEDDED_DIR) };
}

/**
 * Refuses a database that holds Attune data the demo did not create: the demo stores secrets under names an
 * operator may use too (`system.api_key`, the seed's own example), and must never overwrite them. A database
 * without Attune's tables, with empty ones, or marked by an earlier demo run is the demo's.
 * @throws {DemoDatabaseInUseError}
 */
export async function assertDemoMayWrite(db: Database): Promise<void> {
  const [schema] = await db.sql.query<{ present: boolean; mark: string | null }>(
    `SELECT to_regclass('attune.key') IS NOT NULL AS present,
            obj_description((SELECT oid FROM pg_namespace WHERE nspname = 'attune'), 'pg_namespace') AS mark`,
  );
  if (!schema?.present || schema.mark === DEMO_MARK) return;
  const [counts] = await db.sql.query<{ keys: number; packs: number; executions: number; tokens: number }>(
    `SELECT (SELECT count(*) FROM attune.key)::int AS keys, (SELECT count(*) FROM attune.pack)::int AS packs,
            (SELECT count(*) FROM attune.execution)::int AS executions,
            (SELECT count(*) FROM attune.api_token)::int AS tokens`,
  );
  const held = Object.entries(counts ?? {}).filter(([, n]) => n > 0);
  if (held.length === 0) return;
  throw new DemoDatabaseInUseError(
    `The database at DATABASE_URL holds Attune data the demo did not create (${held.map(([what, n]) => `${n} ${what}`).join(', ')}). ` +
      'The demo never changes data it did not create: unset DATABASE_URL (it then uses an embedded database of its own, ' +
      `${DEMO_EMBEDDED_DIR}), or point DATABASE_URL at an empty database.`,
  );
}

/** Marks a database as the demo's (after its migrations), so that later runs may rewrite what they wrote. */
export async function markDemoDatabase(db: Database): Promise<void> {
  await db.sql.query(`COMMENT ON SCHEMA "attune" IS '${DEMO_MARK}'`);
}
