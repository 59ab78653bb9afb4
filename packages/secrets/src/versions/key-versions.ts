import { type Actor, actorFields, type Logger } from '@attune/core';
import { sqlOf } from '@attune/db';
import {
  EncryptionKeyRequiredError,
  InvalidKeyInputError,
  KeyDeletedError,
  KeyNotFoundError,
  KeyVersionConflictError,
  KeyVersionDestroyedError,
  KeyVersionNotFoundError,
} from '../errors.js';
import { type KeyRecord, type KeyVersionRecord, toRecord } from '../keys/key-types.js';
import { lockForChange, storeCall } from '../keys/store-access.js';
import { decryptRecordingRefusals, type VersionWriter, writeNextVersion } from '../keys/write-version.js';
import type { SecretValue } from '../stored-value.js';
import type { VersionRow } from './version-store.js';

/**
 * The versions of secrets (docs/secrets-management.md#versions), for an {@link Actor}: list them (metadata only),
 * read one, roll back to one (its value becomes current as a new version; never answered), destroy some (their
 * values erased for good, their metadata kept).
 */
export class KeyVersions {
  readonly #w: VersionWriter;
  readonly #logger: Logger;

  constructor(options: { writer: VersionWriter; logger: Logger }) {
    this.#w = options.writer;
    this.#logger = options.logger;
  }

