import { AuditLog } from '@attune/audit';
import { type Actor, actorFields, type Logger } from '@attune/core';
import { type Prisma, sqlOf } from '@attune/db';
import {
  EncryptionKeyRequiredError,
  InvalidKeyInputError,
  KeyConflictError,
  KeyDeletedError,
  KeyNotFoundError,
  KeyVersionConflictError,
  OwnerNotFoundError,
} from '../errors.js';
import type { Keyring } from '../keyring/keyring.js';
import type { ValueCipher } from '../keyring/value-cipher.js';
import { validateKeyRef, validateSecretName } from '../names.js';
import { type SecretValue, validateSecretValue } from '../stored-value.js';
import { KeyVersions } from '../versions/key-versions.js';
import type { KeyVersionStore } from '../versions/version-store.js';
import { checkExpiresAt, expiryFilter } from './expiry.js';
import { checkEncryptedFlag, checkExpectedVersion, checkListPage, checkMaxVersions } from './key-input.js';
import { changeMetadata } from './key-metadata.js';
import { deleteKey, type RemovalDeps, undeleteKey } from './key-removal.js';
import type { KeyStore } from './key-store.js';
import {
  type CreateKeyInput,
  type KeyOwner,
  type KeyPage,
  type KeyRecord,
  type KeyRow,
  type ListKeysInput,
  toRecord,
  type UpdateKeyInput,
} from './key-types.js';
import type { OwnerDirectory } from './owner-directory.js';
import { type ResolvedOwner, resolveOwner } from './owners.js';
import { lockForChange, storeCall } from './store-access.js';
import { writeError } from './write-error.js';
import {
  decryptRecordingRefusals,
  insertVersionWithEvent,
  type VersionWriter,
  writeNextVersion,
} from './write-version.js';

/** Versions kept per secret when neither it nor the configuration says (Vault's default). */
export const DEFAULT_MAX_VERSIONS = 10;

/** Dependencies of {@link KeyService}. */
export interface KeyServiceOptions {
  readonly store: KeyStore;
  readonly versions: KeyVersionStore;
  /** Packs and actions, which own secrets (the registry's `PackStore`). */
  readonly owners: OwnerDirectory;
  /** Encrypts and decrypts values with the keyring's data keys. */
  readonly cipher: ValueCipher;
  /** Versions kept when a secret sets none (`secrets.max_versions`; default {@link DEFAULT_MAX_VERSIONS}). */
  readonly maxVersions?: number;
  /** The audit log every change and decrypt is recorded in (docs/audit.md); never skipped. */
  readonly audit?: AuditLog;
  readonly logger: Logger;
}

/**
 * Create, read, list, update and delete secrets, for an {@link Actor}: the one implementation behind the API's
 * `/api/v1/keys` and the CLI's `attune key`. Every change writes an immutable version ({@link KeyService.versions}
 * lists, reads, rolls back and destroys them). Input is validated before anything reaches the database, and each
 * write is one transaction, so a refused or failed write changes nothing. Every call that changes or reveals a
 * secret is logged with its actor and ref, never a value.
 */
export class KeyService {
  /** The versions of secrets: list, read, roll back, destroy. */
  readonly versions: KeyVersions;
  readonly #store: KeyStore;
  readonly #owners: OwnerDirectory;
  readonly #cipher: ValueCipher;
  readonly #writer: VersionWriter;
  readonly #removal: RemovalDeps;
  readonly #logger: Logger;

