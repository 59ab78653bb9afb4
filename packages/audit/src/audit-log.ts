import { createHmac } from 'node:crypto';
import { type Actor, AttuneError } from '@attune/core';
import type { SqlExecutor, SqlQueryable, SqlStatement } from '@attune/db';
import type { AuditEvent, AuditEventInput, AuditOutcome } from './audit-types.js';
import { type ChainFields, eventHash, GENESIS_HASH } from './chain.js';

/** Filters of {@link AuditLog.list}; `before` is the cursor (an event id: the page continues below it). */
export interface AuditFilter {
  readonly ref?: string | undefined;
  readonly actor?: string | undefined;
  readonly action?: string | undefined;
  readonly from?: Date | undefined;
  readonly to?: Date | undefined;
  readonly before?: string | undefined;
  readonly limit?: number | undefined;
}

/** What {@link AuditLog.verify} found. */
export interface VerifyReport {
  readonly checked: number;
  /**
   * The prunes the log records (newest first, at most 20): the chain starts from the newest one's anchor, so each is
   * worth checking against your own records — whoever holds the table's credentials can delete its oldest events
   * and record a prune in someone's name.
   */
  readonly prunes: ReadonlyArray<{ id: string; at: Date; actor: string; count: number; before: string }>;
  /** The first event that breaks the chain, and how: its content changed, or an event was removed or inserted. */
  readonly broken: {
    readonly id: string;
    readonly problem: 'changed' | 'removed' | 'inserted';
    readonly detail: string;
  } | null;
}

/** An event could not be recorded: the operation it records did not happen. */
export class AuditWriteError extends AttuneError {
  /**
   * `together`: the change and its event were one statement, and it failed: which of the two the database refused
   * is not known, only that neither was written.
   */
  constructor(action: string, ref: string | null | undefined, together = false) {
    const what = `${action}${ref ? ` of ${ref}` : ''}`;
    super({
      code: 'ATTUNE_AUDIT_WRITE_FAILED',
      category: 'unavailable',
      message: together
        ? `The change and its audit event (${what}) could not be written, so neither was: nothing was changed or revealed. Check the database and try again.`
        : `The audit log could not record ${what}, so it was not done: nothing was changed or revealed. Check the database (attune.audit_event) and try again.`,
    });
  }
}

/** `attune audit hash` without an audit HMAC key: nothing to compare with. */
export class AuditHashUnavailableError extends AttuneError {
  constructor() {
    super({
      code: 'ATTUNE_AUDIT_NO_HMAC_KEY',
      category: 'refused',
      message:
        'No audit HMAC key is configured (audit.hmac_key_file or audit.hmac_key), so no value HMAC was recorded to compare with.',
    });
  }
}

interface Row {
  id: string;
  at: Date;
  at_text: string;
  actor_type: Actor['type'];
  actor_id: string;
  actor_name: string;
  source: string | null;
  request_id: string | null;
  action: string;
  ref: string | null;
  version: number | null;
  outcome: AuditOutcome;
  detail: Record<string, unknown>;
  detail_text: string;
  seq: string | null;
  prev_hash: string | null;
  hash: string | null;
}

/** A sealed event, as `verify` reads it. */
type SealedRow = Row & { seq: string; prev_hash: string; hash: string };

const COLUMNS = `id::text AS id, at, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at_text,
  actor_type, actor_id, actor_name, source, request_id, action, ref, version, outcome, detail, detail::text AS detail_text,
  seq::text AS seq, prev_hash, hash`;

/** Events read per page while verifying; hashes kept to tell an insertion from a removal. */
const VERIFY_PAGE = 5000;
const SEEN = 10_000;

/**
 * The audit log (docs/audit.md): the one owner of `attune.audit_event`. Appending happens in the caller's transaction
 * (`append(event, tx)`), so an event commits with the change it records or not at all; when it cannot be written, the
 * operation fails ({@link AuditWriteError}). The database gives each event its id and time, and refuses to update
 * (but to seal) or delete one. Sealing ({@link AuditLog.seal}: `attune.audit_seal`) links committed events to the end
 * of the hash chain, after their commit, so that appends never wait for one another; {@link AuditLog.verify}
 * recomputes the chain independently.
 */
export class AuditLog {
  readonly #valueKey: string | undefined;

  /** `valueKey`: the audit HMAC key (`audit.hmac_key`); with it, events that write a value record its keyed HMAC. */
  constructor(options: { valueKey?: string | undefined } = {}) {
    this.#valueKey = options.valueKey;
  }

