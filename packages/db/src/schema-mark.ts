import type { SqlQueryable } from './sql-executor.js';

/**
 * A note an application keeps on schema `attune` itself (a comment on the schema), e.g. the demo's record of what it
 * wrote. `present` says whether Attune's tables exist at all (a database never migrated has none).
 */
export async function readSchemaMark(sql: SqlQueryable): Promise<{ present: boolean; mark: string | null }> {
  const [row] = await sql.query<{ present: boolean; mark: string | null }>(
    `SELECT to_regclass('attune.key') IS NOT NULL AS present,
            obj_description((SELECT oid FROM pg_namespace WHERE nspname = 'attune'), 'pg_namespace') AS mark`,
  );
  return { present: row?.present ?? false, mark: row?.mark ?? null };
}

/** Replaces the note on schema `attune` (which must exist: migrate first). */
export async function writeSchemaMark(sql: SqlQueryable, text: string): Promise<void> {
  // COMMENT takes a literal, not a parameter: quotes doubled.
  await sql.query(`COMMENT ON SCHEMA "attune" IS '${text.replaceAll("'", "''")}'`);
}
