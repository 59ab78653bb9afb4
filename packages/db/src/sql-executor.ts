import type { PGlite, Transaction as PGliteTransaction } from '@electric-sql/pglite';
import type pg from 'pg';

/**
 * The few raw-SQL operations Attune needs beside Prisma (the resolver's hot query, the migration applier), over
 * either a `pg` pool or an embedded PGlite database. Both return rows with JSONB parsed and int4 as numbers.
 */
export interface SqlExecutor {
  /** Which engine is behind this executor. */
  readonly kind: 'postgres' | 'pglite';
  /**
   * Runs one parameterised statement. `name` makes it a prepared statement on PostgreSQL (parsed and planned once
   * per connection); PGlite ignores it.
   */
  query<Row extends object>(text: string, params?: readonly unknown[], name?: string): Promise<Row[]>;
  /** Runs a script of several statements without parameters (simple query protocol). */
  exec(script: string): Promise<void>;
  /** Runs `fn` on one dedicated connection, for session state such as advisory locks and transactions. */
  withSession<T>(fn: (session: SqlSession) => Promise<T>): Promise<T>;
}

/**
 * What a raw-SQL store method runs on: the executor (any pooled connection), or a caller's {@link SqlSession} inside
 * a transaction, so that the statement commits with the caller's others. `name` (a prepared statement) is used by
 * the executor and ignored by a session.
 */
export type SqlQueryable = Pick<SqlExecutor, 'query'>;

/** One parameterised statement, for a caller that composes it with another (e.g. an audit event: `AuditLog.along`). */
export interface SqlStatement {
  readonly text: string;
  readonly params: readonly unknown[];
}

/** One connection: statements run in order on it. */
export interface SqlSession {
  query<Row extends object>(text: string, params?: readonly unknown[]): Promise<Row[]>;
  exec(script: string): Promise<void>;
  /** Runs `fn` in a transaction on this connection: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlSession) => Promise<T>): Promise<T>;
}

/** A {@link SqlExecutor} over a `pg` pool, shared with Prisma's adapter. */
export function pgExecutor(pool: pg.Pool): SqlExecutor {
  return {
    kind: 'postgres',
    async query<Row extends object>(text: string, params: readonly unknown[] = [], name?: string) {
      const result = await pool.query<Row>(
        name === undefined ? { text, values: [...params] } : { name, text, values: [...params] },
      );
      return result.rows;
    },
    async exec(script) {
      await pool.query(script);
    },
    async withSession(fn) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        const session: SqlSession = {
          async query<Row extends object>(text: string, params: readonly unknown[] = []) {
            return (await client.query<Row>(text, [...params])).rows;
          },
          async exec(script) {
            await client.query(script);
          },
          async transaction(body) {
            await client.query('BEGIN');
            try {
              const result = await body(session);
              await client.query('COMMIT');
              return result;
            } catch (error) {
              await client.query('ROLLBACK');
              throw error;
            }
          },
        };
        return await fn(session);
      } catch (error) {
        // A connection whose session state is unknown (open transaction, held lock) is not returned to the pool.
        broken = error instanceof Error ? error : new Error('session failed');
        throw error;
      } finally {
        client.release(broken);
      }
    },
  };
}

/** A {@link SqlExecutor} over an embedded PGlite database (a single connection). */
export function pgliteExecutor(db: PGlite): SqlExecutor {
  const session = (target: PGlite | PGliteTransaction): SqlSession => ({
    async query<Row extends object>(text: string, params: readonly unknown[] = []) {
      return (await target.query<Row>(text, [...params])).rows;
    },
    async exec(script) {
      await target.exec(script);
    },
    async transaction(body) {
      if (target !== db) return body(session(target)); // already inside one: PGlite has no nesting
      return db.transaction((tx) => body(session(tx)));
    },
  });
  let queue: Promise<unknown> = Promise.resolve();
  return {
    kind: 'pglite',
    async query<Row extends object>(text: string, params: readonly unknown[] = []) {
      return (await db.query<Row>(text, [...params])).rows;
    },
    async exec(script) {
      await db.exec(script);
    },
    // PGlite has one connection: sessions take turns, and transactions use PGlite's own transaction API, which
    // holds its connection for the whole transaction.
    withSession<T>(fn: (s: SqlSession) => Promise<T>): Promise<T> {
      const run = queue.then(() => fn(session(db)));
      queue = run.catch(() => undefined);
      return run;
    },
  };
}

/** Whether the database answers (one `SELECT 1`); rejects when it does not. */
export async function ping(sql: SqlQueryable): Promise<void> {
  await sql.query('SELECT 1');
}
