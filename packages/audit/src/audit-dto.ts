import type { AuditEvent } from './audit-types.js';

/** An audit event on the wire: `GET /api/v1/audit` and `attune audit … --json` print this one shape. */
export interface AuditEventResource {
  readonly id: string;
  readonly at: string;
  readonly actor: AuditEvent['actor'];
  readonly source: string | null;
  readonly request_id: string | null;
  readonly action: string;
  readonly ref: string | null;
  readonly version: number | null;
  readonly outcome: AuditEvent['outcome'];
  readonly detail: Record<string, unknown>;
  /** The event's chained hash; null until sealed. */
  readonly hash: string | null;
}

/**
 * The wire shape of an event (snake_case, time in ISO 8601); never a value. A value's HMAC (`detail.value_hmac`) is
 * not shown either: two secrets with one value would show one HMAC, telling a reader of the log that they are equal.
 * It is only compared, by `attune audit hash`.
 */
export function toAuditEventResource(e: AuditEvent): AuditEventResource {
  const { value_hmac: _hidden, ...detail } = e.detail;
  return {
    id: e.id,
    at: e.at.toISOString(),
    actor: e.actor,
    source: e.source,
    request_id: e.requestId,
    action: e.action,
    ref: e.ref,
    version: e.version,
    outcome: e.outcome,
    detail,
    hash: e.hash,
  };
}
