import { type Actor, actorFields, type Logger } from '@attune/core';
import { loadPack } from './pack-loader.js';
import type { ActionRecord, PackRecord, PackStore, RegistrationReport } from './pack-store.js';

/**
 * Packs and actions for an {@link Actor}: register a pack folder, list packs and actions. The one implementation
 * behind `attune pack register` and the API's `/api/v1/packs` and `/api/v1/actions`.
 */
export class PackService {
  readonly #store: PackStore;
  readonly #logger: Logger;

  constructor(options: { store: PackStore; logger: Logger }) {
    this.#store = options.store;
    this.#logger = options.logger;
  }

  /**
   * Loads a pack folder, validates it, and registers it in one transaction; reports what changed.
   * @throws {InvalidPackError} {@link PackConflictError}
   */
  async register(actor: Actor, dir: string): Promise<RegistrationReport> {
    const report = await this.#store.register(loadPack(dir));
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
