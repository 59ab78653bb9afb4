import { type AuditService, toAuditEventResource } from '@attune/audit';
import type { FastifyInstance } from 'fastify';
import { need } from '../plugins/auth.js';
import * as s from '../schemas.js';
import { dateOf } from './query.js';

/**
 * `GET /api/v1/audit`: the audit log, newest first, filtered, with a cursor; `POST /api/v1/audit/hash`: the events
 * that stored a given value, by its keyed HMAC (docs/api.md#audit).
 */
export function registerAuditRoutes(app: FastifyInstance, audit: AuditService): void {
  app.get<{
    Querystring: {
      ref?: string;
      actor?: string;
      action?: string;
      from?: string;
      to?: string;
      before?: string;
      limit?: string;
    };
  }>(
    '/api/v1/audit',
    {
      schema: {
        tags: ['audit'],
        operationId: 'listAuditEvents',
        summary: 'List audit events, newest first; never a value (scope audit:read)',
        querystring: s.auditQuery,
        response: { 200: s.auditPageDto, ...s.errorResponses },
      },
    },
    async (req) => {
      const actor = need(req, 'audit:read');
      const q = req.query;
      const page = await audit.list(actor, {
        ref: q.ref,
        actor: q.actor,
        action: q.action,
        from: dateOf(q.from, 'from'),
        to: dateOf(q.to, 'to'),
        before: q.before,
        limit: q.limit === undefined ? undefined : Number(q.limit),
      });
      return { data: page.events.map(toAuditEventResource), next: page.next };
    },
  );

  app.post<{ Body: { value: string } }>(
    '/api/v1/audit/hash',
    {
      schema: {
        tags: ['audit'],
        operationId: 'lookUpAuditValue',
        summary:
          'Was this string ever a stored value, and when: events whose value HMAC matches (scopes audit:read, keys:decrypt; needs audit.hmac_key)',
        body: s.auditHashBody,
        response: { 200: s.auditEventsDto, ...s.errorResponses },
      },
    },
    async (req) => {
      // A guess checked against every stored value: only for who may read values anyway.
      need(req, 'keys:decrypt');
      const actor = need(req, 'audit:read');
      const events = await audit.lookUpValue(actor, req.body.value);
      return { data: events.map(toAuditEventResource) };
    },
  );
}