  /** A secret's versions, newest first, without values. @throws {KeyNotFoundError} */
  async list(_actor: Actor, ref: string): Promise<KeyVersionRecord[]> {
    return this.#query(ref, async () => {
      const key = await this.#w.keys.findByRef(ref);
      if (!key) throw new KeyNotFoundError(ref);
      const rows = await this.#w.versions.list(key.id);
      return rows.map((r) => this.#record(ref, r, key.currentVersion, null));
    });
  }

  /**
   * One version; its value when it is plain, or with `decrypt: true`.
   * @throws {KeyNotFoundError} {@link KeyVersionNotFoundError} {@link KeyVersionDestroyedError} (decrypting a destroyed
   *   one) {@link EncryptionKeyRequiredError} {@link KeyUndecryptableError}
   */
  async get(
    actor: Actor,
    ref: string,
    version: number,
    options: { decrypt?: boolean } = {},
  ): Promise<KeyVersionRecord> {
    checkVersion(version);
    const { key, row } = await this.#query(ref, async () => {
      const key = await this.#w.keys.findByRef(ref);
      if (!key) throw new KeyNotFoundError(ref);
      const row = await this.#w.versions.get(key.id, version);
      if (!row) throw new KeyVersionNotFoundError(ref, version);
      return { key, row };
    });
    let value: SecretValue | null = null;
    if (row.destroyedAt === null && !row.encrypted) value = row.value as SecretValue;
    else if (options.decrypt && row.encrypted) {
      if (row.destroyedAt !== null)
        throw new KeyVersionDestroyedError(ref, version, 'there is nothing to decrypt');
      const event = { actor, action: 'key.version_decrypted' as const, ref, version };
      value = await decryptRecordingRefusals(this.#w.audit, sqlOf(this.#w.keys.client), event, () => {
        if (this.#w.cipher.keyring.empty) throw new EncryptionKeyRequiredError(ref, 'decrypt');
        return this.#query(ref, () => this.#open(ref, row));
      });
      await this.#w.audit.append(
        { actor, action: 'key.version_decrypted', ref, version },
        sqlOf(this.#w.keys.client),
      );
      this.#logger.info({ ...actorFields(actor), ref, version }, 'key version decrypted');
    }
    return this.#record(ref, row, key.currentVersion, value);
  }

  /**
   * Makes version `version`'s value current again, as a new version (origin `rollback`). Needs no decrypt right of
   * the caller and answers no value: the server decrypts and re-encrypts under the owner's active data key.
   * @throws {KeyNotFoundError} {@link KeyVersionNotFoundError} {@link KeyVersionDestroyedError} {@link KeyDeletedError}
   *   {@link KeyVersionConflictError} (with `expectedVersion`)
   */
  async rollback(
    actor: Actor,
    ref: string,
    version: number,
    options: { expectedVersion?: number } = {},
  ): Promise<KeyRecord> {
    checkVersion(version);
    const row = await this.#query(ref, () =>
      this.#w.keys.transaction(async (tx) => {
        const key = await lockForChange(this.#w.keys, ref, tx, options.expectedVersion, 'roll it back');
        const source = await this.#w.versions.get(key.id, version, tx);
        if (!source) throw new KeyVersionNotFoundError(ref, version);
        if (source.destroyedAt !== null)
          throw new KeyVersionDestroyedError(ref, version, 'it cannot be rolled back to');
        if (source.encrypted && !this.#w.cipher.keyring.active)
          throw new EncryptionKeyRequiredError(ref, 'encrypt');
        const value = source.encrypted
          ? await this.#w.cipher.openStored({ ref, ...source }, sqlOf(tx))
          : (source.value as SecretValue);
        return writeNextVersion(
          this.#w,
          key,
          // Never less protected than now: a plain old value comes back encrypted when the secret is encrypted.
          {
            value,
            encrypted: source.encrypted || key.encrypted,
            actor,
            origin: 'rollback',
            sourceVersion: version,
            // The value comes back with its own expiry (past or not: `key expire` changes it).
            expiresAt: source.expiresAt,
          },
          tx,
        );
      }),
    );
    this.#logger.info(
      { ...actorFields(actor), ref, version: row.currentVersion, sourceVersion: version },
      'key rolled back',
    );
    return toRecord(row, null, this.#w.cipher.keyring);
  }

  /**
   * Erases the values of these versions for good; their metadata stays. The current version cannot be destroyed:
   * write a new value or roll back first.
   * @returns the versions erased now (already destroyed ones are not repeated).
   * @throws {KeyNotFoundError} {@link KeyVersionNotFoundError} {@link InvalidKeyInputError}
   */
  async destroy(actor: Actor, ref: string, versions: readonly number[]): Promise<number[]> {
    if (!Array.isArray(versions) || versions.length === 0 || versions.length > 1000)
      throw new InvalidKeyInputError('versions', 'Give 1 to 1000 version numbers to destroy.');
    for (const v of versions) checkVersion(v);
    const destroyed = await this.#query(ref, () =>
      this.#w.keys.transaction(async (tx) => {
        const key = await this.#w.keys.lockByRef(ref, tx);
        if (!key) throw new KeyNotFoundError(ref);
        if (versions.includes(key.currentVersion)) {
          throw new InvalidKeyInputError(
            'versions',
            `Version ${key.currentVersion} of key '${ref}' is current: write a new value or roll back first, then destroy it.`,
          );
        }
        for (const v of versions)
          if (!(await this.#w.versions.get(key.id, v, tx))) throw new KeyVersionNotFoundError(ref, v);
        const erased = await this.#w.versions.destroy(key.id, versions, tx);
        if (erased.length)
          await this.#w.audit.append(
            {
              actor,
              action: 'key.versions_destroyed',
              ref,
              version: key.currentVersion,
              detail: { versions: erased },
            },
            sqlOf(tx),
          );
        return erased;
      }),
    );
    this.#logger.info({ ...actorFields(actor), ref, destroyed }, 'key versions destroyed');
    return destroyed;
  }

  #open(ref: string, row: VersionRow): Promise<SecretValue> {
    return this.#w.cipher.openStored({ ref, ...row }, sqlOf(this.#w.keys.client));
  }

  #record(ref: string, r: VersionRow, current: number, value: SecretValue | null): KeyVersionRecord {
    const keyring = this.#w.cipher.keyring;
    const hash = r.encryptionKeyHash ?? r.dataKey?.masterKeyHash ?? null;
    return {
      ref,
      version: r.version,
      current: r.version === current,
      origin: r.origin as KeyVersionRecord['origin'],
      sourceVersion: r.sourceVersion,
      actor: { type: r.actorType as KeyVersionRecord['actor']['type'], id: r.actorId, name: r.actorName },
      created: r.created,
      valueType: r.valueType as 'string' | 'json',
      encrypted: r.encrypted,
      encryptionKeyHash: hash !== null && keyring.keys.some((k) => k.key.keyHash === hash) ? hash : null,
      dataKey: r.dataKey ? { id: r.dataKey.id, version: r.dataKey.version } : null,
      destroyedAt: r.destroyedAt,
      expiresAt: r.expiresAt,
      value,
    };
  }

  #query<T>(ref: string, run: () => Promise<T>): Promise<T> {
    return storeCall('reading versions of', ref, run);
  }
}

function checkVersion(version: number): void {
  if (!Number.isInteger(version) || version < 1 || version > 2_147_483_647)
    throw new InvalidKeyInputError('version', 'A version is a whole number ≥ 1.');
}
