import { type AuditEventInput, type AuditLog, AuditWriteError } from '@attune/audit';
import type { Actor } from '@attune/core';
import { type Prisma, type SqlQueryable, sqlOf } from '@attune/db';
import { EncryptionKeyRequiredError, KeyUndecryptableError } from '../errors.js';
import type { ValueCipher } from '../keyring/value-cipher.js';
import type { SecretValue } from '../stored-value.js';
import type { KeyVersionStore } from '../versions/version-store.js';
import type { KeyStore } from './key-store.js';
import type { KeyRow } from './key-types.js';

/** What writing a new current version needs. */
export interface VersionWriter {
  readonly keys: KeyStore;
  readonly versions: KeyVersionStore;
  readonly cipher: ValueCipher;
  /** Versions kept when the secret sets none (`secrets.max_versions`). */
  readonly maxVersions: number;
  /** Where every change and reveal is recorded, in the transaction of the change. */
  readonly audit: AuditLog;
}

/**
 * Makes `value` the secret's current value as its next version, in the caller's transaction (the row locked by it):
 * sealed under the owner's active data key, written to the key row and as an immutable version with its actor and
 * origin, then the oldest versions beyond the retention limit pruned. One transaction, so a failure writes nothing.
 */
export async function writeNextVersion(
  w: VersionWriter,
  row: KeyRow,
  change: {
    value: SecretValue;
    encrypted: boolean;
    actor: Actor;
    origin: 'update' | 'rollback';
    sourceVersion?: number;
    maxVersions?: number | null;
    /** When the new value expires; null: never. */
    expiresAt: Date | null;
  },
  tx: Prisma.TransactionClient,
): Promise<KeyRow> {
  const sealed = await w.cipher.seal(
    change.value,
    { ref: row.ref, owner: row, encrypted: change.encrypted, version: row.currentVersion + 1 },
    sqlOf(tx),
  );
  const version = row.currentVersion + 1;
  if (change.maxVersions !== undefined) await w.keys.setMaxVersions(row.id, change.maxVersions, tx);
  const updated = await w.keys.writeCurrent(row.id, sealed, version, change.expiresAt, tx);
  // Retention first (the newest `keep - 1` old versions stay, beside the new one), so that the event names them.
  const pruned = await w.versions.prune(row.id, (updated.maxVersions ?? w.maxVersions) - 1, tx);
  await insertVersionWithEvent(
    w,
    {
      ...sealed,
      keyId: row.id,
      version,
      origin: change.origin,
      sourceVersion: change.sourceVersion,
      actor: change.actor,
      expiresAt: change.expiresAt,
    },
    {
      actor: change.actor,
      action: change.origin === 'rollback' ? 'key.rolled_back' : 'key.updated',
      ref: row.ref,
      version,
      value: change.value,
      detail: {
        encrypted: sealed.encrypted,
        data_key: sealed.dataKeyId,
        ...(change.sourceVersion === undefined ? {} : { source_version: change.sourceVersion }),
        ...(change.expiresAt === null ? {} : { expires_at: change.expiresAt.toISOString() }),
        ...(pruned.length ? { pruned } : {}),
      },
    },
    tx,
  );
  return updated;
}

/**
 * Runs a decrypt; when the system refuses it (no master key) or it fails (a value that cannot be decrypted), records
 * that with its outcome and reason — never fail-closed: nothing was revealed — then rethrows.
 */
export async function decryptRecordingRefusals<T>(
  audit: AuditLog,
  q: SqlQueryable,
  event: { actor: Actor; action: 'key.decrypted' | 'key.version_decrypted'; ref: string; version: number },
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof EncryptionKeyRequiredError || error instanceof KeyUndecryptableError)
      await audit.appendRefusal(
        {
          ...event,
          outcome: error instanceof EncryptionKeyRequiredError ? 'refused' : 'failed',
          detail: { reason: error instanceof KeyUndecryptableError ? error.reason : 'no_key_configured' },
        },
        q,
      );
    throw error;
  }
}

/**
 * Writes a version and the audit event of its change in one statement (one round trip; both or neither). When that
 * statement fails, neither is written and the change is not done ({@link AuditWriteError}, saying so: the version row
 * cannot collide — its secret is locked, its number the next one — so the cause is the database or the audit log).
 */
export async function insertVersionWithEvent(
  w: VersionWriter,
  version: Parameters<KeyVersionStore['insert']>[0],
  event: AuditEventInput,
  tx: Prisma.TransactionClient,
): Promise<void> {
  try {
    await w.versions.insert(version, tx, w.audit.along(event));
  } catch (error) {
    if (error instanceof AuditWriteError) throw error;
    throw new AuditWriteError(event.action, event.ref, true);
  }
}