  /** Whether values' HMACs are recorded (an audit HMAC key is configured). */
  get recordsValueHmacs(): boolean {
    return this.#valueKey !== undefined;
  }

  /**
   * The keyed HMAC of a value, as recorded (HMAC-SHA256 under the audit key, hex): of a text value, its UTF-8 bytes;
   * of a structured one, its compact JSON. @throws {AuditHashUnavailableError}
   */
  valueHmac(value: unknown): string {
    if (this.#valueKey === undefined) throw new AuditHashUnavailableError();
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    return createHmac('sha256', this.#valueKey).update(text, 'utf8').digest('hex');
  }

  /** Records an event in the caller's transaction. @throws {AuditWriteError} */
  async append(event: AuditEventInput, q: SqlQueryable): Promise<void> {
    const { text, params } = this.#insert(event, 0);
    try {
      await q.query(`INSERT INTO "attune"."audit_event" ${text}`, params);
    } catch {
      // The driver's message may quote the parameters: only the fact is reported.
      throw new AuditWriteError(event.action, event.ref);
    }
  }

  /**
   * Records the event in the same statement as a caller's `INSERT … RETURNING …` (one round trip, one transaction:
   * both rows are written or neither): returns that statement wrapped, answering the caller's rows. `fromRow` copies
   * columns of the inserted row into the event's detail (detail key → RETURNING column name, as text). A failure of
   * the wrapped statement is the caller's to report.
   */
  along(
    event: AuditEventInput,
    fromRow: Readonly<Record<string, string>> = {},
  ): (insert: SqlStatement) => SqlStatement {
    const copied = Object.entries(fromRow).map(([key, column]) => {
      if (!/^[a-z_]+$/.test(key) || !/^[a-z_]+$/.test(column)) throw new Error(`bad detail column: ${key}`);
      return `'${key}', inserted."${column}"::text`;
    });
    return (insert) => {
      const { text, params } = this.#insert(event, insert.params.length, copied);
      return {
        text: `WITH inserted AS (${insert.text}),
               recorded AS (INSERT INTO "attune"."audit_event" ${text} FROM inserted)
               SELECT * FROM inserted`,
        params: [...insert.params, ...params],
      };
    };
  }

  /**
   * The column list and values of an event's INSERT, its parameters numbered after `offset`; with `copied`, a
   * `SELECT` whose detail adds columns of a CTE `inserted` (the caller adds `FROM inserted`).
   */
  #insert(event: AuditEventInput, offset: number, copied?: readonly string[]): SqlStatement {
    const detail =
      event.value !== undefined && this.#valueKey !== undefined
        ? { ...event.detail, value_hmac: this.valueHmac(event.value) }
        : (event.detail ?? {});
    const $ = (n: number) => `$${offset + n}`;
    const detailSql = copied?.length
      ? `${$(10)}::jsonb || jsonb_build_object(${copied.join(', ')})`
      : `${$(10)}::jsonb`;
    const values = `${$(1)}, ${$(2)}, ${$(3)}, ${$(4)}, ${$(5)}, ${$(6)}, ${$(7)}, ${$(8)}::int, ${$(9)}, ${detailSql}`;
    return {
      text: `(actor_type, actor_id, actor_name, source, request_id, action, ref, version, outcome, detail)
             ${copied ? `SELECT ${values}` : `VALUES (${values})`}`,
      params: [
        event.actor.type,
        event.actor.id,
        event.actor.name,
        event.actor.source ?? null,
        event.actor.requestId ?? null,
        event.action,
        event.ref ?? null,
        event.version ?? null,
        event.outcome ?? 'ok',
        JSON.stringify(detail),
      ],
    };
  }

  /**
   * Records something refused or failed (outcome `refused` or `failed`: nothing was changed or revealed), in its
   * own statement. The refusal stands whether or not it is recorded, so a failure to record it is not thrown:
   * returns whether it was recorded.
   */
  async appendRefusal(
    event: AuditEventInput & { outcome: 'refused' | 'failed' },
    q: SqlQueryable,
  ): Promise<boolean> {
    try {
      await this.append(event, q);
      return true;
    } catch {
      return false;
    }
  }

  /** Events, newest first, filtered; at most `limit` (default 100, at most 1000). */
  async list(filter: AuditFilter, q: SqlQueryable): Promise<AuditEvent[]> {
    const limit = Math.min(Math.max(filter.limit ?? 100, 1), 1000);
    const rows = await q.query<Row>(
      `SELECT ${COLUMNS} FROM "attune"."audit_event"
       WHERE ($1::text IS NULL OR ref = $1) AND ($2::text IS NULL OR actor_name = $2) AND ($3::text IS NULL OR action = $3)
         AND ($4::timestamptz IS NULL OR at >= $4) AND ($5::timestamptz IS NULL OR at < $5)
         AND ($6::bigint IS NULL OR id < $6)
       ORDER BY "attune"."audit_event".id DESC LIMIT $7::int`,
      [
        filter.ref ?? null,
        filter.actor ?? null,
        filter.action ?? null,
        filter.from ?? null,
        filter.to ?? null,
        filter.before ?? null,
        limit,
      ],
    );
    return rows.map(toEvent);
  }

  /** Events whose recorded value HMAC is `hmac`, oldest first (at most `limit`): when that value was stored, where. */
  async withValueHmac(hmac: string, limit: number, q: SqlQueryable): Promise<AuditEvent[]> {
    const rows = await q.query<Row>(
      `SELECT ${COLUMNS} FROM "attune"."audit_event"
       WHERE detail ? 'value_hmac' AND detail->>'value_hmac' = $1
       ORDER BY "attune"."audit_event".id LIMIT $2::int`,
      [hmac, limit],
    );
    return rows.map(toEvent);
  }

  /**
   * Seals the committed events not yet in the chain (at most `max` of them), in id order; returns how many. Cheap
   * when there are none. Called by the API every second ({@link AuditSealer}), by the CLI when a command ends, and
   * before a verification or a prune.
   */
  async seal(q: SqlQueryable, max = 100_000): Promise<number> {
    const [row] = await q.query<{ sealed: number }>(`SELECT "attune"."audit_seal"($1::int) AS sealed`, [max]);
    return Number(row?.sealed ?? 0);
  }

  /**
   * Seals what is pending, then recomputes every sealed event's hash from its columns and checks each links to the
   * one before it in the chain; reports the first that does not: its content was changed, or an event before it was
   * removed, or events were inserted.
   */
  async verify(sql: SqlExecutor, onProgress?: (checked: number) => void): Promise<VerifyReport> {
    while ((await this.seal(sql)) > 0);
    // One snapshot for the whole walk: a prune or a seal committing meanwhile cannot look like tampering.
    return sql.withSession((session) =>
      session.transaction(async (q) => {
        await q.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
        return this.#walk(q, onProgress);
      }),
    );
  }

  async #walk(q: SqlQueryable, onProgress?: (checked: number) => void): Promise<VerifyReport> {
    const pruneRows = await q.query<{ id: string; at: Date; actor: string; detail: Record<string, unknown> }>(
      `SELECT id::text AS id, at, actor_type || ':' || actor_name AS actor, detail FROM "attune"."audit_event"
       WHERE action = 'audit.pruned' ORDER BY "attune"."audit_event".id DESC LIMIT 20`,
    );
    const newest = pruneRows[0]?.detail;
    const pruned = newest ? { anchor: String(newest.anchor) } : undefined;
    const prunes = pruneRows.map((p) => ({
      id: p.id,
      at: new Date(p.at),
      actor: p.actor,
      count: Number(p.detail.count),
      before: String(p.detail.before),
    }));
    // The chain's places follow one another from 1, or from just after the newest prune's last event.
    let expectedSeq = BigInt(typeof newest?.up_to_seq === 'string' ? newest.up_to_seq : 0) + 1n;
    const seen = new Map<string, { id: string; seq: bigint }>();
    let previous: { id: string; hash: string } | null = null;
    let checked = 0;
    let after = '0';
    for (;;) {
      const rows = await q.query<SealedRow>(
        `SELECT ${COLUMNS} FROM "attune"."audit_event" WHERE seq > $1::bigint ORDER BY "attune"."audit_event".seq LIMIT $2::int`,
        [after, VERIFY_PAGE],
      );
      if (rows.length === 0) break;
      for (const r of rows) {
        const broken = (
          problem: 'changed' | 'removed' | 'inserted',
          id: string,
          detail: string,
        ): VerifyReport => ({
          checked,
          prunes,
          broken: { id, problem, detail },
        });
        const expectedPrev = previous?.hash ?? pruned?.anchor ?? GENESIS_HASH;
        if (r.prev_hash !== expectedPrev && !(previous === null && r.prev_hash === GENESIS_HASH)) {
          const earlier = seen.get(r.prev_hash);
          return earlier
            ? broken(
                'inserted',
                nextAfter(seen, earlier.seq) ?? r.id,
                `event ${r.id} follows event ${earlier.id} in the chain: what lies between was inserted`,
              )
            : broken('removed', r.id, `the event before event ${r.id} in the chain is missing`);
        }
        const seq = BigInt(r.seq);
        if (seq !== expectedSeq)
          return seq > expectedSeq
            ? broken('removed', r.id, `event ${r.id} is at place ${seq} of the chain, not ${expectedSeq}`)
            : broken(
                'inserted',
                r.id,
                `event ${r.id} is at place ${seq} of the chain, before ${expectedSeq}`,
              );
        if (eventHash(fieldsOf(r)) !== r.hash)
          return broken('changed', r.id, `event ${r.id} is not what was recorded`);
        seen.set(r.hash, { id: r.id, seq });
        if (seen.size > SEEN) seen.delete(seen.keys().next().value as string);
        previous = { id: r.id, hash: r.hash };
        expectedSeq = seq + 1n;
        checked++;
      }
      after = (rows.at(-1) as SealedRow).seq;
      onProgress?.(checked);
    }
    return { checked, prunes, broken: null };
  }

