import { type Actor, checkPage } from '@attune/core';
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
    const { limit } = checkPage(filter, 'ATTUNE_AUDIT_INVALID', 'an event');
    const events = await this.#log.list({ ...filter, limit }, this.#sql);
    return { events, next: events.length === limit ? (events.at(-1) as AuditEvent).id : null };
  }

  /** Recomputes the chain; the first event changed, removed or inserted, if any. */
  verify(_actor: Actor, onProgress?: (checked: number) => void): Promise<VerifyReport> {
    return this.#log.verify(this.#sql, onProgress);
  }

  /**
   * Whether `value` (a leaked string, say) was ever a stored value, and when: the events whose recorded value HMAC
   * is its HMAC under the audit key, oldest first. The lookup is itself recorded (the number of matches and the ids
   * of the first 100, never the value or its HMAC). @throws {AuditHashUnavailableError} when no audit HMAC key is configured.
   */
  async lookUpValue(actor: Actor, value: string): Promise<AuditEvent[]> {
    const hmac = this.#log.valueHmac(value);
    const events = await this.#log.withValueHmac(hmac, 1000, this.#sql);
    await this.#log.append(
      {
        actor,
        action: 'audit.value_looked_up',
        detail: { matches: events.length, events: events.slice(0, 100).map((e) => e.id) },
      },
      this.#sql,
    );
    return events;
  }

  /** Links the events committed since the last seal to the hash chain; returns how many. */
  seal(): Promise<number> {
    return this.#log.seal(this.#sql);
  }

  /** Deletes the events older than `before`, recording the prune. */
  prune(actor: Actor, before: Date): Promise<number> {
    return this.#log.prune(actor, before, this.#sql);
  }
}
