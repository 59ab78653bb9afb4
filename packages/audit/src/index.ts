/**
 * `@attune/audit`: the audit log — append-only, hash-chained events of every change or reveal of a secret, token,
 * pack or execution, written in the transaction of the change they record; verification. Never a value.
 * Concepts: docs/audit.md.
 */

export { type AuditEventResource, toAuditEventResource } from './audit-dto.js';
export {
  type AuditFilter,
  AuditHashUnavailableError,
  AuditLog,
  AuditWriteError,
  type VerifyReport,
} from './audit-log.js';
export { AuditSealer } from './audit-sealer.js';
export { type AuditPage, AuditService } from './audit-service.js';
export {
  AUDIT_ACTIONS,
  type AuditAction,
  type AuditEvent,
  type AuditEventInput,
  type AuditOutcome,
} from './audit-types.js';
export { AuthFailureRecorder, type AuthFailureRecorderOptions } from './auth-failures.js';
export { type ChainFields, eventHash, eventText, GENESIS_HASH } from './chain.js';
