import type { EncryptionKey } from '@attune/crypto';
import { Prisma, type PrismaClient } from '@attune/db';
import type { Logger } from 'pino';
import {
  InvalidKeyInputError,
  KeyConflictError,
  KeyNotFoundError,
  KeyStoreError,
  OwnerNotFoundError,
  SecretsError,
} from './errors.js';
import { envVarName, validateKeyRef, validateSecretName } from './names.js';
import {
  decodeForCaller,
  encodeValue,
  type SecretValue,
  type StoredRow,
  validateSecretValue,
} from './stored-value.js';

/** Who owns a key (docs/secrets-management.md#ownership). Packs and actions by id or by ref. */
export type KeyOwner =
  | { readonly type: 'system' }
  | { readonly type: 'pack'; readonly pack: number | string }
  | { readonly type: 'action'; readonly action: number | string };

/** Owner level of a key. */
export type OwnerType = 'system' | 'pack' | 'action';

/** A key as the repository returns it. `value` is null for an encrypted key unless decryption was asked for. */
export interface KeyRecord {
  readonly id: number;
  readonly ref: string;
  readonly ownerType: OwnerType;
  /** Owning pack's id (pack keys only). */
  readonly ownerPack: number | null;
  /** Owning action's id (action keys only). */
  readonly ownerAction: number | null;
  readonly name: string;
  /** The env var it is injected as: `SECRET_<NAME>`. */
  readonly envName: string;
  readonly value: SecretValue | null;
  readonly encrypted: boolean;
  /**
   * The key hash it was encrypted with, when that is the configured key's (public, docs/encryption.md#key-hash);
   * null otherwise — another key's stored hash may be in the seed's scheme, which is that key itself.
   */
  readonly encryptionKeyHash: string | null;
  readonly created: Date;
  readonly updated: Date;
}

/** Input of {@link KeyRepository.create}. */
export interface CreateKeyInput {
  /** Unique ref; defaults to `system.<name>`, `<pack ref>.<name>` or `<action ref>.<name>`. */
  readonly ref?: string;
  readonly owner: KeyOwner;
  readonly name: string;
  readonly value: SecretValue;
  /** Encrypt with the configured key (default false, as in the seed's API). */
  readonly encrypted?: boolean;
}

/** Input of {@link KeyRepository.update}: a new value, a change of encryption, or both. */
export interface UpdateKeyInput {
  readonly value?: SecretValue;
  readonly encrypted?: boolean;
}

/** Filter and page of {@link KeyRepository.list}. */
export interface ListKeysInput {
  readonly ownerType?: OwnerType;
  /** Pack id or ref: pack-owned keys of that pack (with `ownerType` 'pack' or unset). */
  readonly pack?: number | string;
  /** Action id or ref: keys owned by that action. */
  readonly action?: number | string;
  /** 1-based page number (default 1). */
  readonly page?: number;
  /** Page size, 1–1000 (default 50). */
  readonly perPage?: number;
}

/** One page of keys; encrypted values are never included. */
export interface KeyPage {
  readonly items: KeyRecord[];
  readonly total: number;
  readonly page: number;
  readonly perPage: number;
}

/** Dependencies of {@link KeyRepository}. */
export interface KeyRepositoryOptions {
  readonly prisma: PrismaClient;
  /** The configured encryption key; without it, encrypted writes and decryption fail clearly. */
  readonly encryptionKey?: EncryptionKey | undefined;
  readonly logger: Logger;
}

type KeyRow = Prisma.KeyModel;

/**
 * Create, read, list, update and delete keys. Writes are validated before anything reaches the database and happen
 * in one statement or one transaction, so a refused or failed write changes nothing.
 */
export class KeyRepository {
  readonly #prisma: PrismaClient;
  readonly #key: EncryptionKey | undefined;
  readonly #logger: Logger;

  constructor(options: KeyRepositoryOptions) {
    this.#prisma = options.prisma;
    this.#key = options.encryptionKey;
    this.#logger = options.logger;
  }

