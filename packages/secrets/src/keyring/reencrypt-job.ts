import type { AuditLog } from '@attune/audit';
import { type Actor, AttuneError } from '@attune/core';
import { type DataKeyRef, type EncryptionKey, sealEnvelope } from '@attune/crypto';
import type { SqlExecutor, SqlSession } from '@attune/db';
import { KeyUndecryptableError } from '../errors.js';
import type { OwnerColumns } from '../keys/key-store.js';
import type { SecretValue } from '../stored-value.js';
import { DataKeyStore } from './data-key-store.js';
import type { DataKeyColumns } from './data-keys.js';
import { type OwnerSelection, type Reencrypted, type ReencryptRow, reencryptRows } from './reencrypt-rows.js';
import { type ValueCipher, valueContext } from './value-cipher.js';

/** Values moved per transaction. */
export const REENCRYPT_BATCH = 500;
/** The advisory lock one re-encryption at a time holds (the migration applier's is 72707369). */
export const REENCRYPT_LOCK = 72707370;

/** What {@link reencrypt} did. */
export interface ReencryptReport {
  /** For a rotation: the owner's data key before and after (`resumed`: an unfinished rotation was completed). */
  readonly rotation: { readonly from: number | null; readonly to: number; readonly resumed: boolean } | null;
  /** Values moved to their owner's active data key: current values and versions. */
  readonly reencrypted: { readonly keys: number; readonly versions: number };
  /** Values that could not be decrypted (named by ref and version, with the reason); left as they were. */
  readonly failed: ReadonlyArray<{ readonly ref: string; readonly version: number; readonly reason: string }>;
  readonly seconds: number;
}

/** No data key has this id. */
export class DataKeyNotFoundError extends AttuneError {
  constructor(id: number) {
    super({
      code: 'ATTUNE_SECRETS_DATA_KEY_NOT_FOUND',
      category: 'not_found',
      message: `No data key ${id}.`,
    });
  }
}

/** Another re-encryption holds the lock. */
export class ReencryptionRunningError extends AttuneError {
  constructor() {
    super({
      code: 'ATTUNE_SECRETS_REENCRYPTION_RUNNING',
      category: 'conflict',
      message:
        'Another re-encryption is running (it holds the lock); wait for it, or rerun this one when it is done.',
    });
  }
}

/**
 * Moves stored values to their owner's active data key (docs/secrets-management.md#rotating-a-data-key):
 * - `rotate` (one owner): retires the owner's data key and makes a new one first — after a suspected exposure of
 *   it; an unfinished rotation (values still on a retired key of the owner) is resumed instead of started again;
 * - without: moves what is not on its owner's active data key yet — values of earlier versions encrypted directly
 *   with a master key (the seed's format, `v1:`), and the rest of an interrupted rotation.
 *
 * Online and crash-safe: batches of {@link REENCRYPT_BATCH} values, each one transaction (a value is on its old key
 * or its new one, never in between, and the old key stays readable until it is destroyed explicitly), one run at a
 * time (an advisory lock), and resumable (a rerun finds what is left). Values that cannot be decrypted are reported,
 * never lost.
 */
export async function reencrypt(options: {
  sql: SqlExecutor;
  cipher: ValueCipher;
  selection: OwnerSelection;
  rotate?: boolean;
  onProgress?: (done: number, total: number) => void;
  batchSize?: number;
}): Promise<ReencryptReport> {
  const { sql, cipher, selection } = options;
  if (options.rotate && selection === 'all') throw new Error('A rotation is of one owner’s data key.');
  if (!cipher.keyring.active) throw new Error('No master key is configured: values cannot be re-encrypted.');
  const batch = options.batchSize ?? REENCRYPT_BATCH;
  const store = new DataKeyStore();
  const started = performance.now();
  return sql.withSession(async (session) => {
    const [lock] = await session.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [
      REENCRYPT_LOCK,
    ]);
    if (!lock?.ok) throw new ReencryptionRunningError();
    try {
      const rotation = options.rotate
        ? await rotateOwner(session, cipher, store, selection as OwnerColumns)
        : null;
      const total = await reencryptRows.count(selection, session);
      const active = new Map<string, { ref: DataKeyRef; key: EncryptionKey }>();
      const target = async (row: ReencryptRow, q: SqlSession) => {
        const owner = { ownerType: row.owner_type, ownerPack: row.owner_pack, ownerAction: row.owner_action };
        const id = `${owner.ownerType}:${owner.ownerPack}:${owner.ownerAction}`;
        let found = active.get(id);
        if (!found) {
          found = await cipher.dataKeys.active(owner, row.ref, q);
          active.set(id, found);
        }
        return found;
      };
      const dataKeyRows = new Map<number, DataKeyColumns | null>();
      const dataKeyOf = async (id: number | null, q: SqlSession) => {
        if (id === null) return null;
        if (!dataKeyRows.has(id)) dataKeyRows.set(id, await store.get(id, q));
        return dataKeyRows.get(id) ?? null;
      };
      const failed: Array<{ ref: string; version: number; reason: string }> = [];
      const done = { keys: 0, versions: 0 };
      for (const table of ['keys', 'versions'] as const) {
        let after = '0';
        for (;;) {
          const moved = await session.transaction(async (tx) => {
            const rows = await reencryptRows[table](selection, after, batch, tx);
            const out: Reencrypted[] = [];
            for (const row of rows) {
              let plaintext: SecretValue;
              const dataKeyRow = await dataKeyOf(row.dk_id, tx);
              try {
                plaintext = cipher.open({
                  ref: row.ref,
                  version: row.version,
                  value: row.value,
                  valueType: row.value_type,
                  encrypted: true,
                  encryptionKeyHash: row.encryption_key_hash,
                  dataKey: dataKeyRow,
                });
              } catch (error) {
                if (!(error instanceof KeyUndecryptableError)) throw error;
                failed.push({ ref: row.ref, version: row.version, reason: error.reason });
                continue;
              }
              const dataKey = await target(row, tx);
              const text = typeof plaintext === 'string' ? plaintext : JSON.stringify(plaintext);
              out.push({
                id: row.id,
                value: sealEnvelope(dataKey.key, dataKey.ref, text, valueContext(row.ref, row.version)),
                dataKeyId: dataKey.ref.id,
              });
            }
            await (table === 'keys'
              ? reencryptRows.writeKeys(out, tx)
              : reencryptRows.writeVersions(out, tx));
            return { count: out.length, last: rows.at(-1)?.id };
          });
          if (moved.last === undefined) break;
          after = moved.last;
          done[table] += moved.count;
          options.onProgress?.(done.keys + done.versions, total);
        }
      }
      await reencryptRows.forgetHashesOfDestroyed(selection, session);
      await reencryptRows.markDrained(selection, session);
      return { rotation, reencrypted: done, failed, seconds: (performance.now() - started) / 1000 };
    } finally {
      await session.query('SELECT pg_advisory_unlock($1)', [REENCRYPT_LOCK]);
    }
  });
}

