import type { Actor } from '@attune/core';

/** What an event records (docs/audit.md#actions). */
export const AUDIT_ACTIONS = [
  'key.created',
  'key.updated',
  'key.rolled_back',
  'key.deleted',
  'key.undeleted',
  'key.purged',
  'key.versions_destroyed',
  'key.decrypted',
  'key.version_decrypted',
  'key.expired_refused',
  'key.expired_delivered',
  'token.created',
  'token.revoked',
  'auth.failed',
  'pack.registered',
  'execution.requested',
  'keyring.operation_started',
  'keyring.master_key_rotated',
  'keyring.data_key_rotated',
  'keyring.upgraded',
  'keyring.data_key_destroyed',
  'audit.pruned',
  'audit.value_looked_up',
] as const;

/** One of {@link AUDIT_ACTIONS}. */
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** How the operation an event records ended. */
export type AuditOutcome = 'ok' | 'refused' | 'failed';

/** An event to record. Never a value: refs, versions, ids and counts only. */
export interface AuditEventInput {
  readonly actor: Actor;
  readonly action: AuditAction;
  readonly ref?: string | null;
  readonly version?: number | null;
  readonly outcome?: AuditOutcome;
  /** Facts of the event (counts, ids, a data key); never a value. */
  readonly detail?: Readonly<Record<string, unknown>>;
  /**
   * The value the event writes (a create, an update, a rollback). Never stored: with an audit HMAC key, only its keyed
   * HMAC is, as `detail.value_hmac` (docs/audit.md#value-hmacs); without one, it is ignored.
   */
  readonly value?: unknown;
}

/** An event as recorded: the database gives its id and time, and its place in the chain once sealed. */
export interface AuditEvent {
  readonly id: string;
  readonly at: Date;
  readonly actor: { readonly type: Actor['type']; readonly id: string; readonly name: string };
  readonly source: string | null;
  readonly requestId: string | null;
  readonly action: string;
  readonly ref: string | null;
  readonly version: number | null;
  readonly outcome: AuditOutcome;
  readonly detail: Record<string, unknown>;
  /** Its place in the hash chain; null until sealed (within a second on a running API). */
  readonly seq: string | null;
  readonly prevHash: string | null;
  readonly hash: string | null;
}
