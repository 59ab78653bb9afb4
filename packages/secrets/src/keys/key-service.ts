import { type Actor, actorFields, type Logger } from '@attune/core';
import type { EncryptionKey } from '@attune/crypto';
import {
  InvalidKeyInputError,
  KeyConflictError,
  KeyNotFoundError,
  KeyStoreError,
  OwnerNotFoundError,
  SecretsError,
} from '../errors.js';
import { envVarName, validateKeyRef, validateSecretName } from '../names.js';
import {
  decodeForCaller,
  encodeValue,
  type SecretValue,
  type StoredRow,
  validateSecretValue,
} from '../stored-value.js';
import { dbCode, type KeyStore, type OwnerColumns, writeFailure } from './key-store.js';
import {
  type CreateKeyInput,
  type KeyOwner,
  type KeyPage,
  type KeyRecord,
  type ListKeysInput,
  toRecord,
  type UpdateKeyInput,
} from './key-types.js';
import type { OwnerDirectory } from './owner-directory.js';

/** Dependencies of {@link KeyService}. */
export interface KeyServiceOptions {
  readonly store: KeyStore;
  /** Packs and actions, which own secrets (the registry's `PackStore`). */
  readonly owners: OwnerDirectory;
  /** The configured encryption key; without it, encrypted writes and decryption fail clearly. */
  readonly encryptionKey?: EncryptionKey | undefined;
  readonly logger: Logger;
}

/** An owner, resolved: its columns, the prefix of its secrets' default refs, and how messages name it. */
interface ResolvedOwner extends OwnerColumns {
  readonly refPrefix: string;
  readonly label: string;
}

/**
 * Create, read, list, update and delete secrets, for an {@link Actor}: the one implementation behind the API's
 * `/api/v1/keys` and the CLI's `attune key`. Input is validated before anything reaches the database, and each
 * write is one statement or one transaction, so a refused or failed write changes nothing. Every call that changes
 * or reveals a secret is logged with its actor and ref, never a value.
 */
export class KeyService {
  readonly #store: KeyStore;
  readonly #owners: OwnerDirectory;
  readonly #key: EncryptionKey | undefined;
  readonly #logger: Logger;

  constructor(options: KeyServiceOptions) {
    this.#store = options.store;
    this.#owners = options.owners;
    this.#key = options.encryptionKey;
    this.#logger = options.logger;
  }

  /**
   * Creates a secret. With `encrypted: true` the value is encrypted with the configured encryption key (bound to
   * the ref) and the key hash stored beside it.
   * @throws {InvalidKeyInputError} {@link KeyConflictError} {@link OwnerNotFoundError} {@link EncryptionKeyRequiredError}
   */
  async create(actor: Actor, input: CreateKeyInput): Promise<KeyRecord> {
    const name = validateSecretName(input.name);
    validateSecretValue(input.value);
    if (input.encrypted !== undefined && typeof input.encrypted !== 'boolean') {
      throw new InvalidKeyInputError('encrypted', '`encrypted` must be true or false.');
    }
    const owner = await this.#resolveOwner(input.owner);
    const ref = validateKeyRef(input.ref ?? `${owner.refPrefix}.${name}`);
    const stored = encodeValue(input.value, { ref, encrypted: input.encrypted ?? false, key: this.#key });
    try {
      const row = await this.#store.insert({
        ref,
        ownerType: owner.ownerType,
        ownerPack: owner.ownerPack,
        ownerAction: owner.ownerAction,
        name,
        ...stored,
      });
      this.#logger.info(
        { ...actorFields(actor), ref, ownerType: owner.ownerType, encrypted: stored.encrypted },
        'key created',
      );
      return toRecord(row, stored.encrypted ? null : (row.value as SecretValue), this.#key);
    } catch (error) {
      throw await this.#writeError(error, 'creating', ref, { ...owner, name });
    }
  }

