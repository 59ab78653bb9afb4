import { AuditLog } from '@attune/audit';
import { type Actor, actorFields, type Logger } from '@attune/core';
import type { SqlExecutor } from '@attune/db';
import type { KeyOwner } from '../keys/key-types.js';
import type { OwnerDirectory } from '../keys/owner-directory.js';
import { resolveOwner } from '../keys/owners.js';
import { type KeyringStatus, keyringStatus } from './keyring-status.js';
import {
  type DestroyReport,
  destroyDataKey,
  type ReencryptReport,
  reencrypt,
  valuesUnderDataKey,
} from './reencrypt-job.js';
import { type RewrapReport, rotateMasterKey } from './rewrap.js';
import type { ValueCipher } from './value-cipher.js';

/** Progress of a long operation: done out of total (total 0 when unknown). */
export type Progress = (done: number, total: number) => void;

/**
 * The keyring's operations, for an {@link Actor} (docs/secrets-management.md#rotating-the-encryption-key): what
 * each master key protects, master-key rotation, data-key rotation, the upgrade of values earlier versions
 * encrypted directly, and the destruction of a data key. The one implementation behind `attune keyring`.
 */
export class KeyringService {
  readonly #sql: SqlExecutor;
  readonly #cipher: ValueCipher;
  readonly #owners: OwnerDirectory;
  readonly #logger: Logger;

  readonly #audit: AuditLog;

  constructor(options: {
    sql: SqlExecutor;
    cipher: ValueCipher;
    owners: OwnerDirectory;
    logger: Logger;
    audit?: AuditLog;
  }) {
    this.#audit = options.audit ?? new AuditLog();
    this.#sql = options.sql;
    this.#cipher = options.cipher;
    this.#owners = options.owners;
    this.#logger = options.logger;
  }

  /** What each master key protects. */
  status(_actor: Actor): Promise<KeyringStatus> {
    return keyringStatus(this.#sql, this.#cipher.keyring);
  }

  /**
   * Records that an online operation starts, before it changes anything (it commits in many transactions: if this
   * event cannot be written, nothing is done); its end is recorded with its counts. A run interrupted halfway leaves
   * its start without an end, and is safe to run again.
   */
  #started(actor: Actor, operation: string, detail: Record<string, unknown> = {}): Promise<void> {
    return this.#audit.append(
      { actor, action: 'keyring.operation_started', detail: { operation, ...detail } },
      this.#sql,
    );
  }

  /** Rewraps every data key under the active master key. */
  async rotateMasterKey(actor: Actor, onProgress?: Progress): Promise<RewrapReport> {
    await this.#started(actor, 'master_key_rotation', {
      active_key: this.#cipher.keyring.active?.id ?? null,
    });
    const report = await rotateMasterKey(this.#sql, this.#cipher.keyring, {
      onProgress: (done) => onProgress?.(done, 0),
    });
    await this.#audit.append(
      {
        actor,
        action: 'keyring.master_key_rotated',
        detail: {
          active_key: report.activeKey.id,
          key_hash: report.activeKey.keyHash,
          rewrapped: report.rewrapped,
        },
      },
      this.#sql,
    );
    this.#logger.info(
      {
        ...actorFields(actor),
        activeKey: report.activeKey.id,
        rewrapped: report.rewrapped,
        unreachable: report.unreachable.length,
      },
      'master key rotated: data keys rewrapped',
    );
    return report;
  }

  /** Retires an owner's data key and re-encrypts its values under a new one (or finishes an interrupted rotation). */
  async rotateDataKey(actor: Actor, owner: KeyOwner, onProgress?: Progress): Promise<ReencryptReport> {
    const resolved = await resolveOwner(owner, this.#owners);
    await this.#started(actor, 'data_key_rotation', { owner: resolved.label });
    const report = await reencrypt({
      sql: this.#sql,
      cipher: this.#cipher,
      selection: resolved,
      rotate: true,
      ...(onProgress ? { onProgress } : {}),
    });
    await this.#audit.append(
      {
        actor,
        action: 'keyring.data_key_rotated',
        detail: {
          owner: resolved.label,
          rotation: report.rotation,
          reencrypted: report.reencrypted,
          failed: report.failed.length,
        },
      },
      this.#sql,
    );
    this.#logger.info(
      {
        ...actorFields(actor),
        owner: resolved.label,
        rotation: report.rotation,
        reencrypted: report.reencrypted,
        failed: report.failed.length,
      },
      'data key rotated',
    );
    return report;
  }

  /** Moves every value not on its owner's active data key there (values encrypted directly by earlier versions). */
  async upgrade(actor: Actor, onProgress?: Progress): Promise<ReencryptReport> {
    await this.#started(actor, 'upgrade');
    const report = await reencrypt({
      sql: this.#sql,
      cipher: this.#cipher,
      selection: 'all',
      ...(onProgress ? { onProgress } : {}),
    });
    await this.#audit.append(
      {
        actor,
        action: 'keyring.upgraded',
        detail: { reencrypted: report.reencrypted, failed: report.failed.length },
      },
      this.#sql,
    );
    this.#logger.info(
      { ...actorFields(actor), reencrypted: report.reencrypted, failed: report.failed.length },
      'values upgraded to data keys',
    );
    return report;
  }

  /** How many values destroying a data key would shred. */
  valuesUnder(_actor: Actor, dataKeyId: number): Promise<number> {
    return valuesUnderDataKey(this.#sql, dataKeyId);
  }

  /** Destroys a data key for good (crypto-shredding its values). */
  async destroyDataKey(actor: Actor, dataKeyId: number): Promise<DestroyReport> {
    const report = await destroyDataKey(this.#sql, dataKeyId, this.#cipher, { log: this.#audit, actor });
    this.#logger.warn(
      { ...actorFields(actor), dataKey: dataKeyId, valuesShredded: report.valuesShredded },
      'data key destroyed',
    );
    return report;
  }
}