  constructor(options: KeyServiceOptions) {
    this.#store = options.store;
    this.#owners = options.owners;
    this.#cipher = options.cipher;
    this.#logger = options.logger;
    this.#writer = {
      keys: options.store,
      versions: options.versions,
      cipher: options.cipher,
      maxVersions: options.maxVersions ?? DEFAULT_MAX_VERSIONS,
      audit: options.audit ?? new AuditLog(),
    };
    this.#removal = { store: options.store, audit: this.#writer.audit, logger: options.logger };
    this.versions = new KeyVersions({ writer: this.#writer, logger: options.logger });
  }

  /** The master keys values are protected by. */
  get keyring(): Keyring {
    return this.#cipher.keyring;
  }

  /**
   * Creates a secret, as its version 1. With `encrypted: true` the value is encrypted under its owner's data key
   * (docs/encryption.md#envelope-encryption), bound to the ref.
   * @throws {InvalidKeyInputError} {@link KeyConflictError} {@link OwnerNotFoundError} {@link EncryptionKeyRequiredError}
   */
  async create(actor: Actor, input: CreateKeyInput): Promise<KeyRecord> {
    const name = validateSecretName(input.name);
    validateSecretValue(input.value);
    checkEncryptedFlag(input.encrypted);
    const maxVersions = checkMaxVersions(input.maxVersions);
    const expiresAt = checkExpiresAt(input.expiresAt) ?? null;
    const owner = await storeCall('reading owner of', undefined, () =>
      resolveOwner(input.owner, this.#owners),
    );
    const ref = validateKeyRef(input.ref ?? `${owner.refPrefix}.${name}`);
    const encrypted = input.encrypted ?? false;
    if (encrypted && !this.keyring.active) throw new EncryptionKeyRequiredError(ref, 'encrypt');
    try {
      const row = await this.#store.transaction(async (tx) => {
        const sealed = await this.#cipher.seal(input.value, { ref, owner, encrypted, version: 1 }, sqlOf(tx));
        const created = await this.#store.insert(
          {
            ref,
            ownerType: owner.ownerType,
            ownerPack: owner.ownerPack,
            ownerAction: owner.ownerAction,
            name,
            ...sealed,
            maxVersions: maxVersions ?? null,
            expiresAt,
          },
          tx,
        );
        await insertVersionWithEvent(
          this.#writer,
          { ...sealed, keyId: created.id, version: 1, origin: 'create', actor, expiresAt },
          {
            actor,
            action: 'key.created',
            ref,
            version: 1,
            value: input.value,
            detail: {
              owner_type: owner.ownerType,
              encrypted,
              data_key: sealed.dataKeyId,
              ...(expiresAt ? { expires_at: expiresAt.toISOString() } : {}),
            },
          },
          tx,
        );
        return created;
      });
      this.#logger.info(
        { ...actorFields(actor), ref, ownerType: owner.ownerType, encrypted, version: 1 },
        'key created',
      );
      return toRecord(row, encrypted ? null : (row.value as SecretValue), this.keyring);
    } catch (error) {
      throw await writeError(error, { store: this.#store, logger: this.#logger }, 'creating', ref, {
        ...owner,
        name,
      });
    }
  }

  /**
   * Creates the secret, or replaces the value (and encryption) of the one that already has its ref — the CLI's
   * `key set`. The ref defaults as in {@link KeyService.create}, from the owner's real ref (a pack or action may be
   * given by id). A secret at that ref with another owner or name is a conflict, never overwritten; so is a deleted
   * one. `expectedVersion` makes it a check-and-set.
   * @returns the secret, and whether it was created.
   */
  async set(actor: Actor, input: CreateKeyInput): Promise<{ key: KeyRecord; created: boolean }> {
    const name = validateSecretName(input.name);
    const owner = await storeCall('reading owner of', undefined, () =>
      resolveOwner(input.owner, this.#owners),
    );
    const ref = validateKeyRef(input.ref ?? `${owner.refPrefix}.${name}`);
    const existing = await storeCall('reading', ref, () => this.#store.findOwnership(ref));
    if (!existing) {
      if (input.expectedVersion !== undefined) throw new KeyNotFoundError(ref);
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
    const update: UpdateKeyInput = {
      value: input.value,
      ...(input.encrypted === undefined ? {} : { encrypted: input.encrypted }),
      ...(input.maxVersions === undefined ? {} : { maxVersions: input.maxVersions }),
      ...(input.expectedVersion === undefined ? {} : { expectedVersion: input.expectedVersion }),
      ...(input.expiresAt === undefined ? {} : { expiresAt: input.expiresAt }),
    };
    return { key: await this.update(actor, ref, update), created: false };
  }

  /**
   * Reads a secret by ref (its current version). The plaintext of an encrypted secret is returned only with
   * `decrypt: true`. A deleted secret is read too (`deletedAt` says so).
   * @throws {KeyNotFoundError}; with `decrypt`, {@link EncryptionKeyRequiredError} or {@link KeyUndecryptableError}
   */
  async get(actor: Actor, ref: string, options: { decrypt?: boolean } = {}): Promise<KeyRecord> {
    const row = await storeCall('reading', ref, () => this.#store.findByRef(ref));
    if (!row) throw new KeyNotFoundError(ref);
    if (!row.encrypted) return toRecord(row, row.value as SecretValue, this.keyring);
    if (!options.decrypt) return toRecord(row, null, this.keyring);
    const q = sqlOf(this.#store.client);
    const event = { actor, action: 'key.decrypted' as const, ref, version: row.currentVersion };
    const value = await decryptRecordingRefusals(this.#writer.audit, q, event, async () => {
      if (this.keyring.empty) throw new EncryptionKeyRequiredError(ref, 'decrypt');
      return storeCall('reading', ref, () =>
        this.#cipher.openStored({ ...row, version: row.currentVersion }, sqlOf(this.#store.client)),
      );
    });
    // Recorded before the value is answered: when the event cannot be written, the value is not given.
    await this.#writer.audit.append(
      { actor, action: 'key.decrypted', ref, version: row.currentVersion },
      sqlOf(this.#store.client),
    );
    this.#logger.info({ ...actorFields(actor), ref, version: row.currentVersion }, 'key decrypted');
    return toRecord(row, value, this.keyring);
  }

  /**
   * Lists secrets, oldest first, filtered by owner and paginated; deleted ones only with `deleted: true`. Values of
   * encrypted secrets are never included. With `expiringWithinMs` and/or `expired`, only secrets whose current value
   * expires within that time (not yet expired) and/or has expired, soonest first.
   */
  async list(_actor: Actor, input: ListKeysInput = {}): Promise<KeyPage> {
    const { page, perPage } = checkListPage(input);
    const filter: Parameters<KeyStore['page']>[0] & {
      ownerPack?: number | null;
      ownerAction?: number | null;
    } = { deleted: input.deleted === true, ...expiryFilter(input) };
    if (input.ownerType) filter.ownerType = input.ownerType;
    if (input.pack !== undefined)
      filter.ownerPack = (await this.#owner({ type: 'pack', pack: input.pack })).ownerPack;
    if (input.action !== undefined)
      filter.ownerAction = (await this.#owner({ type: 'action', action: input.action })).ownerAction;
    const { rows, total } = await storeCall('listing', undefined, () =>
      this.#store.page(filter, (page - 1) * perPage, perPage),
    );
    return {
      items: rows.map((row) =>
        toRecord(row, row.encrypted ? null : (row.value as SecretValue), this.keyring),
      ),
      total,
      page,
      perPage,
    };
  }

  /** Secrets not deleted that existed before `createdBefore` (refs and levels only): what usage reports cover. */
  activeKeys(
    _actor: Actor,
    createdBefore: Date,
  ): Promise<Array<{ ref: string; level: KeyOwner['type']; created: Date }>> {
    return storeCall('listing', undefined, () => this.#store.activeRefs(createdBefore));
  }

  /**
   * Changes a secret's value and/or encryption, as its next version (and/or its retention). Turning encryption on or
   * off, or replacing an encrypted value, uses the keyring; the read and the write happen in one transaction with the
   * row locked. With `expectedVersion`, nothing is written unless the secret is at that version.
   * @throws {KeyNotFoundError} {@link InvalidKeyInputError} {@link KeyVersionConflictError} {@link KeyDeletedError}
   *   {@link EncryptionKeyRequiredError} {@link KeyUndecryptableError}
   */
  async update(actor: Actor, ref: string, input: UpdateKeyInput): Promise<KeyRecord> {
    if (
      input.value === undefined &&
      input.encrypted === undefined &&
      input.maxVersions === undefined &&
      input.expiresAt === undefined
    ) {
      throw new InvalidKeyInputError(
        'value',
        'Nothing to update: give a new `value`, `encrypted`, `max_versions` or `expires_at`.',
      );
    }
    if (input.value !== undefined) validateSecretValue(input.value);
    checkEncryptedFlag(input.encrypted);
    const maxVersions = checkMaxVersions(input.maxVersions);
    const expiresAt = checkExpiresAt(input.expiresAt);
    checkExpectedVersion(input.expectedVersion);
    try {
      const { row, value } = await this.#store.transaction(async (tx) => {
        const existing = await lockForChange(this.#store, ref, tx, input.expectedVersion, 'update it');
        if (input.value === undefined && input.encrypted === undefined) {
          const updated = await changeMetadata(this.#writer, actor, existing, { maxVersions, expiresAt }, tx);
          return { row: updated, value: updated.encrypted ? null : (updated.value as SecretValue) };
        }
        const encrypted = input.encrypted ?? existing.encrypted;
        if (encrypted && !this.keyring.active) throw new EncryptionKeyRequiredError(ref, 'encrypt');
        const plaintext = input.value ?? (await this.#open(existing, tx));
        // Turning encryption off keeps the value and answers it: a reveal of the encrypted version, recorded as such.
        if (input.value === undefined && existing.encrypted && !encrypted)
          await this.#writer.audit.append(
            {
              actor,
              action: 'key.decrypted',
              ref,
              version: existing.currentVersion,
              detail: { reason: 'encryption turned off' },
            },
            sqlOf(tx),
          );
        const updated = await writeNextVersion(
          this.#writer,
          existing,
          {
            value: plaintext,
            encrypted,
            actor,
            origin: 'update',
            ...(maxVersions === undefined ? {} : { maxVersions }),
            // Expiry belongs to a value: a new value without one never expires; the same value keeps its own.
            expiresAt:
              expiresAt !== undefined ? expiresAt : input.value === undefined ? existing.expiresAt : null,
          },
          tx,
        );
        // Encrypted from now on: the plain values of its history are erased (their metadata stays), as the seed
        // erased the plaintext when a key was encrypted.
        if (encrypted && !existing.encrypted) await this.#writer.versions.destroyPlain(existing.id, tx);
        return { row: updated, value: encrypted ? null : plaintext };
      });
      this.#logger.info(
        { ...actorFields(actor), ref, encrypted: row.encrypted, version: row.currentVersion },
        'key updated',
      );
      return toRecord(row, value, this.keyring);
    } catch (error) {
      throw await writeError(error, { store: this.#store, logger: this.#logger }, 'updating', ref, undefined);
    }
  }

  /**
   * Deletes a secret: softly by default (it stops resolving; its versions are kept; {@link KeyService.undelete}
   * brings it back), for good with `purge` (the secret and every version).
   * @throws {KeyNotFoundError}
   */
  delete(actor: Actor, ref: string, options: { purge?: boolean } = {}): Promise<void> {
    return deleteKey(this.#removal, actor, ref, options);
  }

  /** Brings a soft-deleted secret back: it resolves again, at the version it had. @throws {KeyNotFoundError} */
  async undelete(actor: Actor, ref: string): Promise<KeyRecord> {
    const row = await undeleteKey(this.#removal, actor, ref);
    return toRecord(row, row.encrypted ? null : (row.value as SecretValue), this.keyring);
  }

  /**
   * A decrypt refused by the caller's scope (the API's check) or by the system's state (no key, a value that cannot
   * be decrypted): recorded with its outcome and reason, never fail-closed (nothing was revealed).
   */
  async recordRefusedDecrypt(
    actor: Actor,
    ref: string,
    outcome: 'refused' | 'failed',
    reason: string,
    version?: number,
  ): Promise<void> {
    const recorded = await this.#writer.audit.appendRefusal(
      {
        actor,
        action: version === undefined ? 'key.decrypted' : 'key.version_decrypted',
        ref,
        version: version ?? null,
        outcome,
        detail: { reason },
      },
      sqlOf(this.#store.client),
    );
    if (!recorded)
      this.#logger.error(
        { ...actorFields(actor), ref, outcome },
        'could not record a refused decrypt in the audit log',
      );
  }

  async #open(row: KeyRow, tx: Prisma.TransactionClient): Promise<SecretValue> {
    if (row.encrypted && this.keyring.empty) throw new EncryptionKeyRequiredError(row.ref, 'decrypt');
    return this.#cipher.openStored({ ...row, version: row.currentVersion }, sqlOf(tx));
  }

  #owner(owner: KeyOwner): Promise<ResolvedOwner> {
    return storeCall('reading owner of', undefined, () => resolveOwner(owner, this.#owners));
  }
}
