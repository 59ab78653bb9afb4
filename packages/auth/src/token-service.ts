import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AuditLog } from '@attune/audit';
import { type Actor, AttuneError, actorFields, type Logger } from '@attune/core';
import { sqlOf } from '@attune/db';
import { TokenError } from './errors.js';
import { type Principal, SCOPES, type Scope } from './scopes.js';
import type { TokenRecord, TokenStore } from './token-store.js';

/** Prefix of every token, so a leaked one is recognisable by secret scanners. */
export const TOKEN_PREFIX = 'attune_';

function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * API tokens for an {@link Actor}: create (the token is shown once), list, revoke; and verification of a presented
 * token. A token is 256 random bits; only its SHA-256 is stored (a token has full entropy, so a fast hash is enough
 * and no salt is needed). See docs/api.md#authentication.
 */
export class TokenService {
  readonly #store: TokenStore;
  readonly #logger: Logger;

  readonly #audit: AuditLog;

  constructor(options: { store: TokenStore; logger: Logger; audit?: AuditLog }) {
    this.#store = options.store;
    this.#logger = options.logger;
    this.#audit = options.audit ?? new AuditLog();
  }

  /** Creates a token. The returned `token` is the only time it is ever shown. */
  async create(
    actor: Actor,
    name: string,
    scopes: readonly string[],
  ): Promise<{ token: string; record: TokenRecord }> {
    assertTokenName(name);
    const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
    if (scopes.length === 0 || unknown.length > 0) {
      throw new TokenError(
        'ATTUNE_AUTH_INVALID',
        `Scopes must be one or more of ${SCOPES.join(', ')}${unknown.length ? `; unknown: ${unknown.join(', ')}` : ''}.`,
      );
    }
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    try {
      const record = await this.#store.transaction(async (tx) => {
        const inserted = await this.#store.insert(
          { name, tokenHash: hashToken(token), scopes: [...new Set(scopes as Scope[])] },
          tx,
        );
        await this.#audit.append(
          { actor, action: 'token.created', detail: { token: inserted.id, name, scopes: inserted.scopes } },
          sqlOf(tx),
        );
        return inserted;
      });
      this.#logger.info({ ...actorFields(actor), tokenName: name, scopes: record.scopes }, 'token created');
      return { token, record };
    } catch (error) {
      if (error instanceof AttuneError) throw error;
      if ((error as { code?: string }).code === 'P2002') {
        throw new TokenError(
          'ATTUNE_AUTH_CONFLICT',
          `An active token named '${name}' exists; revoke it first or pick another name.`,
        );
      }
      throw error;
    }
  }

  /** Lists tokens, oldest first; never the tokens themselves. */
  list(_actor: Actor): Promise<TokenRecord[]> {
    return this.#store.list();
  }

  /** Revokes the active token with this name (or id). */
  async revoke(actor: Actor, nameOrId: string | number): Promise<TokenRecord> {
    // An id, or a name of the form names have (anything else — a NUL, say — could never be one).
    if (typeof nameOrId === 'string' && !/^[0-9]{1,18}$/.test(nameOrId)) assertTokenName(nameOrId);
    const record = await this.#store.transaction(async (tx) => {
      const active = await this.#store.findActive(nameOrId, tx);
      if (!active) throw new TokenError('ATTUNE_AUTH_NOT_FOUND', `No active token '${nameOrId}'.`);
      const revoked = await this.#store.markRevoked(active.id, tx);
      await this.#audit.append(
        { actor, action: 'token.revoked', detail: { token: revoked.id, name: revoked.name } },
        sqlOf(tx),
      );
      return revoked;
    });
    this.#logger.info({ ...actorFields(actor), tokenName: record.name }, 'token revoked');
    return record;
  }

  /** The principal of a presented token, or null when it is malformed, unknown or revoked. */
  async verify(presented: string): Promise<Principal | null> {
    if (!presented.startsWith(TOKEN_PREFIX) || presented.length > 200) return null;
    const hash = hashToken(presented);
    const row = await this.#store.findByHash(hash);
    if (!row || row.revokedAt) return null;
    // The lookup was by hash; compare again in constant time so no code path depends on partial matches.
    if (!timingSafeEqual(Buffer.from(row.tokenHash, 'hex'), Buffer.from(hash, 'hex'))) return null;
    void this.#store.markUsed(row.id).catch(() => undefined);
    return { tokenId: row.id, name: row.name, scopes: new Set(row.scopes) };
  }
}

/** A token name: 1–64 characters of A–Z a–z 0–9 _ . - (never echoed when it is not one). @throws {TokenError} */
function assertTokenName(name: string): void {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name))
    throw new TokenError('ATTUNE_AUTH_INVALID', 'A token name is 1–64 characters of A–Z a–z 0–9 _ . -');
}
