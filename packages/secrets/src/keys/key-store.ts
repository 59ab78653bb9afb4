import { inTransaction, Prisma, type PrismaClientOrTransaction } from '@attune/db';
import type { KeyRow, OwnerType } from './key-types.js';

/** Every read of a key row brings its data key's identity and master key hash (no second query). */
const WITH_DATA_KEY = { dataKey: { select: { id: true, version: true, masterKeyHash: true } } } as const;

/** Owner columns of a row (ids, as stored). */
export interface OwnerColumns {
  readonly ownerType: OwnerType;
  readonly ownerPack: number | null;
  readonly ownerAction: number | null;
}

/** The stored form of a value (see `ValueCipher.seal`). */
export interface StoredColumns {
  readonly value: unknown;
  readonly valueType: string;
  readonly encrypted: boolean;
  readonly encryptionKeyHash: string | null;
  readonly dataKeyId: number | null;
}

/** Why a write was refused by the database: a constraint, or something else (with the driver's code, no message). */
export type WriteFailure =
  | { readonly kind: 'ref_taken' | 'name_taken' | 'owner_missing'; readonly code: string }
  | { readonly kind: 'other'; readonly code: string | undefined };

/**
 * The one owner of `attune.key` (the resolver's one-round-trip read for the worker is the other reader:
 * `secret-resolver.ts`). Table access only: validation, encryption and errors for people are the key service's.
 * Every method takes an optional transaction, so that a change commits together with the caller's other rows.
 */
export class KeyStore {
  readonly #prisma: PrismaClientOrTransaction;

  constructor(prisma: PrismaClientOrTransaction) {
    this.#prisma = prisma;
  }

  /** The client (or transaction) this store reads and writes through. */
  get client(): PrismaClientOrTransaction {
    return this.#prisma;
  }

