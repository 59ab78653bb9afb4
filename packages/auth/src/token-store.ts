import { inTransaction, type Prisma, type PrismaClientOrTransaction } from '@attune/db';
import type { Scope } from './scopes.js';

/** A token as listed: never the token itself. */
export interface TokenRecord {
  readonly id: number;
  readonly name: string;
  readonly scopes: readonly Scope[];
  readonly created: Date;
  readonly lastUsedAt: Date | null;
  readonly revokedAt: Date | null;
}

/** A stored token: its record and its hash. */
export interface TokenRow extends TokenRecord {
  readonly tokenHash: string;
}

/**
 * The one owner of `attune.api_token`. Table access only (the token service validates and hashes). Every method
 * takes an optional transaction.
 */
export class TokenStore {
  readonly #prisma: PrismaClientOrTransaction;

  constructor(prisma: PrismaClientOrTransaction) {
    this.#prisma = prisma;
  }

  /** Runs `fn` in a transaction (the caller's own, when this store was given one). */
  transaction<T>(fn: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> {
    return inTransaction(this.#prisma, fn);
  }

  /** Stores a token by its hash. A name already active throws Prisma's P2002. */
  async insert(
    row: { name: string; tokenHash: string; scopes: readonly Scope[] },
    tx: PrismaClientOrTransaction = this.#prisma,
  ): Promise<TokenRecord> {
    return toRecord(await tx.apiToken.create({ data: { ...row, scopes: [...row.scopes] } }));
  }

  /** Every token, oldest first. */
  async list(tx: PrismaClientOrTransaction = this.#prisma): Promise<TokenRecord[]> {
    return (await tx.apiToken.findMany({ orderBy: { id: 'asc' } })).map(toRecord);
  }

  /** How many tokens exist (revoked ones too). */
  count(tx: PrismaClientOrTransaction = this.#prisma): Promise<number> {
    return tx.apiToken.count();
  }

  /** The active (not revoked) token with this name or id, or null. */
  async findActive(
    nameOrId: string | number,
    tx: PrismaClientOrTransaction = this.#prisma,
  ): Promise<TokenRecord | null> {
    const row = await tx.apiToken.findFirst({
      where:
        typeof nameOrId === 'number'
          ? { id: nameOrId, revokedAt: null }
          : { name: nameOrId, revokedAt: null },
    });
    return row ? toRecord(row) : null;
  }

  /** Marks a token revoked now. */
  async markRevoked(id: number, tx: PrismaClientOrTransaction = this.#prisma): Promise<TokenRecord> {
    return toRecord(await tx.apiToken.update({ where: { id }, data: { revokedAt: new Date() } }));
  }

  /** The token with this hash (revoked or not), or null. */
  async findByHash(
    tokenHash: string,
    tx: PrismaClientOrTransaction = this.#prisma,
  ): Promise<TokenRow | null> {
    const row = await tx.apiToken.findUnique({ where: { tokenHash } });
    return row ? { ...toRecord(row), tokenHash: row.tokenHash } : null;
  }

  /** Records that a token was used now. */
  async markUsed(id: number, tx: PrismaClientOrTransaction = this.#prisma): Promise<void> {
    await tx.apiToken.update({ where: { id }, data: { lastUsedAt: new Date() } });
  }
}

function toRecord(row: {
  id: number;
  name: string;
  scopes: string[];
  created: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}): TokenRecord {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes as Scope[],
    created: row.created,
    lastUsedAt: row.lastUsedAt,
    revokedAt: row.revokedAt,
  };
}