  /**
   * Deletes the events older than `before` — sealing what is pending, then recording the prune with the hash the
   * remaining chain starts from — in one transaction (`sql.withSession`). Returns how many were deleted: the sealed
   * events up to the last one older than `before`, in chain order.
   */
  async prune(actor: Actor, before: Date, sql: SqlExecutor): Promise<number> {
    return sql.withSession((session) =>
      session.transaction(async (tx) => {
        await this.seal(tx, 2_147_483_647); // also holds the chain's lock to the end of this transaction
        // The cut: just before the first sealed event not older than `before` (the chain's order is the order of
        // commits, not of times: an older event sealed later stays, as do the events after it).
        const [last] = await tx.query<{ id: string; seq: string; hash: string; n: number }>(
          `WITH cut AS (
             SELECT coalesce((SELECT min(seq) FROM "attune"."audit_event" WHERE seq IS NOT NULL AND at >= $1) - 1,
                             (SELECT max(seq) FROM "attune"."audit_event")) AS seq)
           SELECT e.id::text AS id, e.seq::text AS seq, e.hash,
                  (SELECT count(*)::int FROM "attune"."audit_event" d WHERE d.seq <= cut.seq) AS n
           FROM cut JOIN "attune"."audit_event" e ON e.seq = cut.seq`,
          [before],
        );
        if (!last) return 0;
        await this.append(
          {
            actor,
            action: 'audit.pruned',
            detail: {
              before: before.toISOString(),
              up_to: last.id,
              up_to_seq: last.seq,
              anchor: last.hash,
              count: last.n,
            },
          },
          tx,
        );
        await tx.query(`SELECT set_config('attune.audit_prune', 'on', true)`);
        await tx.query('DELETE FROM "attune"."audit_event" WHERE seq <= $1::bigint', [last.seq]);
        return last.n;
      }),
    );
  }
}

/** The id of the first event seen after chain position `seq` (seen events are kept in chain order). */
function nextAfter(seen: Map<string, { id: string; seq: bigint }>, seq: bigint): string | undefined {
  for (const next of seen.values()) if (next.seq > seq) return next.id;
  return undefined;
}

function fieldsOf(r: SealedRow): ChainFields {
  return {
    prevHash: r.prev_hash,
    id: r.id,
    atText: r.at_text,
    actorType: r.actor_type,
    actorId: r.actor_id,
    actorName: r.actor_name,
    source: r.source,
    requestId: r.request_id,
    action: r.action,
    ref: r.ref,
    version: r.version,
    outcome: r.outcome,
    detailText: r.detail_text,
  };
}

function toEvent(r: Row): AuditEvent {
  return {
    id: r.id,
    at: r.at,
    actor: { type: r.actor_type, id: r.actor_id, name: r.actor_name },
    source: r.source,
    requestId: r.request_id,
    action: r.action,
    ref: r.ref,
    version: r.version,
    outcome: r.outcome,
    detail: r.detail,
    seq: r.seq,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}