  /** Runs `fn` in a transaction (the caller's own, when this store was given one). */
  transaction<T>(fn: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> {
    return inTransaction(this.#prisma, fn);
  }

  async findByRef(ref: string, tx: PrismaClientOrTransaction = this.#prisma): Promise<KeyRow | null> {
    return (await tx.key.findUnique({ where: { ref }, include: WITH_DATA_KEY })) as KeyRow | null;
  }

  /** The owner, name and deletion of the secret at `ref`, or null. */
  findOwnership(
    ref: string,
    tx: PrismaClientOrTransaction = this.#prisma,
  ): Promise<(OwnerColumns & { name: string; deletedAt: Date | null }) | null> {
    return tx.key.findUnique({
      where: { ref },
      select: { ownerType: true, ownerPack: true, ownerAction: true, name: true, deletedAt: true },
    });
  }

  /** A new secret, at version 1. */
  async insert(
    row: OwnerColumns &
      StoredColumns & { ref: string; name: string; maxVersions: number | null; expiresAt: Date | null },
    tx: PrismaClientOrTransaction = this.#prisma,
  ): Promise<KeyRow> {
    return (await tx.key.create({
      data: { ...row, value: row.value as Prisma.InputJsonValue, currentVersion: 1 },
      include: WITH_DATA_KEY,
    })) as KeyRow;
  }

  /** Reads the row at `ref` and locks it until `tx` ends (`SELECT … FOR UPDATE`). */
  async lockByRef(ref: string, tx: Prisma.TransactionClient): Promise<KeyRow | null> {
    const [current] = await tx.$queryRaw<Array<{ id: number }>>`
      SELECT id FROM "attune"."key" WHERE ref = ${ref} FOR UPDATE`;
    return current
      ? ((await tx.key.findUniqueOrThrow({ where: { id: current.id }, include: WITH_DATA_KEY })) as KeyRow)
      : null;
  }

  /** Makes `stored` the current value, as version `version`, expiring at `expiresAt` (null: never). */
  async writeCurrent(
    id: number,
    stored: StoredColumns,
    version: number,
    expiresAt: Date | null,
    tx: PrismaClientOrTransaction = this.#prisma,
  ): Promise<KeyRow> {
    return (await tx.key.update({
      where: { id },
      data: { ...stored, value: stored.value as Prisma.InputJsonValue, currentVersion: version, expiresAt },
      include: WITH_DATA_KEY,
    })) as KeyRow;
  }

  /** Sets when the current value expires (null: never); its version row is the caller's to change with it. */
  async setExpiry(
    id: number,
    expiresAt: Date | null,
    tx: PrismaClientOrTransaction = this.#prisma,
  ): Promise<KeyRow> {
    return (await tx.key.update({ where: { id }, data: { expiresAt }, include: WITH_DATA_KEY })) as KeyRow;
  }

  /** Sets how many versions the secret keeps (null: the configured default). */
  async setMaxVersions(
    id: number,
    maxVersions: number | null,
    tx: PrismaClientOrTransaction = this.#prisma,
  ): Promise<KeyRow> {
    return (await tx.key.update({ where: { id }, data: { maxVersions }, include: WITH_DATA_KEY })) as KeyRow;
  }

  /** Soft-deletes (or undeletes) the secret with this id. */
  async setDeleted(
    id: number,
    deleted: boolean,
    tx: PrismaClientOrTransaction = this.#prisma,
  ): Promise<KeyRow> {
    return (await tx.key.update({
      where: { id },
      data: { deletedAt: deleted ? new Date() : null },
      include: WITH_DATA_KEY,
    })) as KeyRow;
  }

  /** Deletes the row at `ref` and, with it, every version; returns how many were deleted (0 or 1). */
  async deleteByRef(ref: string, tx: PrismaClientOrTransaction = this.#prisma): Promise<number> {
    return (await tx.key.deleteMany({ where: { ref } })).count;
  }

  /** Refs of the secrets not deleted that were created before `createdBefore`, by ref. */
  async activeRefs(
    createdBefore: Date,
    tx: PrismaClientOrTransaction = this.#prisma,
  ): Promise<Array<{ ref: string; level: OwnerType; created: Date }>> {
    const rows = await tx.key.findMany({
      where: { deletedAt: null, created: { lt: createdBefore } },
      select: { ref: true, ownerType: true, created: true },
      orderBy: { ref: 'asc' },
    });
    return rows.map((r) => ({ ref: r.ref, level: r.ownerType, created: r.created }));
  }

  /**
   * One page of rows matching the filter, and the total, read in one transaction: oldest first, or soonest to expire
   * first when the filter is on expiry (`expiresBefore`: expires at or before it; `expiresAfter`: after it).
   */
  async page(
    filter: {
      ownerType?: OwnerType;
      ownerPack?: number | null;
      ownerAction?: number | null;
      deleted?: boolean;
      expiresBefore?: Date;
      expiresAfter?: Date;
    },
    skip: number,
    take: number,
    tx?: Prisma.TransactionClient,
  ): Promise<{ rows: KeyRow[]; total: number }> {
    const where: Prisma.KeyWhereInput = {};
    if (filter.ownerType) where.ownerType = filter.ownerType;
    if (filter.ownerPack !== undefined) where.ownerPack = filter.ownerPack;
    if (filter.ownerAction !== undefined) where.ownerAction = filter.ownerAction;
    if (!filter.deleted) where.deletedAt = null;
    const byExpiry = filter.expiresBefore !== undefined || filter.expiresAfter !== undefined;
    if (byExpiry)
      where.expiresAt = {
        not: null,
        ...(filter.expiresBefore ? { lte: filter.expiresBefore } : {}),
        ...(filter.expiresAfter ? { gt: filter.expiresAfter } : {}),
      };
    const orderBy: Prisma.KeyOrderByWithRelationInput[] = byExpiry
      ? [{ expiresAt: 'asc' }, { id: 'asc' }]
      : [{ id: 'asc' }];
    const read = (client: Prisma.TransactionClient) =>
      Promise.all([
        client.key.findMany({ where, orderBy, skip, take, include: WITH_DATA_KEY }) as Promise<KeyRow[]>,
        client.key.count({ where }),
      ]);
    const [rows, total] = tx ? await read(tx) : await this.transaction(read);
    return { rows, total };
  }

  /** The owner's secret whose env var is `envName` (what a name clash collides with), or null. */
  findByEnvName(
    owner: OwnerColumns,
    envName: string,
    tx: PrismaClientOrTransaction = this.#prisma,
  ): Promise<{ name: string; ref: string } | null> {
    return tx.key.findFirst({
      where: {
        ownerType: owner.ownerType,
        ownerPack: owner.ownerPack,
        ownerAction: owner.ownerAction,
        envName,
      },
      select: { name: true, ref: true },
    });
  }

  /**
   * Each secret's ref and `updated` time as the database writes it (microseconds): what changed since a stamp was
   * taken (the demo's claim on its database).
   */
  updatedStamps(
    tx: PrismaClientOrTransaction = this.#prisma,
  ): Promise<Array<{ ref: string; updated: string }>> {
    return tx.$queryRaw<Array<{ ref: string; updated: string }>>`
      SELECT ref, updated::text AS updated FROM "attune"."key"`;
  }

  /** How many secrets an action owns (a pack registration must not remove an action that still owns some). */
  countOwnedByAction(actionId: number, tx: PrismaClientOrTransaction = this.#prisma): Promise<number> {
    return tx.key.count({ where: { ownerAction: actionId } });
  }
}

/** Classifies a failed write by the constraint it broke (pg and PGlite word their errors differently). */
export function writeFailure(error: unknown): WriteFailure {
  const code = dbCode(error);
  if (code === 'P2002')
    return { kind: constraintText(error).includes('key_ref_key') ? 'ref_taken' : 'name_taken', code };
  if (code === 'P2003') return { kind: 'owner_missing', code };
  return { kind: 'other', code };
}

/** The driver's error code of a database error (never its message, which may echo values). */
export function dbCode(error: unknown): string | undefined {
  if (error instanceof Prisma.PrismaClientKnownRequestError) return error.code;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function constraintText(error: unknown): string {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) return '';
  const meta = error.meta as {
    driverAdapterError?: { cause?: { originalMessage?: unknown; constraint?: unknown } };
  };
  const cause = meta?.driverAdapterError?.cause;
  return `${String(cause?.originalMessage ?? '')} ${JSON.stringify(cause?.constraint ?? '')} ${JSON.stringify(error.meta?.target ?? '')}`;
}
