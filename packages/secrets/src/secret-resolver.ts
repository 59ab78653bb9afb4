import type { EncryptionKey } from '@attune/crypto';
import type { SqlExecutor } from '@attune/db';
import type { Logger } from 'pino';
import { KeyUndecryptableError, SecretsError, SecretsErrorCode, type UndecryptableReason } from './errors.js';
import { Keyring } from './keyring/keyring.js';
import { ValueCipher } from './keyring/value-cipher.js';
import type { OwnerType } from './keys/key-types.js';
import type { SecretValue } from './stored-value.js';

/** A secret resolved for one action: the winner for its env var name. */
export interface ResolvedSecret {
  readonly ref: string;
  readonly name: string;
  /** `SECRET_<NAME>`: the merge key, since two names with one env var cannot both be injected. */
  readonly envName: string;
  /** Level it came from. */
  readonly level: OwnerType;
  readonly value: SecretValue;
  /** The version of the secret it is (docs/secrets-management.md#versions). */
  readonly version: number;
  /** Refs of less specific keys this one overrode. */
  readonly overrides: readonly string[];
  /**
   * Hash of the master key the value was opened with: the value's own key (legacy values) or the one wrapping its
   * data key (envelope values); null for a plaintext value.
   */
  readonly keyHash: string | null;
  /** The data key (`<id>.<version>`) of an envelope value; null otherwise. */
  readonly dataKey: string | null;
  /** When the value expires; null: never. In the past only within `expiry_grace` ({@link ResolvedSecret.expired}). */
  readonly expiresAt: Date | null;
  /** Expired, and delivered because it is within the grace period (`secrets.expiry_grace`): a warning. */
  readonly expired: boolean;
}

/** Why a secret was skipped: it cannot be decrypted, or it has expired (past any grace period). */
export type SkipReason = UndecryptableReason | 'expired';

/** A secret that was skipped. Names the ref and the reason, never the value. */
export interface SecretWarning {
  readonly ref: string;
  readonly name: string;
  readonly envName: string;
  readonly level: OwnerType;
  readonly reason: SkipReason;
  readonly message: string;
  /** The version skipped. */
  readonly version: number;
  /** When it expired (reason `expired`); null otherwise. */
  readonly expiresAt: Date | null;
  /** Refs of less specific keys for the same env var, withheld because this one overrides them. */
  readonly withheld: readonly string[];
}

/** What {@link SecretResolver.resolveForAction} returns. */
export interface ResolvedSecrets {
  readonly action: { readonly id: number; readonly ref: string; readonly packId: number };
  readonly secrets: readonly ResolvedSecret[];
  readonly warnings: readonly SecretWarning[];
}

/** The action asked for does not exist. */
export class ActionNotFoundError extends SecretsError {
  constructor(actionRef: string) {
    super(SecretsErrorCode.NotFound, 'not_found', `No action '${actionRef}'.`);
  }
}

interface Row {
  action_id: number;
  pack_id: number;
  level: OwnerType | null;
  ref: string | null;
  name: string | null;
  env_name: string | null;
  value: unknown;
  value_type: string | null;
  encrypted: boolean | null;
  encryption_key_hash: string | null;
  current_version: number | null;
  /** A Date from pg and PGlite; text from a driver that does not parse timestamps. */
  expires_at: Date | string | null;
  dk_id: number | null;
  dk_version: number | null;
  dk_wrapped: string | null;
  dk_master_key_hash: string | null;
}

const LEVEL_ORDER: Record<OwnerType, number> = { system: 0, pack: 1, action: 2 };

/**
 * One round trip for the whole set: the action row, its system, pack and action secrets through three index lookups
 * (the owner index serves each branch; deleted secrets are left out), and the wrapped data key of each (a primary-key
 * lookup). A missing action yields no row; an action without secrets one row of NULL key columns.
 */
export const RESOLVE_SQL = `
SELECT a.id AS action_id, a.pack_id, k.owner_type AS level, k.ref, k.name, k.env_name, k.value, k.value_type,
       k.encrypted, k.encryption_key_hash, k.current_version,
       k.expires_at,
       d.id AS dk_id, d.version AS dk_version, d.wrapped AS dk_wrapped, d.master_key_hash AS dk_master_key_hash
FROM "attune"."action" a
LEFT JOIN LATERAL (
  SELECT * FROM "attune"."key" WHERE owner_type = 'system' AND deleted_at IS NULL
  UNION ALL
  SELECT * FROM "attune"."key" WHERE owner_type = 'pack' AND owner_pack = a.pack_id AND deleted_at IS NULL
  UNION ALL
  SELECT * FROM "attune"."key" WHERE owner_type = 'action' AND owner_pack IS NULL AND owner_action = a.id
    AND deleted_at IS NULL
) k ON true
LEFT JOIN "attune"."data_key" d ON d.id = k.data_key_id
WHERE a.ref = $1`;