  /**
   * Creates the secret, or replaces the value (and encryption) of the one that already has its ref — the CLI's
   * `key set`. The ref defaults as in {@link KeyService.create}, from the owner's real ref (a pack or action may be
   * given by id). A secret at that ref with another owner or name is a conflict, never overwritten.
   * @returns the secret, and whether it was created.
   */
  async set(actor: Actor, input: CreateKeyInput): Promise<{ key: KeyRecord; created: boolean }> {
    const name = validateSecretName(input.name);
    const owner = await this.#resolveOwner(input.owner);
    const ref = validateKeyRef(input.ref ?? `${owner.refPrefix}.${name}`);
    const existing = await this.#query('reading', ref, () => this.#store.findOwnership(ref));
    if (!existing) {
      return { key: await this.create(actor, { ...input, ref }), created: true };
    }
    if (
      existing.ownerType !== owner.ownerType ||
      existing.ownerPack !== owner.ownerPack ||
      existing.ownerAction !== owner.ownerAction ||
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
    return { key: await this.update(actor, ref, update), created: false };
  }

  /**
   * Reads a secret by ref. The plaintext of an encrypted secret is returned only with `decrypt: true`.
   * @throws {KeyNotFoundError}; with `decrypt`, {@link EncryptionKeyRequiredError} or {@link KeyUndecryptableError}
   */
  async get(actor: Actor, ref: string, options: { decrypt?: boolean } = {}): Promise<KeyRecord> {
    const row = await this.#query('reading', ref, () => this.#store.findByRef(ref));
    if (!row) throw new KeyNotFoundError(ref);
    if (!row.encrypted) return toRecord(row, row.value as SecretValue, this.#key);
    if (!options.decrypt) return toRecord(row, null, this.#key);
    const value = decodeForCaller(row as StoredRow, this.#key);
    this.#logger.info({ ...actorFields(actor), ref }, 'key decrypted');
    return toRecord(row, value, this.#key);
  }

  /** Lists secrets, oldest first, filtered by owner and paginated. Values of encrypted secrets are never included. */
  async list(_actor: Actor, input: ListKeysInput = {}): Promise<KeyPage> {
    const page = input.page ?? 1;
    const perPage = input.perPage ?? 50;
    if (!Number.isInteger(page) || page < 1)
      throw new InvalidKeyInputError('page', '`page` must be a whole number ≥ 1.');
    if (!Number.isInteger(perPage) || perPage < 1 || perPage > 1000) {
      throw new InvalidKeyInputError('perPage', '`perPage` must be a whole number from 1 to 1000.');
    }
    const filter: { ownerType?: KeyOwner['type']; ownerPack?: number | null; ownerAction?: number | null } =
      {};
    if (input.ownerType) filter.ownerType = input.ownerType;
    if (input.pack !== undefined)
      filter.ownerPack = (await this.#resolveOwner({ type: 'pack', pack: input.pack })).ownerPack;
    if (input.action !== undefined)
      filter.ownerAction = (await this.#resolveOwner({ type: 'action', action: input.action })).ownerAction;
    const { rows, total } = await this.#query('listing', undefined, () =>
      this.#store.page(filter, (page - 1) * perPage, perPage),
    );
    return {
      items: rows.map((row) => toRecord(row, row.encrypted ? null : (row.value as SecretValue), this.#key)),
      total,
      page,
      perPage,
    };
  }

  /**
   * Changes a secret's value and/or encryption. Turning encryption on or off, or replacing an encrypted value, uses
   * the configured encryption key; the read and the write happen in one transaction with the row locked.
   * @throws {KeyNotFoundError} {@link InvalidKeyInputError} {@link EncryptionKeyRequiredError} {@link KeyUndecryptableError}
   */
  async update(actor: Actor, ref: string, input: UpdateKeyInput): Promise<KeyRecord> {
    if (input.value === undefined && input.encrypted === undefined) {
      throw new InvalidKeyInputError('value', 'Nothing to update: give a new `value`, `encrypted`, or both.');
    }
    if (input.value !== undefined) validateSecretValue(input.value);
    if (input.encrypted !== undefined && typeof input.encrypted !== 'boolean') {
      throw new InvalidKeyInputError('encrypted', '`encrypted` must be true or false.');
    }
    try {
      const { row, value } = await this.#store.transaction(async (tx) => {
        const existing = await this.#store.lockByRef(ref, tx);
        if (!existing) throw new KeyNotFoundError(ref);
        const encrypted = input.encrypted ?? existing.encrypted;
        const plaintext = input.value ?? decodeForCaller(existing as StoredRow, this.#key);
        const stored = encodeValue(plaintext, { ref, encrypted, key: this.#key });
        const updated = await this.#store.updateStored(existing.id, stored, tx);
        return { row: updated, value: stored.encrypted ? null : plaintext };
      });
      this.#logger.info({ ...actorFields(actor), ref, encrypted: row.encrypted }, 'key updated');
      return toRecord(row, value, this.#key);
    } catch (error) {
      throw await this.#writeError(error, 'updating', ref, undefined);
    }
  }

  /** Deletes a secret. @throws {KeyNotFoundError} */
  async delete(actor: Actor, ref: string): Promise<void> {
    const deleted = await this.#query('deleting', ref, () => this.#store.deleteByRef(ref));
    if (deleted === 0) throw new KeyNotFoundError(ref);
    this.#logger.info({ ...actorFields(actor), ref }, 'key deleted');
  }

  async #resolveOwner(owner: KeyOwner): Promise<ResolvedOwner> {
    if (!owner || typeof owner !== 'object') {
      throw new InvalidKeyInputError(
        'owner',
        'The owner is missing: system, a pack (id or ref) or an action (id or ref).',
      );
    }
    switch (owner.type) {
      case 'system':
        return {
          ownerType: 'system',
          ownerPack: null,
          ownerAction: null,
          refPrefix: 'system',
          label: 'system',
        };
      case 'pack': {
        const id = ownerId(owner.pack, 'pack');
        const pack = await this.#query('reading owner of', undefined, () => this.#owners.findPack(id));
        if (!pack) throw new OwnerNotFoundError('pack', owner.pack);
        return {
          ownerType: 'pack',
          ownerPack: pack.id,
          ownerAction: null,
          refPrefix: pack.ref,
          label: `pack '${pack.ref}'`,
        };
      }
      case 'action': {
        const id = ownerId(owner.action, 'action');
        const action = await this.#query('reading owner of', undefined, () => this.#owners.findAction(id));
        if (!action) throw new OwnerNotFoundError('action', owner.action);
        return {
          ownerType: 'action',
          ownerPack: null,
          ownerAction: action.id,
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

  /** Maps a failed write to an error that names the secret, never its value (Prisma's messages echo arguments). */
  async #writeError(
    error: unknown,
    operation: string,
    ref: string,
    owner: (ResolvedOwner & { name: string }) | undefined,
  ): Promise<Error> {
    if (error instanceof SecretsError) return error;
    const failure = writeFailure(error);
    if (failure.kind === 'ref_taken')
      return new KeyConflictError('ref', `A key with ref '${ref}' already exists.`);
    if (failure.kind === 'name_taken' && owner) {
      const envName = envVarName(owner.name);
      const existing = await this.#store.findByEnvName(owner, envName).catch(() => null);
      const clash =
        existing && existing.name !== owner.name
          ? `key '${existing.ref}' (name '${existing.name}') maps to the same env var ${envName}`
          : `it already has a key named '${owner.name}'${existing ? ` ('${existing.ref}')` : ''}`;
      return new KeyConflictError('name', `Cannot create '${ref}' for ${owner.label}: ${clash}.`);
    }
    if (failure.kind === 'owner_missing') {
      return new OwnerNotFoundError(
        owner?.ownerType === 'action' ? 'action' : 'pack',
        owner?.ownerAction ?? owner?.ownerPack ?? ref,
      );
    }
    this.#logger.error({ ref, dbCode: failure.code, operation }, 'key write failed');
    return new KeyStoreError(operation, ref, failure.code);
  }
}

/** Largest pack or action id: they are PostgreSQL `integer`s. */
const MAX_OWNER_ID = 2_147_483_647;

function ownerId(id: number | string, kind: 'pack' | 'action'): number | string {
  if (typeof id === 'number' && Number.isInteger(id) && id > 0 && id <= MAX_OWNER_ID) return id;
  if (typeof id === 'string' && id.length > 0) return id;
  throw new InvalidKeyInputError(
    'owner',
    `The owning ${kind} must be given by an id (1 to ${MAX_OWNER_ID}) or a ref.`,
  );
}
