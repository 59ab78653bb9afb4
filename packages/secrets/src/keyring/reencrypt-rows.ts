import type { SqlQueryable } from '@attune/db';
import type { OwnerColumns } from '../keys/key-store.js';

/** A stored value the re-encryption job moves to its owner's active data key. */
export interface ReencryptRow {
  /** The row's id (`attune.key` or `attune.key_version`). */
  readonly id: string;
  readonly ref: string;
  /** The version it holds. */
  readonly version: number;
  readonly owner_type: OwnerColumns['ownerType'];
  readonly owner_pack: number | null;
  readonly owner_action: number | null;
  readonly value: unknown;
  readonly value_type: string;
  readonly encryption_key_hash: string | null;
  /** The data key that encrypts it now (its wrapped key is read once per data key, not per value). */
  readonly dk_id: number | null;
}

/** A re-encrypted value to write back. */
export interface Reencrypted {
  readonly id: string;
  readonly value: string;
  readonly dataKeyId: number;
}

/** Whose values: one owner, or every owner. */
export type OwnerSelection = OwnerColumns | 'all';

const DATA_KEY_COLUMNS = 'd.id AS dk_id';
/** Encrypted, readable, and not under its owner's active data key (one active per owner: `state` says it). */
const NOT_UNDER_ACTIVE = `(d.id IS NULL OR d.state = 'retired')`;
const OWNER = `($1::text IS NULL OR (k.owner_type = $1::"attune"."owner_type" AND k.owner_pack IS NOT DISTINCT FROM $2::int
  AND k.owner_action IS NOT DISTINCT FROM $3::int))`;
const ownerParams = (s: OwnerSelection) =>
  s === 'all' ? [null, null, null] : [s.ownerType, s.ownerPack, s.ownerAction];

/**
 * The batched reads and writes of the re-encryption job (docs/secrets-management.md#rotating-a-data-key), in one
 * place for the two tables that hold values: the current values in `attune.key` and every version in
 * `attune.key_version`. Keyset-paginated by id, rows locked until the caller's transaction ends; ciphertexts only are
 * written (the plaintext, and so the version, is unchanged).
 */