  /**
   * Creates a key. With `encrypted: true` the value is encrypted with the configured key (bound to the ref) and
   * the key hash stored beside it.
   * @throws {InvalidKeyInputError} {@link KeyConflictError} {@link OwnerNotFoundError} {@link EncryptionKeyRequiredError}
   */
  async create(input: CreateKeyInput): Promise<KeyRecord> {
    const name = validateSecretName(input.name);
    validateSecretValue(input.value);
    if (input.encrypted !== undefined && typeof input.encrypted !== 'boolean') {
      throw new InvalidKeyInputError('encrypted', '`encrypted` must be true or false.');
    }
    const owner = await this.#resolveOwner(input.owner);
    const ref = validateKeyRef(input.ref ?? `${owner.refPrefix}.${name}`);
    const stored = encodeValue(input.value, { ref, encrypted: input.encrypted ?? false, key: this.#key });
    try {
      const row = await this.#prisma.key.create({
        data: {
          ref,
          ownerType: owner.type,
          ownerPack: owner.packId,
          ownerAction: owner.actionId,
          name,
          value: stored.value as Prisma.InputJsonValue,
          valueType: stored.valueType,
          encrypted: stored.encrypted,
          encryptionKeyHash: stored.encryptionKeyHash,
        },
      });
      this.#logger.info({ ref, ownerType: owner.type, encrypted: stored.encrypted }, 'key created');
      return toRecord(row, stored.encrypted ? null : (row.value as SecretValue), this.#key);
    } catch (error) {
      throw await this.#mapWriteError(error, 'creating', ref, { ...owner, name });
    }
  }

  /**
   * Creates the key, or replaces the value (and encryption) of the key that already has its ref — the CLI's
   * `key set`. The ref defaults as in {@link KeyRepository.create}, from the owner's real ref (a pack or action may be
   * given by id). A key at that ref with another owner or name is a conflict, never overwritten.
   * @returns the key, and whether it was created.
   */
  async set(input: CreateKeyInput): Promise<{ key: KeyRecord; created: boolean }> {
    const name = validateSecretName(input.name);
    const owner = await this.#resolveOwner(input.owner);
    const ref = validateKeyRef(input.ref ?? `${owner.refPrefix}.${name}`);
    const existing = await this.#query('reading', ref, () =>
      this.#prisma.key.findUnique({
        where: { ref },
        select: { ownerType: true, ownerPack: true, ownerAction: true, name: true },
      }),
    );
    if (!existing) {
      return { key: await this.create({ ...input, ref }), created: true };
    }
    if (
      existing.ownerType !== owner.type ||
      existing.ownerPack !== owner.packId ||
      existing.ownerAction !== owner.actionId ||
      existing.name !== name
    ) {
      throw new KeyConflictError(
        'ref',
        `Key '${ref}' exists with another owner or name; it is not overwritten.`,
      );
    }
    const update: UpdateKeyInput =
      input.encrypted === undefined
        ? { value: input.value }
        : { value: input.value, encrypted: input.encrypted };
    return { key: await this.update(ref, update), created: false };
  }

  /**
   * Reads a key by ref. The plaintext of an encrypted key is returned only with `decrypt: true`.
   * @throws {KeyNotFoundError}; with `decrypt`, {@link EncryptionKeyRequiredError} or {@link KeyUndecryptableError}
   */
  async get(ref: string, options: { decrypt?: boolean } = {}): Promise<KeyRecord> {
    const row = await this.#query('reading', ref, () => this.#prisma.key.findUnique({ where: { ref } }));
    if (!row) throw new KeyNotFoundError(ref);
    if (!row.encrypted) return toRecord(row, row.value as SecretValue, this.#key);
    if (!options.decrypt) return toRecord(row, null, this.#key);
    const value = decodeForCaller(row as StoredRow, this.#key);
    this.#logger.info({ ref }, 'key decrypted');
    return toRecord(row, value, this.#key);
  }

  /** Lists keys, newest last, filtered by owner and paginated. Values of encrypted keys are never included. */
  async list(input: ListKeysInput = {}): Promise<KeyPage> {
    const page = input.page ?? 1;
    const perPage = input.perPage ?? 50;
    if (!Number.isInteger(page) || page < 1)
      throw new InvalidKeyInputError('page', '`page` must be a whole number ≥ 1.');
    if (!Number.isInteger(perPage) || perPage < 1 || perPage > 1000) {
      throw new InvalidKeyInputError('perPage', '`perPage` must be a whole number from 1 to 1000.');
    }
    const where: Prisma.KeyWhereInput = {};
    if (input.ownerType) where.ownerType = input.ownerType;
    if (input.pack !== undefined)
      where.ownerPack = (await this.#resolveOwner({ type: 'pack', pack: input.pack })).packId;
    if (input.action !== undefined) {
      where.ownerAction = (await this.#resolveOwner({ type: 'action', action: input.action })).actionId;
    }
    const [rows, total] = await this.#query('listing', undefined, () =>
      this.#prisma.$transaction([
        this.#prisma.key.findMany({
          where,
          orderBy: { id: 'asc' },
          skip: (page - 1) * perPage,
          take: perPage,
        }),
        this.#prisma.key.count({ where }),
      ]),
    );
    return {
      items: rows.map((row) => toRecord(row, row.encrypted ? null : (row.value as SecretValue), this.#key)),
      total,
      page,
      perPage,
    };
  }

  /**
   * Changes a key's value and/or encryption. Turning encryption on or off, or replacing an encrypted value, uses
   * the configured key; the read and the write happen in one transaction with the row locked.
   * @throws {KeyNotFoundError} {@link InvalidKeyInputError} {@link EncryptionKeyRequiredError} {@link KeyUndecryptableError}
   */
  async update(ref: string, input: UpdateKeyInput): Promise<KeyRecord> {
    if (input.value === undefined && input.encrypted === undefined) {
      throw new InvalidKeyInputError('value', 'Nothing to update: give a new `value`, `encrypted`, or both.');
    }
    if (input.value !== undefined) validateSecretValue(input.value);
    if (input.encrypted !== undefined && typeof input.encrypted !== 'boolean') {
      throw new InvalidKeyInputError('encrypted', '`encrypted` must be true or false.');
    }
    try {
      const { row, value } = await this.#prisma.$transaction(async (tx) => {
        const [current] = await tx.$queryRaw<Array<{ id: number }>>`
          SELECT id FROM "attune"."key" WHERE ref = ${ref} FOR UPDATE`;
        if (!current) throw new KeyNotFoundError(ref);
        const existing = (await tx.key.findUniqueOrThrow({ where: { id: current.id } })) as KeyRow;
        const encrypted = input.encrypted ?? existing.encrypted;
        const plaintext = input.value ?? decodeForCaller(existing as StoredRow, this.#key);
        const stored = encodeValue(plaintext, { ref, encrypted, key: this.#key });
        const updated = await tx.key.update({
          where: { id: current.id },
          data: {
            value: stored.value as Prisma.InputJsonValue,
            valueType: stored.valueType,
            encrypted: stored.encrypted,
            encryptionKeyHash: stored.encryptionKeyHash,
          },
        });
        return { row: updated, value: stored.encrypted ? null : plaintext };
      });
      this.#logger.info({ ref, encrypted: row.encrypted }, 'key updated');
      return toRecord(row, value, this.#key);
    } catch (error) {
      throw await this.#mapWriteError(error, 'updating', ref, undefined);
    }
  }

  /** Deletes a key. @throws {KeyNotFoundError} */
  async delete(ref: string): Promise<void> {
    const deleted = await this.#query('deleting', ref, () => this.#prisma.key.deleteMany({ where: { ref } }));
    if (deleted.count === 0) throw new KeyNotFoundError(ref);
    this.#logger.info({ ref }, 'key deleted');
  }

  async #resolveOwner(owner: KeyOwner): Promise<{
    type: OwnerType;
    packId: number | null;
    actionId: number | null;
    refPrefix: string;
    label: string;
  }> {
    if (!owner || typeof owner !== 'object') {
      throw new InvalidKeyInputError(
        'owner',
        'The owner is missing: system, a pack (id or ref) or an action (id or ref).',
      );
    }
    switch (owner.type) {
      case 'system':
        return { type: 'system', packId: null, actionId: null, refPrefix: 'system', label: 'system' };
      case 'pack': {
        const where = ownerWhere(owner.pack, 'pack');
        const pack = await this.#query('reading owner of', undefined, () =>
          this.#prisma.pack.findUnique({ where, select: { id: true, ref: true } }),
        );
        if (!pack) throw new OwnerNotFoundError('pack', owner.pack);
        return {
          type: 'pack',
          packId: pack.id,
          actionId: null,
          refPrefix: pack.ref,
          label: `pack '${pack.ref}'`,
        };
      }
      case 'action': {
        const where = ownerWhere(owner.action, 'action');
        const action = await this.#query('reading owner of', undefined, () =>
          this.#prisma.action.findUnique({ where, select: { id: true, ref: true } }),
        );
        if (!action) throw new OwnerNotFoundError('action', owner.action);
        return {
          type: 'action',
          packId: null,
          actionId: action.id,
          refPrefix: action.ref,
          label: `action '${action.ref}'`,
        };
      }
      default:
        throw new InvalidKeyInputError(
          'owner',
          `Unknown owner type '${String((owner as { type?: unknown }).type)}'; use system, pack or action.`,
        );
    }
  }

  async #query<T>(operation: string, ref: string | undefined, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof SecretsError) throw error;
      throw new KeyStoreError(operation, ref, dbCode(error));
    }
  }

  /** Maps a failed write to an error that names the key, never its value (Prisma's messages echo arguments). */
  async #mapWriteError(
    error: unknown,
    operation: string,
    ref: string,
    owner:
      | { type: OwnerType; packId: number | null; actionId: number | null; label: string; name: string }
      | undefined,
  ): Promise<Error> {
    if (error instanceof SecretsError) return error;
    const code = dbCode(error);
    const text = constraintText(error);
    if (code === 'P2002' && text.includes('key_ref_key')) {
      return new KeyConflictError('ref', `A key with ref '${ref}' already exists.`);
    }
    if (code === 'P2002' && owner) {
      const envName = envVarName(owner.name);
      const existing = await this.#prisma.key
        .findFirst({
          where: { ownerType: owner.type, ownerPack: owner.packId, ownerAction: owner.actionId, envName },
          select: { name: true, ref: true },
        })
        .catch(() => null);
      const clash =
        existing && existing.name !== owner.name
          ? `key '${existing.ref}' (name '${existing.name}') maps to the same env var ${envName}`
          : `it already has a key named '${owner.name}'${existing ? ` ('${existing.ref}')` : ''}`;
      return new KeyConflictError('name', `Cannot create '${ref}' for ${owner.label}: ${clash}.`);
    }
    if (code === 'P2003') {
      return new OwnerNotFoundError(
        owner?.type === 'action' ? 'action' : 'pack',
        owner?.actionId ?? owner?.packId ?? ref,
      );
    }
    this.#logger.error({ ref, dbCode: code, operation }, 'key write failed');
    return new KeyStoreError(operation, ref, code);
  }
}