/**
 * {@link RESOLVE_SQL} for a `declared` action asking for `count` env var names (`$2` … `$<count + 1>`): only those
 * secrets are read (each branch still served by the owner index; the rest are neither fetched nor decrypted). One
 * scalar parameter per name, not an array: PostgreSQL then reuses a generic plan of the prepared statement, where an
 * array parameter made it plan every execution again.
 */
export function resolveDeclaredSql(count: number): string {
  const names = count === 0 ? 'NULL' : Array.from({ length: count }, (_, i) => `$${i + 2}`).join(', ');
  return filterEveryBranch(`env_name IN (${names})`);
}

/**
 * {@link RESOLVE_SQL} with `condition` added to each of its three branches (system, pack, action). Checked: a later
 * edit of the statement that left a branch unfiltered would give an action secrets it did not declare.
 */
function filterEveryBranch(condition: string): string {
  const anchor = 'AND deleted_at IS NULL';
  const branches = RESOLVE_SQL.split(anchor).length - 1;
  if (branches !== 3) throw new Error(`RESOLVE_SQL has ${branches} filterable branches, not 3`);
  return RESOLVE_SQL.replaceAll(anchor, `${anchor} AND ${condition}`);
}

/** The most names one statement takes; more are asked for in one statement with an array. */
const MAX_SCALAR_NAMES = 64;

/** {@link RESOLVE_SQL} for a `declared` action, with the names as one array (`$2`), for long declarations. */
export const RESOLVE_DECLARED_SQL = filterEveryBranch('env_name = ANY($2::text[])');

/** What {@link SecretResolver.resolveForAction} may be told. */
export interface ResolveOptions {
  /** Only these env var names (the action's declared secrets, under the `declared` policy). */
  readonly only?: readonly string[] | undefined;
}

/** Dependencies of {@link SecretResolver}. */
export interface SecretResolverOptions {
  readonly sql: SqlExecutor;
  /** The master keys; or `encryptionKey`, a ring of one. */
  readonly keyring?: Keyring | undefined;
  readonly encryptionKey?: EncryptionKey | undefined;
  /** Shares unwrapped data keys with other users of the keyring (else one of its own). */
  readonly cipher?: ValueCipher | undefined;
  /**
   * How long after its expiry a secret is still delivered (flagged {@link ResolvedSecret.expired}); default 0: an
   * expired secret is skipped (`secrets.expiry_grace`).
   */
  readonly expiryGraceMs?: number | undefined;
  /** The clock expiry is read against (tests); default `Date.now`. */
  readonly now?: (() => number) | undefined;
  readonly logger: Logger;
}

/**
 * The seed's `fetch_secrets_for_action`: system, then pack, then action secrets, the more specific overriding by
 * env var name, decrypted with key-hash validation. A secret that cannot be decrypted, or that has expired (past the
 * grace period; it is then not even decrypted), is skipped with a warning, and so are the less specific ones it
 * overrides: the action never silently gets a value it was not meant to get. The others still resolve. See
 * docs/secrets-management.md#resolution.
 */
export class SecretResolver {
  readonly #sql: SqlExecutor;
  readonly #cipher: ValueCipher;
  readonly #logger: Logger;
  readonly #graceMs: number;
  readonly #now: () => number;

  constructor(options: SecretResolverOptions) {
    this.#sql = options.sql;
    this.#graceMs = options.expiryGraceMs ?? 0;
    this.#now = options.now ?? Date.now;
    this.#cipher =
      options.cipher ?? new ValueCipher({ keyring: options.keyring ?? Keyring.of(options.encryptionKey) });
    this.#logger = options.logger;
  }