export const reencryptRows = {
  /** How many values of the selection are still to move. */
  async count(selection: OwnerSelection, q: SqlQueryable): Promise<number> {
    const [row] = await q.query<{ n: number }>(
      `SELECT ((SELECT count(*) FROM "attune"."key" k LEFT JOIN "attune"."data_key" d ON d.id = k.data_key_id
                WHERE k.encrypted AND ${OWNER} AND ${NOT_UNDER_ACTIVE})
             + (SELECT count(*) FROM "attune"."key_version" v JOIN "attune"."key" k ON k.id = v.key_id
                LEFT JOIN "attune"."data_key" d ON d.id = v.data_key_id
                WHERE v.encrypted AND v.value IS NOT NULL AND ${OWNER} AND ${NOT_UNDER_ACTIVE}))::int AS n`,
      ownerParams(selection),
    );
    return row?.n ?? 0;
  },

  /**
   * How many values of an owner sit on a retired data key of that owner that no run has drained yet: the rest of an
   * unfinished rotation (values a run could not decrypt stay on a drained key, and never make it a resumption).
   */
  async countOnRetired(owner: OwnerColumns, q: SqlQueryable): Promise<number> {
    const [row] = await q.query<{ n: number }>(
      `SELECT ((SELECT count(*) FROM "attune"."key" k JOIN "attune"."data_key" d ON d.id = k.data_key_id
                WHERE ${OWNER} AND d.state = 'retired' AND d.drained_at IS NULL)
             + (SELECT count(*) FROM "attune"."key_version" v JOIN "attune"."key" k ON k.id = v.key_id
                JOIN "attune"."data_key" d ON d.id = v.data_key_id
                WHERE v.value IS NOT NULL AND ${OWNER} AND d.state = 'retired' AND d.drained_at IS NULL))::int AS n`,
      ownerParams(owner),
    );
    return row?.n ?? 0;
  },

  /** Marks the retired data keys of the selection drained: this run moved off them everything it could. */
  async markDrained(selection: OwnerSelection, q: SqlQueryable): Promise<void> {
    await q.query(
      `UPDATE "attune"."data_key" k SET drained_at = now() WHERE k.state = 'retired' AND k.drained_at IS NULL AND ${OWNER}`,
      ownerParams(selection),
    );
  },

  /**
   * Forgets the key hashes stored beside values that are gone (destroyed versions): in the seed's scheme such a
   * hash is the master key itself, and with no value left it identifies nothing.
   */
  async forgetHashesOfDestroyed(selection: OwnerSelection, q: SqlQueryable): Promise<void> {
    await q.query(
      `UPDATE "attune"."key_version" v SET encryption_key_hash = NULL FROM "attune"."key" k
       WHERE k.id = v.key_id AND v.value IS NULL AND v.encryption_key_hash IS NOT NULL AND ${OWNER}`,
      ownerParams(selection),
    );
  },

  /** The next current values to move, after id `after`, locked. */
  keys(selection: OwnerSelection, after: string, limit: number, q: SqlQueryable): Promise<ReencryptRow[]> {
    return q.query<ReencryptRow>(
      `SELECT k.id::text AS id, k.ref, k.current_version AS version, k.owner_type::text AS owner_type, k.owner_pack,
              k.owner_action, k.value, k.value_type, k.encryption_key_hash, ${DATA_KEY_COLUMNS}
       FROM "attune"."key" k LEFT JOIN "attune"."data_key" d ON d.id = k.data_key_id
       WHERE k.encrypted AND ${OWNER} AND ${NOT_UNDER_ACTIVE} AND k.id > $4::int
       ORDER BY k.id LIMIT $5::int FOR UPDATE OF k`,
      [...ownerParams(selection), after, limit],
    );
  },

  /** The next versions to move, after id `after`, locked. */
  versions(
    selection: OwnerSelection,
    after: string,
    limit: number,
    q: SqlQueryable,
  ): Promise<ReencryptRow[]> {
    return q.query<ReencryptRow>(
      `SELECT v.id::text AS id, k.ref, v.version, k.owner_type::text AS owner_type, k.owner_pack, k.owner_action,
              v.value, v.value_type, v.encryption_key_hash, ${DATA_KEY_COLUMNS}
       FROM "attune"."key_version" v JOIN "attune"."key" k ON k.id = v.key_id
       LEFT JOIN "attune"."data_key" d ON d.id = v.data_key_id
       WHERE v.encrypted AND v.value IS NOT NULL AND ${OWNER} AND ${NOT_UNDER_ACTIVE} AND v.id > $4::bigint
       ORDER BY v.id LIMIT $5::int FOR UPDATE OF v`,
      [...ownerParams(selection), after, limit],
    );
  },

  /** Writes re-encrypted current values. */
  async writeKeys(rows: readonly Reencrypted[], q: SqlQueryable): Promise<void> {
    if (rows.length === 0) return;
    await q.query(
      `UPDATE "attune"."key" k SET value = to_jsonb(u.value), data_key_id = u.dk, encryption_key_hash = NULL
       FROM unnest($1::int[], $2::text[], $3::int[]) AS u(id, value, dk) WHERE k.id = u.id`,
      [rows.map((r) => Number(r.id)), rows.map((r) => r.value), rows.map((r) => r.dataKeyId)],
    );
  },

  /** Writes re-encrypted versions. */
  async writeVersions(rows: readonly Reencrypted[], q: SqlQueryable): Promise<void> {
    if (rows.length === 0) return;
    await q.query(
      `UPDATE "attune"."key_version" v SET value = to_jsonb(u.value), data_key_id = u.dk, encryption_key_hash = NULL
       FROM unnest($1::bigint[], $2::text[], $3::int[]) AS u(id, value, dk) WHERE v.id = u.id`,
      [rows.map((r) => r.id), rows.map((r) => r.value), rows.map((r) => r.dataKeyId)],
    );
  },
};
