import { AttuneError } from '@attune/core';
import type { Prisma } from '@attune/db';
import { KeyDeletedError, KeyNotFoundError, KeyStoreError, KeyVersionConflictError } from '../errors.js';
import { dbCode, type KeyStore } from './key-store.js';
import type { KeyRow } from './key-types.js';

/**
 * Runs a call to the store for a service (keys, versions): an Attune error passes as it is; anything else (the
 * database's, the driver's) becomes a {@link KeyStoreError} naming the operation, the ref and the database's code —
 * never the driver's message, which may echo a value.
 */
export async function storeCall<T>(
  operation: string,
  ref: string | undefined,
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof AttuneError) throw error;
    throw new KeyStoreError(operation, ref, dbCode(error));
  }
}

/**
 * The row at `ref`, locked until `tx` ends, checked to be changeable: it exists, is not deleted (`what` ends the
 * advice: "undelete it before you <what>"), and is at `expected` when given (check-and-set).
 * @throws {KeyNotFoundError} {@link KeyDeletedError} {@link KeyVersionConflictError}
 */
export async function lockForChange(
  store: KeyStore,
  ref: string,
  tx: Prisma.TransactionClient,
  expected: number | undefined,
  what: string,
): Promise<KeyRow> {
  const row = await store.lockByRef(ref, tx);
  if (!row) throw new KeyNotFoundError(ref);
  if (row.deletedAt !== null) throw new KeyDeletedError(ref, `undelete it before you ${what}`);
  if (expected !== undefined && row.currentVersion !== expected)
    throw new KeyVersionConflictError(ref, expected, row.currentVersion);
  return row;
}
