import { AuditLog } from '@attune/audit';
import { type Actor, actorFields, type Logger } from '@attune/core';
import { sqlOf } from '@attune/db';
import { loadPack } from './pack-loader.js';
import type { ActionRecord, PackRecord, PackStore, RegistrationReport } from './pack-store.js';

/**
 * Packs and actions for an {@link Actor}: register a pack folder, list packs and actions. The one implementation
 * behind `attune pack register` and the API's `/api/v1/packs` and `/api/v1/actions`.
 */
export class PackService {
  readonly #store: PackStore;
  readonly #logger: Logger;

  readonly #audit: AuditLog;

  constructor(options: { store: PackStore; logger: Logger; audit?: AuditLog }) {
    this.#store = options.store;
    this.#logger = options.logger;
    this.#audit = options.audit ?? new AuditLog();
  }

  /**
   * Loads a pack folder, validates it, and registers it in one transaction; reports what changed.
   * @throws {InvalidPackError} {@link PackConflictError}
   */
  async register(actor: Actor, dir: string): Promise<RegistrationReport> {
    const def = loadPack(dir);
    const report = await this.#store.transaction(async (tx) => {
      const registered = await this.#store.register(def, tx);
      await this.#audit.append(
        {
          actor,
          action: 'pack.registered',
          ref: registered.pack.ref,
          detail: { change: registered.pack.change, actions: registered.actions },
        },
        sqlOf(tx),
      );
      return registered;
    });
    this.#logger.info(
      { ...actorFields(actor), pack: report.pack.ref, change: report.pack.change },
      'pack registered',
    );
    return report;
  }

  /** Every pack, by ref. */
  listPacks(_actor: Actor): Promise<PackRecord[]> {
    return this.#store.listPacks();
  }

  /** Every action, or those of one pack, by ref. */
  listActions(_actor: Actor, filter: { pack?: string | undefined } = {}): Promise<ActionRecord[]> {
    return this.#store.listActions(filter);
  }
}
