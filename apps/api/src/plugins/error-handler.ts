import { AttuneError, categoryOf, type ErrorCategory, httpStatusOf, isAttuneError } from '@attune/core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * The error handler: every error becomes `{"error": {code, message, field?}}` (docs/api.md#errors), its status taken
 * from its category (`@attune/core`'s one table). Anything unexpected is a 500 that says nothing was changed, and is
 * logged by name and code only. Unknown paths are a 404 in the same shape, counted against the caller's budget.
 */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error, req, reply) => sendError(error, req, reply));
  // Unknown paths count against the caller's budget too (the limit's global hook covers matched routes only).
  app.setNotFoundHandler({ preHandler: app.rateLimit() }, (req, reply) => {
    void reply.code(404).send({
      error: {
        code: 'ATTUNE_API_NOT_FOUND',
        category: 'not_found',
        message: `No route ${req.method} ${req.url.split('?')[0]}.`,
      },
    });
  });
}

function sendError(error: unknown, req: FastifyRequest, reply: FastifyReply): void {
  const e = error as Partial<FastifyError> & {
    validation?: Array<{ instancePath?: string; params?: Record<string, unknown>; message?: string }>;
  };
  let status: number;
  let body: { code: string; category: ErrorCategory; message: string; field?: string };
  if (isAttuneError(error) && categoryOf(error) !== 'internal') {
    status = httpStatusOf(error);
    const field = error instanceof AttuneError ? error.field : undefined;
    body = {
      code: error.code,
      category: categoryOf(error),
      message: error.message,
      ...(field ? { field } : {}),
    };
  } else if (e.validation) {
    const first = e.validation[0];
    const path = (first?.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
    const field =
      (first?.params?.missingProperty as string | undefined) ??
      (first?.params?.additionalProperty as string | undefined) ??
      (path || e.validationContext || 'body');
    const what = first?.params?.additionalProperty
      ? 'is not a known field'
      : (first?.message ?? 'is invalid');
    status = 400;
    body = {
      code: 'ATTUNE_API_INVALID',
      category: 'invalid',
      message: `${e.validationContext ?? 'body'}: ${field} ${what}`,
      field,
    };
  } else if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    // Fastify's own client errors: body too large (413), bad JSON (400), unsupported media type (415).
    status = e.statusCode;
    body = {
      code: e.code ?? 'ATTUNE_API_BAD_REQUEST',
      category: status === 413 ? 'too_large' : 'invalid',
      message:
        status === 413 ? 'The request body is larger than the limit.' : 'The request could not be read.',
    };
  } else {
    // A bug, or an internal failure of ours: its message is for the log's reader at most, never for the caller.
    req.log.error({ err: { name: (error as Error)?.name, code: e.code } }, 'unexpected error');
    status = 500;
    body = {
      code: 'ATTUNE_API_INTERNAL',
      category: 'internal',
      message: 'Internal error; nothing was changed by this request.',
    };
  }
  void reply.code(status).send({ error: body });
}
