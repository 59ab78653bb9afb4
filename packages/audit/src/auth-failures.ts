import { type Actor, type Logger, SYSTEM_ACTOR } from '@attune/core';
import type { SqlQueryable } from '@attune/db';
import { AuditLog } from './audit-log.js';

/** Options of {@link AuthFailureRecorder}. */
export interface AuthFailureRecorderOptions {
  /** Where the events go (the API's pool). */
  readonly sql: SqlQueryable;
  readonly logger: Logger;
  readonly log?: AuditLog;
  /** Length of a window: one event per address per window (default 60 s). */
  readonly windowMs?: number;
  /** Addresses tracked per window; failures from further addresses are counted in one event (default 1000). */
  readonly maxSources?: number;
  /** Who records the events (default the system). */
  readonly actor?: Actor;
}

interface Tally {
  count: number;
  first: Date;
  last: Date;
  reasons: Set<string>;
}

/**
 * Failed authentications, aggregated and bounded (docs/audit.md#failed-authentications): a request with a bad
 * token is counted, not written, so that a flood of them cannot flood the log or slow the API. At the end of each
 * window one `auth.failed` event per client address records how many failures it sent, when, and why; past
 * `maxSources` addresses, the rest are counted in one event without an address. At most `maxSources + 1` events per
 * window, whatever the load.
 *
 * Unlike the events of changes and decrypts, these are written after the fact: a refused request changed nothing,
 * so there is no operation to fail when the log cannot be written; the failure to write is logged (counts only).
 */
export class AuthFailureRecorder {
  readonly #o: Required<Omit<AuthFailureRecorderOptions, 'log'>> & { log: AuditLog };
  #window = new Map<string, Tally>();
  #overflow: Tally | null = null;
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> = Promise.resolve();

  constructor(options: AuthFailureRecorderOptions) {
    this.#o = {
      windowMs: 60_000,
      maxSources: 1000,
      actor: SYSTEM_ACTOR,
      ...options,
      log: options.log ?? new AuditLog(),
    };
  }

  /** Counts one failed authentication from `source` (a client address); `reason` is a fixed word, never a token. */
  record(source: string, reason: 'invalid_token' | 'missing_token'): void {
    const now = new Date();
    let tally = this.#window.get(source);
    if (!tally) {
      if (this.#window.size >= this.#o.maxSources) {
        this.#overflow ??= { count: 0, first: now, last: now, reasons: new Set() };
        tally = this.#overflow;
      } else {
        tally = { count: 0, first: now, last: now, reasons: new Set() };
        this.#window.set(source, tally);
      }
    }
    tally.count++;
    tally.last = now;
    tally.reasons.add(reason);
    if (!this.#timer) {
      this.#timer = setTimeout(() => void this.flush(), this.#o.windowMs);
      this.#timer.unref();
    }
  }

  /** Writes the current window's events now (also called by the timer, and on close). */
  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const window = this.#window;
    const overflow = this.#overflow;
    this.#window = new Map();
    this.#overflow = null;
    if (window.size === 0 && !overflow) return this.#flushing;
    const entries: Array<[string | null, Tally]> = [...window];
    if (overflow) entries.push([null, overflow]);
    this.#flushing = this.#flushing.then(() => this.#write(entries));
    return this.#flushing;
  }

  async #write(entries: Array<[string | null, Tally]>): Promise<void> {
    let failed = 0;
    for (const [source, tally] of entries) {
      try {
        await this.#o.log.append(
          {
            actor: source === null ? this.#o.actor : { ...this.#o.actor, source },
            action: 'auth.failed',
            outcome: 'refused',
            detail: {
              count: tally.count,
              first_at: tally.first.toISOString(),
              last_at: tally.last.toISOString(),
              reasons: [...tally.reasons].sort(),
              ...(source === null ? { other_sources: true } : {}),
            },
          },
          this.#o.sql,
        );
      } catch {
        failed += tally.count;
      }
    }
    if (failed > 0)
      this.#o.logger.error({ failures: failed }, 'could not record failed authentications in the audit log');
  }
}