  #resolveDeclared(actionRef: string, names: string[]): Promise<Row[]> {
    if (names.length > MAX_SCALAR_NAMES)
      return this.#sql.query<Row>(
        RESOLVE_DECLARED_SQL,
        [actionRef, names],
        'attune_resolve_declared_secrets',
      );
    // Sorted, so that one declaration always uses the same statement and parameters.
    return this.#sql.query<Row>(
      resolveDeclaredSql(names.length),
      [actionRef, ...names.sort()],
      `attune_resolve_declared_${names.length}`,
    );
  }

  /**
   * Resolves the secrets of the action with this ref: all it may receive, or `only` those env var names.
   * @throws {ActionNotFoundError}
   */
  async resolveForAction(actionRef: string, options: ResolveOptions = {}): Promise<ResolvedSecrets> {
    const rows =
      options.only === undefined
        ? await this.#sql.query<Row>(RESOLVE_SQL, [actionRef], 'attune_resolve_secrets')
        : await this.#resolveDeclared(actionRef, [...new Set(options.only)]);
    const first = rows[0];
    if (!first) throw new ActionNotFoundError(actionRef);
    // Winners by env var: the most specific level wins; the rest are recorded as overridden.
    const winners = new Map<string, { row: Row; overrides: string[] }>();
    for (const row of rows) {
      if (row.level === null || row.env_name === null) continue;
      const current = winners.get(row.env_name);
      if (!current) {
        winners.set(row.env_name, { row, overrides: [] });
      } else if (LEVEL_ORDER[row.level] > LEVEL_ORDER[current.row.level as OwnerType]) {
        winners.set(row.env_name, { row, overrides: [...current.overrides, current.row.ref as string] });
      } else {
        current.overrides.push(row.ref as string);
      }
    }
    const secrets: ResolvedSecret[] = [];
    const warnings: SecretWarning[] = [];
    const now = this.#now();
    for (const [envName, { row, overrides }] of winners) {
      const ref = row.ref as string;
      const name = row.name as string;
      const level = row.level as OwnerType;
      const version = row.current_version as number;
      const stored =
        row.expires_at === null
          ? null
          : row.expires_at instanceof Date
            ? row.expires_at
            : new Date(row.expires_at);
      // An expiry that is not a time (`infinity`, which pg answers as a number): expired, with no time to show.
      const expiresAt = stored !== null && Number.isFinite(stored.getTime()) ? stored : null;
      const unreadable = stored !== null && expiresAt === null;
      const expired = unreadable || (expiresAt !== null && expiresAt.getTime() <= now);
      const skip = (reason: SkipReason, message: string) => {
        warnings.push({
          ref,
          name,
          envName,
          level,
          reason,
          version,
          expiresAt: reason === 'expired' ? expiresAt : null,
          message:
            message +
            (overrides.length
              ? ` Less specific keys for ${envName} (${overrides.join(', ')}) are withheld too.`
              : ''),
          withheld: overrides,
        });
        this.#logger.warn({ ref, reason, actionRef, withheld: overrides }, 'secret skipped');
      };
      // Expired past the grace period: not delivered, not even decrypted.
      if (unreadable || (expired && now - (expiresAt as Date).getTime() >= this.#graceMs)) {
        skip(
          'expired',
          `Key '${ref}' ${unreadable ? 'has an expiry that is not a time' : `expired at ${(expiresAt as Date).toISOString()}`}${this.#graceMs > 0 && !unreadable ? ' (past the grace period)' : ''}; it is not delivered. Set a new value, or a later expiry.`,
        );
        continue;
      }
      try {
        const value = this.#cipher.open({
          ref,
          version,
          value: row.value,
          valueType: row.value_type as string,
          encrypted: row.encrypted === true,
          encryptionKeyHash: row.encryption_key_hash,
          dataKey:
            row.dk_id === null
              ? null
              : {
                  id: row.dk_id,
                  version: row.dk_version as number,
                  // A destroyed data key has no wrapped key left: that is all the state reading needs.
                  state: row.dk_wrapped === null ? 'destroyed' : 'active',
                  wrapped: row.dk_wrapped,
                  master_key_hash: row.dk_master_key_hash,
                },
        });
        secrets.push({
          ref,
          name,
          envName,
          level,
          value,
          version,
          overrides,
          keyHash: row.encryption_key_hash ?? row.dk_master_key_hash ?? null,
          dataKey: row.dk_id === null ? null : `${row.dk_id}.${row.dk_version}`,
          expiresAt,
          expired,
        });
      } catch (error) {
        if (!(error instanceof KeyUndecryptableError)) throw error;
        skip(error.reason, error.message);
      }
    }
    secrets.sort((a, b) => (a.envName < b.envName ? -1 : 1));
    return { action: { id: first.action_id, ref: actionRef, packId: first.pack_id }, secrets, warnings };
  }
}

/**
 * The seed's `prepare_secret_env`: env var name → value; structured values as compact JSON.
 */
export function prepareSecretEnv(secrets: readonly ResolvedSecret[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const secret of secrets) {
    env[secret.envName] = typeof secret.value === 'string' ? secret.value : JSON.stringify(secret.value);
  }
  return env;
}
