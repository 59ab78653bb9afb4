import type { SqlQueryable } from '@attune/db';
import type { OwnerColumns } from '../keys/key-store.js';

/** A row of `attune.data_key`. `wrapped` and `master_key_hash` are null once it is destroyed. */
export interface DataKeyRow {
  readonly id: number;
  readonly owner_type: OwnerColumns['ownerType'];
  readonly owner_pack: number | null;
  readonly owner_action: number | null;
  readonly version: number;
  readonly state: 'active' | 'retired' | 'destroyed';
  readonly wrapped: string | null;
  readonly master_key_hash: string | null;
}

const COLUMNS =
  'id, owner_type::text AS owner_type, owner_pack, owner_action, version, state, wrapped, master_key_hash';
const OWNER =
  'owner_type = $1::"attune"."owner_type" AND owner_pack IS NOT DISTINCT FROM $2::int AND owner_action IS NOT DISTINCT FROM $3::int';
const ownerParams = (o: OwnerColumns) => [o.ownerType, o.ownerPack, o.ownerAction];

/**
 * The one owner of `attune.data_key` (docs/encryption.md#envelope-encryption). Raw SQL; every method takes the
 * caller's connection or transaction (`sqlOf(tx)` inside a Prisma transaction).
 */
export class DataKeyStore {
  /**
   * The owner's active data key, or null. Read `FOR SHARE`: in a writer's transaction, retiring or destroying it
   * waits for the writer, so a value is never written under a key a rotation has already passed.
   */
  async findActive(owner: OwnerColumns, q: SqlQueryable): Promise<DataKeyRow | null> {
    const [row] = await q.query<DataKeyRow>(
      `SELECT ${COLUMNS} FROM "attune"."data_key" WHERE ${OWNER} AND state = 'active' FOR SHARE`,
      ownerParams(owner),
    );
    return row ?? null;
  }

  /** A data key by id, or null. */
  async get(id: number, q: SqlQueryable): Promise<DataKeyRow | null> {
    const [row] = await q.query<DataKeyRow>(`SELECT ${COLUMNS} FROM "attune"."data_key" WHERE id = $1::int`, [
      id,
    ]);
    return row ?? null;
  }

  /**
   * Creates the owner's next data key version, active. `wrap` gets its id and version (the wrapped key is bound to
   * them) and returns the wrapped key and the master key hash. When another writer created the owner's active key
   * meanwhile, nothing is inserted and null is returned: read that one.
   */
  async createNext(
    owner: OwnerColumns,
    wrap: (ref: { id: number; version: number }) => { wrapped: string; masterKeyHash: string },
    q: SqlQueryable,
  ): Promise<DataKeyRow | null> {
    const [next] = await q.query<{ id: number; version: number }>(
      `SELECT nextval(pg_get_serial_sequence('"attune"."data_key"', 'id'))::int AS id,
              (coalesce((SELECT max(version) FROM "attune"."data_key" WHERE ${OWNER}), 0) + 1)::int AS version`,
      ownerParams(owner),
    );
    const ref = next as { id: number; version: number };
    const { wrapped, masterKeyHash } = wrap(ref);
    const [row] = await q.query<DataKeyRow>(
      `INSERT INTO "attune"."data_key" (id, owner_type, owner_pack, owner_action, version, state, wrapped, master_key_hash)
       VALUES ($4::int, $1::"attune"."owner_type", $2::int, $3::int, $5::int, 'active', $6, $7)
       ON CONFLICT DO NOTHING RETURNING ${COLUMNS}`,
      [...ownerParams(owner), ref.id, ref.version, wrapped, masterKeyHash],
    );
    return row ?? null;
  }

  /** Retires the owner's active data key (it keeps decrypting what it encrypted); returns its id, or null. */
  async retireActive(owner: OwnerColumns, q: SqlQueryable): Promise<number | null> {
    const [row] = await q.query<{ id: number }>(
      `UPDATE "attune"."data_key" SET state = 'retired', retired_at = now() WHERE ${OWNER} AND state = 'active' RETURNING id`,
      ownerParams(owner),
    );
    return row?.id ?? null;
  }

  /** Up to `limit` data keys not destroyed and not wrapped by the master key `masterKeyHash`, by id. */
  notWrappedBy(
    masterKeyHash: string,
    afterId: number,
    limit: number,
    q: SqlQueryable,
  ): Promise<DataKeyRow[]> {
    return q.query<DataKeyRow>(
      `SELECT ${COLUMNS} FROM "attune"."data_key"
       WHERE state <> 'destroyed' AND master_key_hash <> $1 AND id > $2::int ORDER BY id LIMIT $3::int`,
      [masterKeyHash, afterId, limit],
    );
  }

  /**
   * Replaces wrapped keys, each only if it is still wrapped by the master key it was read with (another rewrap
   * meanwhile wins). Returns how many were replaced.
   */
  async rewrap(
    updates: ReadonlyArray<{ id: number; from: string; wrapped: string; masterKeyHash: string }>,
    q: SqlQueryable,
  ): Promise<number> {
    if (updates.length === 0) return 0;
    const rows = await q.query<{ id: number }>(
      `UPDATE "attune"."data_key" d SET wrapped = u.wrapped, master_key_hash = u.hash, rewrapped_at = now()
       FROM unnest($1::int[], $2::text[], $3::text[], $4::text[]) AS u(id, from_hash, wrapped, hash)
       WHERE d.id = u.id AND d.master_key_hash = u.from_hash AND d.state <> 'destroyed'
       RETURNING d.id`,
      [
        updates.map((u) => u.id),
        updates.map((u) => u.from),
        updates.map((u) => u.wrapped),
        updates.map((u) => u.masterKeyHash),
      ],
    );
    return rows.length;
  }

  /** Destroys a data key: its wrapped key is erased for good. Returns false when it was already destroyed. */
  async destroy(id: number, q: SqlQueryable): Promise<boolean> {
    const rows = await q.query<{ id: number }>(
      `UPDATE "attune"."data_key" SET state = 'destroyed', wrapped = NULL, master_key_hash = NULL, destroyed_at = now()
       WHERE id = $1::int AND state <> 'destroyed' RETURNING id`,
      [id],
    );
    return rows.length > 0;
  }

  /** How many data keys each master key wraps, by state (destroyed ones under a null hash). */
  countsByMaster(
    q: SqlQueryable,
  ): Promise<Array<{ master_key_hash: string | null; state: string; count: number }>> {
    return q.query(
      `SELECT master_key_hash, state, count(*)::int AS count FROM "attune"."data_key" GROUP BY 1, 2 ORDER BY 1, 2`,
    );
  }

  /** Every data key of an owner, newest first. */
  ofOwner(owner: OwnerColumns, q: SqlQueryable): Promise<DataKeyRow[]> {
    return q.query<DataKeyRow>(
      `SELECT ${COLUMNS} FROM "attune"."data_key" WHERE ${OWNER} ORDER BY version DESC`,
      ownerParams(owner),
    );
  }
}
