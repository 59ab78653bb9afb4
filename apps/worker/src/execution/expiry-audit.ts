import type { AuditLog } from '@attune/audit';
import { type Actor, errorSummary, type Logger } from '@attune/core';
import type { SqlQueryable } from '@attune/db';
import type { ResolvedSecret, SecretWarning } from '@attune/secrets';

/** The execution an expiry event is about. */
export interface ExpiryExecution {
  readonly id: string;
  readonly actionRef: string;
}

/** A secret as delivered: was it expired (within the grace period)? */
type Delivered = Pick<ResolvedSecret, 'ref' | 'version' | 'expired' | 'expiresAt'>;

/** Records what expiry did to an execution's secrets (docs/audit.md#actions). */
export interface ExpiryRecorder {
  /** The expired secrets the execution was refused (of the resolver's warnings, those with reason `expired`). */
  refused(execution: ExpiryExecution, warnings: readonly SecretWarning[]): Promise<void>;
  /** The secrets delivered to an execution that starts (of them, those expired: within the grace period). */
  delivered(execution: ExpiryExecution, secrets: readonly Delivered[]): Promise<void>;
}

/**
 * Writes to the audit log, as the worker, each expired secret an execution was refused (`key.expired_refused`,
 * outcome `refused`) and each one delivered within the grace period (`key.expired_delivered`): ref, version, expiry,
 * execution and action — never a value. A grace delivery is recorded as the action's process is handed to the
 * spawner (a spawn that then fails is the execution's `failed`, with its reason). Recording never fails an execution
 * (a refusal reveals nothing; a grace delivery is also the execution's `secret_expired` warning, stored with its
 * outcome): an event that cannot be written is logged as an error.
 */
export class AuditedExpiry implements ExpiryRecorder {
  readonly #audit: AuditLog;
  readonly #sql: SqlQueryable;
  readonly #actor: Actor;
  readonly #logger: Logger;

  constructor(options: { audit: AuditLog; sql: SqlQueryable; actor: Actor; logger: Logger }) {
    this.#audit = options.audit;
    this.#sql = options.sql;
    this.#actor = options.actor;
    this.#logger = options.logger;
  }

  async refused(execution: ExpiryExecution, warnings: readonly SecretWarning[]): Promise<void> {
    const context = { execution_id: execution.id, action: execution.actionRef };
    for (const w of warnings) {
      if (w.reason !== 'expired') continue;
      const recorded = await this.#audit.appendRefusal(
        {
          actor: this.#actor,
          action: 'key.expired_refused',
          ref: w.ref,
          version: w.version,
          outcome: 'refused',
          detail: { reason: 'expired', expires_at: w.expiresAt?.toISOString() ?? null, ...context },
        },
        this.#sql,
      );
      if (!recorded) this.#logger.error({ ref: w.ref, ...context }, 'could not record an expiry refusal');
    }
  }

  async delivered(execution: ExpiryExecution, secrets: readonly Delivered[]): Promise<void> {
    const context = { execution_id: execution.id, action: execution.actionRef };
    for (const s of secrets) {
      if (!s.expired) continue;
      await this.#audit
        .append(
          {
            actor: this.#actor,
            action: 'key.expired_delivered',
            ref: s.ref,
            version: s.version,
            detail: { expires_at: s.expiresAt?.toISOString() ?? null, ...context },
          },
          this.#sql,
        )
        .catch((error: unknown) =>
          this.#logger.error(
            { ref: s.ref, ...context, err: errorSummary(error) },
            'could not record a delivery within the expiry grace period',
          ),
        );
    }
  }
}
