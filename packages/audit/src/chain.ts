import { createHash } from 'node:crypto';

/** The hash before the first event of the log. */
export const GENESIS_HASH = '0'.repeat(64);

/** The columns an event's hash covers, as text, in the database's own formatting (read them as such). */
export interface ChainFields {
  readonly prevHash: string;
  readonly id: string;
  /** `at` as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC, microseconds). */
  readonly atText: string;
  readonly actorType: string;
  readonly actorId: string;
  readonly actorName: string;
  readonly source: string | null;
  readonly requestId: string | null;
  readonly action: string;
  readonly ref: string | null;
  readonly version: number | null;
  readonly outcome: string;
  /** `detail` as the database prints JSONB. */
  readonly detailText: string;
}

/**
 * The text an event's hash covers: each field as `<length in characters>:<text>`, in a fixed order, the previous
 * event's hash first — the same as the database's `attune.audit_event_text`, computed here independently of it.
 */
export function eventText(e: ChainFields): string {
  const fields = [
    e.prevHash,
    e.id,
    e.atText,
    e.actorType,
    e.actorId,
    e.actorName,
    e.source ?? '',
    e.requestId ?? '',
    e.action,
    e.ref ?? '',
    e.version === null ? '' : String(e.version),
    e.outcome,
    e.detailText,
  ];
  return fields.map((f) => `${[...f].length}:${f}`).join('');
}

/** The hash of an event (hex SHA-256 of {@link eventText}). */
export function eventHash(e: ChainFields): string {
  return createHash('sha256').update(eventText(e), 'utf8').digest('hex');
}
