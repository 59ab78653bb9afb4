import type { Logger } from '@attune/core';
import type { SqlQueryable } from '@attune/db';
import { AuditLog } from './audit-log.js';

/**
 * Seals the audit log in the background (docs/audit.md#tamper-evidence): every `intervalMs` (default 1 s) it links
 * the events committed since to the end of the hash chain. Appends never wait for the chain; an event is unsealed
 * for at most about one interval on a running API. A failed seal is logged and tried again next time: nothing is
 * lost, the events stay in the table until sealed.
 */
export class AuditSealer {
  readonly #o: { sql: SqlQueryable; logger: Logger; log: AuditLog; intervalMs: number };
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> = Promise.resolve();
  #failing = false;

  constructor(options: { sql: SqlQueryable; logger: Logger; log?: AuditLog; intervalMs?: number }) {
    this.#o = {
      sql: options.sql,
      logger: options.logger,
      log: options.log ?? new AuditLog(),
      intervalMs: options.intervalMs ?? 1000,
    };
  }

  /** Starts sealing every interval. */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.sealNow(), this.#o.intervalMs);
    this.#timer.unref();
  }

  /** Seals now (after a seal already running); never throws. */
  sealNow(): Promise<void> {
    this.#running = this.#running.then(async () => {
      try {
        await this.#o.log.seal(this.#o.sql);
        if (this.#failing) this.#o.logger.info('audit log sealing works again');
        this.#failing = false;
      } catch (error) {
        if (!this.#failing)
          this.#o.logger.error(
            { err: { message: (error as Error).message } },
            'could not seal the audit log (retrying every interval)',
          );
        this.#failing = true;
      }
    });
    return this.#running;
  }

  /** Stops the timer and seals once more. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.sealNow();
  }
}
