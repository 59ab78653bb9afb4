import type { AuditLog } from '@attune/audit';
import { type Actor, actorFields, type Logger } from '@attune/core';
import { sqlOf } from '@attune/db';
import { KeyNotFoundError } from '../errors.js';
import type { KeyStore } from './key-store.js';
import type { KeyRow } from './key-types.js';
import { storeCall } from './store-access.js';

/** What deleting and undeleting a secret need: the store, the audit log (in the change's transaction), a logger. */
export interface RemovalDeps {
  readonly store: KeyStore;
  readonly audit: AuditLog;
  readonly logger: Logger;
}

/*
 * Deleting a secret and bringing it back (KeyService.delete, KeyService.undelete): each one transaction with the row
 * locked, audited in it; a soft delete of a deleted secret and an undelete of a live one change nothing.
 */

/**
 * Deletes a secret: softly by default (it stops resolving; its versions are kept; {@link undeleteKey} brings it
 * back), for good with `purge` (the secret and every version).
 * @throws {KeyNotFoundError}
 */
export async function deleteKey(
  deps: RemovalDeps,
  actor: Actor,
  ref: string,
  options: { purge?: boolean } = {},
): Promise<void> {
  const { store, audit, logger } = deps;
  await storeCall('deleting', ref, () =>
    store.transaction(async (tx) => {
      const row = await store.lockByRef(ref, tx);
      if (!row) throw new KeyNotFoundError(ref);
      if (options.purge) {
        await store.deleteByRef(ref, tx);
        await audit.append({ actor, action: 'key.purged', ref, version: row.currentVersion }, sqlOf(tx));
      } else if (row.deletedAt === null) {
        await store.setDeleted(row.id, true, tx);
        await audit.append({ actor, action: 'key.deleted', ref, version: row.currentVersion }, sqlOf(tx));
      }
    }),
  );
  logger.info({ ...actorFields(actor), ref }, options.purge ? 'key purged' : 'key deleted');
}

/** Brings a soft-deleted secret back: it resolves again, at the version it had. @throws {KeyNotFoundError} */
export async function undeleteKey(deps: RemovalDeps, actor: Actor, ref: string): Promise<KeyRow> {
  const { store, audit, logger } = deps;
  const row = await storeCall('undeleting', ref, () =>
    store.transaction(async (tx) => {
      const found = await store.lockByRef(ref, tx);
      if (!found) throw new KeyNotFoundError(ref);
      if (found.deletedAt === null) return found;
      const back = await store.setDeleted(found.id, false, tx);
      await audit.append({ actor, action: 'key.undeleted', ref, version: back.currentVersion }, sqlOf(tx));
      return back;
    }),
  );
  logger.info({ ...actorFields(actor), ref }, 'key undeleted');
  return row;
}