/**
 * Retires the owner's active data key and makes a new one — unless a rotation of it is unfinished (values still on
 * a retired key of the owner), which is then resumed.
 */
async function rotateOwner(
  session: SqlSession,
  cipher: ValueCipher,
  store: DataKeyStore,
  owner: OwnerColumns,
): Promise<NonNullable<ReencryptReport['rotation']>> {
  return session.transaction(async (tx) => {
    // Only values still on a retired key of this owner mean an unfinished rotation. Values that could not be
    // decrypted, or that earlier versions encrypted directly with a master key, never make a rotation a resumption:
    // after an exposure, the active key must be replaced.
    const current = await store.findActive(owner, tx);
    if (current && (await reencryptRows.countOnRetired(owner, tx)) > 0)
      return { from: null, to: current.id, resumed: true };
    const from = await store.retireActive(owner, tx);
    const next = await cipher.dataKeys.active(owner, `data key of ${owner.ownerType}`, tx);
    return { from, to: next.ref.id, resumed: false };
  });
}

/** What {@link destroyDataKey} did. */
export interface DestroyReport {
  readonly dataKey: number;
  /** Values (current values and versions) that decrypt no more. */
  readonly valuesShredded: number;
  readonly destroyed: boolean;
}

/**
 * Destroys a data key (crypto-shredding): its wrapped key is erased for good, and every value it encrypted is
 * unreadable from then on — a deleted pack's secrets, say. Values stay in place (their metadata is history); the
 * owner gets a new data key with its next encrypted write.
 */
export async function destroyDataKey(
  sql: SqlExecutor,
  id: number,
  cipher?: ValueCipher,
  audit?: { log: AuditLog; actor: Actor },
): Promise<DestroyReport> {
  const store = new DataKeyStore();
  const report = await sql.withSession(async (session) => {
    // Not while a re-encryption runs: it may hold this key's rows, and would carry on with what it read.
    const [lock] = await session.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [
      REENCRYPT_LOCK,
    ]);
    if (!lock?.ok) throw new ReencryptionRunningError();
    try {
      return await session.transaction(async (tx) => {
        if (!(await store.get(id, tx))) throw new DataKeyNotFoundError(id);
        const [count] = await tx.query<{ n: number }>(
          `SELECT ((SELECT count(*) FROM "attune"."key" WHERE data_key_id = $1::int)
                 + (SELECT count(*) FROM "attune"."key_version" WHERE data_key_id = $1::int AND value IS NOT NULL))::int AS n`,
          [id],
        );
        const destroyed = await store.destroy(id, tx);
        if (destroyed && audit)
          await audit.log.append(
            {
              actor: audit.actor,
              action: 'keyring.data_key_destroyed',
              detail: { data_key: id, values_shredded: count?.n ?? 0 },
            },
            tx,
          );
        return { dataKey: id, valuesShredded: count?.n ?? 0, destroyed };
      });
    } finally {
      await session.query('SELECT pg_advisory_unlock($1)', [REENCRYPT_LOCK]);
    }
  });
  cipher?.dataKeys.forget(id);
  return report;
}

/** How many values a data key still encrypts (what destroying it would shred). */
export async function valuesUnderDataKey(sql: SqlExecutor, id: number): Promise<number> {
  const [count] = await sql.query<{ n: number }>(
    `SELECT ((SELECT count(*) FROM "attune"."key" WHERE data_key_id = $1::int)
           + (SELECT count(*) FROM "attune"."key_version" WHERE data_key_id = $1::int AND value IS NOT NULL))::int AS n`,
    [id],
  );
  return count?.n ?? 0;
}
