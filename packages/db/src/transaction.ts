import type { Prisma, PrismaClient } from './generated/prisma/client.js';
import type { SqlQueryable } from './sql-executor.js';

/**
 * What a Prisma-backed store method runs on: the client, or the transaction of a caller that wants this change to
 * commit together with its own (a version with its secret, an audit event with the change it records).
 */
export type PrismaClientOrTransaction = PrismaClient | Prisma.TransactionClient;

/**
 * Runs `fn` in a transaction: a new one on a client, or the caller's own when `client` already is one. A transaction
 * client is told by its missing `$connect` (Prisma 7.10 gives it a `$transaction` that opens a savepoint, which the
 * embedded database's adapter does not implement): the outer transaction commits or rolls back everything.
 */
export function inTransaction<T>(
  client: PrismaClientOrTransaction,
  fn: (tx: Prisma.TransactionClient) => Promise<T>,
): Promise<T> {
  return '$connect' in client ? client.$transaction(fn) : fn(client);
}

/**
 * A raw-SQL view of a Prisma transaction, so that a raw-SQL store (executions, workers) commits together with a
 * Prisma-backed one (secrets, tokens, packs): pass `sqlOf(tx)` where the store takes a transaction. Rows come back
 * as Prisma reads them (an `int8` column as a bigint: the stores cast ids to text).
 */
export function sqlOf(tx: PrismaClientOrTransaction): SqlQueryable {
  return {
    query<Row extends object>(text: string, params: readonly unknown[] = []): Promise<Row[]> {
      return tx.$queryRawUnsafe<Row[]>(text, ...params);
    },
  };
}
