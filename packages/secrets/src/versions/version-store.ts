import type { Actor } from '@attune/core';
import { Prisma, type PrismaClientOrTransaction, type SqlStatement, sqlOf } from '@attune/db';
import type { StoredColumns } from '../keys/key-store.js';

/** A row of `attune.key_version`, with its data key's identity. */
export interface VersionRow {
  readonly keyId: number;
  readonly version: number;
  readonly value: unknown;
  readonly valueType: string;
  readonly encrypted: boolean;
  readonly encryptionKeyHash: string | null;
  readonly dataKeyId: number | null;
  readonly origin: string;
  readonly sourceVersion: number | null;
  readonly actorType: string;
  readonly actorId: string;
  readonly actorName: string;
  readonly created: Date;
  readonly destroyedAt: Date | null;
  readonly expiresAt: Date | null;
  readonly dataKey: {
    readonly id: number;
    readonly version: number;
    readonly masterKeyHash: string | null;
  } | null;
}

const WITH_DATA_KEY = { dataKey: { select: { id: true, version: true, masterKeyHash: true } } } as const;

/**
 * The one owner of `attune.key_version` (docs/secrets-management.md#versions): a version is written once, by one
 * actor; afterwards only its ciphertext may be destroyed (or re-encrypted, by the keyring's job). Every method takes
 * an optional transaction.
 */
export class KeyVersionStore {
  readonly #prisma: PrismaClientOrTransaction;

  constructor(prisma: PrismaClientOrTransaction) {
    this.#prisma = prisma;
  }

  /** Records a version. */
  async insert(
    row: StoredColumns & {
      keyId: number;
      version: number;
      origin: 'create' | 'update' | 'rollback';
      sourceVersion?: number | null;
      actor: Actor;
      expiresAt: Date | null;
    },
    tx: PrismaClientOrTransaction = this.#prisma,
    along?: (insert: SqlStatement) => SqlStatement,
  ): Promise<void> {
    const insert: SqlStatement = {
      text: `INSERT INTO "attune"."key_version" (key_id, version, value, value_type, encrypted, encryption_key_hash,
               data_key_id, origin, source_version, actor_type, actor_id, actor_name, expires_at)
             VALUES ($1::int, $2::int, $3::jsonb, $4, $5::boolean, $6, $7::int, $8, $9::int, $10, $11, $12,
                     $13::timestamptz)
             RETURNING version`,
      params: [
        row.keyId,
        row.version,
        row.value === null ? null : JSON.stringify(row.value),
        row.valueType,
        row.encrypted,
        row.encryptionKeyHash,
        row.dataKeyId,
        row.origin,
        row.sourceVersion ?? null,
        row.actor.type,
        row.actor.id,
        row.actor.name,
        row.expiresAt?.toISOString() ?? null,
      ],
    };
    // `along`: the audit event of this change, written by the same statement (`AuditLog.along`).
    const statement = along ? along(insert) : insert;
    await sqlOf(tx).query(statement.text, statement.params);
  }

  /** A secret's versions, newest first. */
  async list(keyId: number, tx: PrismaClientOrTransaction = this.#prisma): Promise<VersionRow[]> {
    return (await tx.keyVersion.findMany({
      where: { keyId },
      orderBy: { version: 'desc' },
      include: WITH_DATA_KEY,
    })) as VersionRow[];
  }

  /** One version, or null. */
  async get(
    keyId: number,
    version: number,
    tx: PrismaClientOrTransaction = this.#prisma,
  ): Promise<VersionRow | null> {
    return (await tx.keyVersion.findUnique({
      where: { keyId_version: { keyId, version } },
      include: WITH_DATA_KEY,
    })) as VersionRow | null;
  }

  /** Erases the values of these versions for good (metadata stays); returns the versions it erased now. */
  async destroy(
    keyId: number,
    versions: readonly number[],
    tx: PrismaClientOrTransaction = this.#prisma,
  ): Promise<number[]> {
    const targets = await tx.keyVersion.findMany({
      where: { keyId, version: { in: [...versions] }, destroyedAt: null },
      select: { version: true },
    });
    if (targets.length === 0) return [];
    await tx.keyVersion.updateMany({
      where: { keyId, version: { in: targets.map((t) => t.version) }, destroyedAt: null },
      // The stored key hash goes too: in the seed's scheme it is the master key itself.
      data: { value: Prisma.DbNull, encryptionKeyHash: null, destroyedAt: new Date() },
    });
    return targets.map((t) => t.version).sort((a, b) => a - b);
  }

  /**
   * Erases the values of a secret's plain versions (when the secret becomes encrypted: its history must not keep the
   * plaintext readable); returns the versions erased.
   */
  async destroyPlain(keyId: number, tx: PrismaClientOrTransaction = this.#prisma): Promise<number[]> {
    const plain = await tx.keyVersion.findMany({
      where: { keyId, encrypted: false, destroyedAt: null },
      select: { version: true },
    });
    return this.destroy(
      keyId,
      plain.map((p) => p.version),
      tx,
    );
  }

  /** Sets the expiry of one version (the current one: `key expire`). */
  async setExpiry(
    keyId: number,
    version: number,
    expiresAt: Date | null,
    tx: PrismaClientOrTransaction = this.#prisma,
  ): Promise<void> {
    await tx.keyVersion.update({ where: { keyId_version: { keyId, version } }, data: { expiresAt } });
  }

  /** Deletes all but the newest `keep` versions of a secret; returns the versions it deleted. */
  async prune(keyId: number, keep: number, tx: PrismaClientOrTransaction = this.#prisma): Promise<number[]> {
    const old = await tx.keyVersion.findMany({
      where: { keyId },
      orderBy: { version: 'desc' },
      skip: keep,
      select: { version: true },
    });
    if (old.length === 0) return [];
    await tx.keyVersion.deleteMany({ where: { keyId, version: { in: old.map((o) => o.version) } } });
    return old.map((o) => o.version).sort((a, b) => a - b);
  }
}
