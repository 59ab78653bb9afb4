import { type Actor, AttuneError, checkPage } from '@attune/core';
import type { ExecutionStore, SecretUse, SecretUseCount } from './execution-store.js';

const DAY_MS = 86_400_000;

/** What {@link SecretUsageService.usage} reports. */
export interface SecretUsage {
  readonly ref: string;
  readonly from: Date;
  readonly to: Date;
  /** The last execution that received the secret, ever (null: never used). */
  readonly lastUse: SecretUse | null;
  /** Per action and version, the executions that finished with it in `[from, to)`, most recent first. */
  readonly byAction: readonly SecretUseCount[];
}

/** A secret no execution received for the period asked. */
export interface UnusedSecret {
  readonly ref: string;
  readonly level: string;
  readonly created: Date;
  readonly lastUsedAt: Date | null;
}

/** The secrets a usage report covers (the key service). */
export interface ActiveKeys {
  activeKeys(
    actor: Actor,
    createdBefore: Date,
  ): Promise<Array<{ ref: string; level: string; created: Date }>>;
}

function invalid(field: string, message: string): AttuneError {
  return new AttuneError({ code: 'ATTUNE_EXECUTIONS_INVALID', category: 'invalid', message, field });
}

/**
 * Who used a secret (docs/audit.md#usage), answered from the provenance each execution stores: its last use and the
 * actions that used it in a period, the secrets unused for N days, every execution that received version N (after a
 * leak). Works on refs, so a deleted or purged secret can still be traced. The one implementation behind the API's
 * usage routes and `attune key usage|unused|executions`.
 */
export class SecretUsageService {
  readonly #executions: ExecutionStore;
  readonly #keys: ActiveKeys;

  constructor(options: { executions: ExecutionStore; keys: ActiveKeys }) {
    this.#executions = options.executions;
    this.#keys = options.keys;
  }

  /** The secret's last use, and its use per action and version in `[from, to)` (default: the last 30 days). */
  async usage(_actor: Actor, ref: string, period: { from?: Date; to?: Date } = {}): Promise<SecretUsage> {
    const to = period.to ?? new Date();
    const from = period.from ?? new Date(to.getTime() - 30 * DAY_MS);
    if (from.getTime() >= to.getTime()) throw invalid('from', '`from` must be before `to`.');
    // Without `to`, up to now inclusive: an execution that ended this millisecond counts.
    const { last, byAction } = await this.#executions.usageOf(ref, { from, to: period.to ?? null });
    return { ref, from, to, lastUse: last, byAction };
  }

  /** Executions that received version `version` of `ref`, newest first; `next` continues below the last one. */
  async receivedVersion(
    _actor: Actor,
    ref: string,
    version: number,
    page: { before?: string; limit?: number } = {},
  ): Promise<{ executions: SecretUse[]; next: string | null }> {
    if (!Number.isInteger(version) || version < 1)
      throw invalid('version', '`version` must be a whole number ≥ 1.');
    const { limit, before } = checkPage(page, 'ATTUNE_EXECUTIONS_INVALID', 'an execution');
    const executions = await this.#executions.receivedVersion(ref, version, { before, limit });
    return {
      executions,
      next: executions.length === limit ? (executions.at(-1) as SecretUse).executionId : null,
    };
  }

  /** Secrets (not deleted, older than the period) that no execution received in the last `days` days. */
  async unused(actor: Actor, days: number): Promise<UnusedSecret[]> {
    if (!Number.isInteger(days) || days < 1 || days > 36_500)
      throw invalid('days', '`days` must be a whole number from 1 to 36500.');
    const since = new Date(Date.now() - days * DAY_MS);
    const keys = await this.#keys.activeKeys(actor, since);
    const unused = await this.#executions.unusedSince(
      keys.map((k) => k.ref),
      since,
    );
    const byRef = new Map(keys.map((k) => [k.ref, k]));
    return unused.map((u) => {
      const key = byRef.get(u.ref) as { level: string; created: Date };
      return { ref: u.ref, level: key.level, created: key.created, lastUsedAt: u.lastUsedAt };
    });
  }
}
