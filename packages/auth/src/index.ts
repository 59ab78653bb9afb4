/**
 * `@attune/auth`: bearer tokens of the HTTP API. A token is 256 random bits, shown once when created; only its
 * SHA-256 is stored (a token has full entropy, so a fast hash is enough and no salt is needed). Verification looks
 * the hash up and compares it in constant time. See docs/api.md#authentication.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { PrismaClient } from '@attune/db';

/** Scopes a token can hold. `admin` implies every other. */
export const SCOPES = ['keys:read', 'keys:decrypt', 'keys:write', 'executions:run', 'admin'] as const;
/** One of {@link SCOPES}. */
export type Scope = (typeof SCOPES)[number];

/** Prefix of every token, so a leaked one is recognisable by secret scanners. */
export const TOKEN_PREFIX = 'attune_';

/** A token as listed: never the token itself. */
export interface TokenRecord {
  readonly id: number;
  readonly name: string;
  readonly scopes: readonly Scope[];
  readonly created: Date;
  readonly lastUsedAt: Date | null;
  readonly revokedAt: Date | null;
}

/** The caller a valid token identifies. */
export interface Principal {
  readonly tokenId: number;
  readonly name: string;
  readonly scopes: ReadonlySet<Scope>;
}

/** A token request was refused (bad name or scope, name taken, unknown token). */
export class TokenError extends Error {
  readonly code: 'ATTUNE_AUTH_INVALID' | 'ATTUNE_AUTH_CONFLICT' | 'ATTUNE_AUTH_NOT_FOUND';

  constructor(code: TokenError['code'], message: string) {
    super(message);
    this.name = 'TokenError';
    this.code = code;
  }
}

/** Whether a principal holds a scope (directly or through `admin`). */
export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.scopes.has(scope) || principal.scopes.has('admin');
}

function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Creates, lists, revokes and verifies tokens. */
export class TokenStore {
  readonly #prisma: PrismaClient;

  constructor(prisma: PrismaClient) {
    this.#prisma = prisma;
  }

  /** Creates a token. The returned `token` is the only time it is ever shown. */
  async create(name: string, scopes: readonly string[]): Promise<{ token: string; record: TokenRecord }> {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
      throw new TokenError('ATTUNE_AUTH_INVALID', 'A token name is 1–64 characters of A–Z a–z 0–9 _ . -');
    }
    const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
    if (scopes.length === 0 || unknown.length > 0) {
      throw new TokenError(
        'ATTUNE_AUTH_INVALID',
        `Scopes must be one or more of ${SCOPES.join(', ')}${unknown.length ? `; unknown: ${unknown.join(', ')}` : ''}.`,
      );
    }
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    try {
      const row = await this.#prisma.apiToken.create({
        data: { name, tokenHash: hashToken(token), scopes: [...new Set(scopes)] },
      });
      return { token, record: toRecord(row) };
    } catch (error) {
      if ((error as { code?: string }).code === 'P2002') {
        throw new TokenError(
          'ATTUNE_AUTH_CONFLICT',
          `An active token named '${name}' exists; revoke it first or pick another name.`,
        );
      }
      throw error;
    }
  }

  /** Lists tokens, newest last; never the tokens themselves. */
  async list(): Promise<TokenRecord[]> {
    return (await this.#prisma.apiToken.findMany({ orderBy: { id: 'asc' } })).map(toRecord);
  }

  /** Revokes the active token with this name (or id). */
  async revoke(nameOrId: string | number): Promise<TokenRecord> {
    const where =
      typeof nameOrId === 'number' ? { id: nameOrId, revokedAt: null } : { name: nameOrId, revokedAt: null };
    const row = await this.#prisma.apiToken.findFirst({ where });
    if (!row) throw new TokenError('ATTUNE_AUTH_NOT_FOUND', `No active token '${nameOrId}'.`);
    return toRecord(
      await this.#prisma.apiToken.update({ where: { id: row.id }, data: { revokedAt: new Date() } }),
    );
  }

  /** The principal of a presented token, or null when it is malformed, unknown or revoked. */
  async verify(presented: string): Promise<Principal | null> {
    if (!presented.startsWith(TOKEN_PREFIX) || presented.length > 200) return null;
    const hash = hashToken(presented);
    const row = await this.#prisma.apiToken.findUnique({ where: { tokenHash: hash } });
    if (!row || row.revokedAt) return null;
    // The lookup was by hash; compare again in constant time so no code path depends on partial matches.
    if (!timingSafeEqual(Buffer.from(row.tokenHash, 'hex'), Buffer.from(hash, 'hex'))) return null;
    void this.#prisma.apiToken
      .update({ where: { id: row.id }, data: { lastUsedAt: new Date() } })
      .catch(() => undefined);
    return { tokenId: row.id, name: row.name, scopes: new Set(row.scopes as Scope[]) };
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
