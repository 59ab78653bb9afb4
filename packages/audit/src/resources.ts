/** The audit event resource (the API's wire format), without the log's store: `@attune/audit/resources`. */
export { toAuditEventResource } from './audit-dto.js';
