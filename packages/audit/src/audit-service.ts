import type { Actor } from '@attune/core';
import type { SqlExecutor } from '@attune/db';
import { type AuditFilter, AuditLog, type VerifyReport } from './audit-log.js';
import type { AuditEvent } from './audit-types.js';

/** A page of events and the cursor of the next (older) page, or null. */
export interface AuditPage {
  readonly events: readonly AuditEvent[];
  readonly next: string | null;
}

/**
 * Reading the audit log, for an {@link Actor}: the one implementation behind `GET /api/v1/audit` and `attune audit`.
 */
export class AuditService {
  readonly #sql: SqlExecutor;
  readonly #log: AuditLog;

  constructor(options: { sql: SqlExecutor; log?: AuditLog }) {
    this.#sql = options.sql;
    this.#log = options.log ?? new AuditLog();
  }

  /** Events, newest first, filtered; `next` continues below the last one. */
  async list(_actor: Actor, filter: AuditFilter): Promise<AuditPage> {
    const limit = Math.min(Math.max(filter.limit ?? 100, 1), 1000);
    const events = await this.#log.list({ ...filter, limit }, this.#sql);
    return { events, next: events.length === limit ? (events.at(-1) as AuditEvent).id : null };
  }

  /** Recomputes the chain; the first event changed, removed or inserted, if any. */
  verify(_actor: Actor, onProgress?: (checked: number) => void): Promise<VerifyReport> {
    return this.#log.verify(this.#sql, onProgress);
  }

  /** Deletes the events older than `before`, recording the prune. */
  prune(actor: Actor, before: Date): Promise<number> {
    return this.#log.prune(actor, before, this.#sql);
  }
}