/** Largest pack or action id: they are PostgreSQL `integer`s. */
const MAX_OWNER_ID = 2_147_483_647;

function ownerWhere(id: number | string, kind: 'pack' | 'action'): { id: number } | { ref: string } {
  if (typeof id === 'number' && Number.isInteger(id) && id > 0 && id <= MAX_OWNER_ID) return { id };
  if (typeof id === 'string' && id.length > 0) return { ref: id };
  throw new InvalidKeyInputError(
    'owner',
    `The owning ${kind} must be given by an id (1 to ${MAX_OWNER_ID}) or a ref.`,
  );
}

function dbCode(error: unknown): string | undefined {
  if (error instanceof Prisma.PrismaClientKnownRequestError) return error.code;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The constraint a driver error names, from its metadata (pg and PGlite word it differently). */
function constraintText(error: unknown): string {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) return '';
  const meta = error.meta as {
    driverAdapterError?: { cause?: { originalMessage?: unknown; constraint?: unknown } };
  };
  const cause = meta?.driverAdapterError?.cause;
  return `${String(cause?.originalMessage ?? '')} ${JSON.stringify(cause?.constraint ?? '')} ${JSON.stringify(error.meta?.target ?? '')}`;
}

/**
 * A stored key hash is shown only when it is the configured key's own (which is public, docs/encryption.md#key-hash):
 * a hash in the seed's scheme is a key itself, and one of another key cannot be told apart from that.
 */
function publicKeyHash(stored: string | null, key: EncryptionKey | undefined): string | null {
  return stored !== null && key !== undefined && stored === key.keyHash ? stored : null;
}

function toRecord(row: KeyRow, value: SecretValue | null, key: EncryptionKey | undefined): KeyRecord {
  return {
    id: row.id,
    ref: row.ref,
    ownerType: row.ownerType,
    ownerPack: row.ownerPack,
    ownerAction: row.ownerAction,
    name: row.name,
    envName: row.envName,
    value,
    encrypted: row.encrypted,
    encryptionKeyHash: publicKeyHash(row.encryptionKeyHash, key),
    created: row.created,
    updated: row.updated,
  };
}
