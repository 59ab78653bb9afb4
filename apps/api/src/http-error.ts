import { ActionNotFoundError, EnqueueFailedError, InvalidParametersError } from '@attune/registry';
import {
  EncryptionKeyRequiredError,
  InvalidKeyInputError,
  KeyConflictError,
  KeyNotFoundError,
  KeyUndecryptableError,
  OwnerNotFoundError,
  ValueTooLargeError,
} from '@attune/secrets';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** An error the API answers with: status, stable code, message, and the field at fault. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/**
 * The error handler: every error becomes `{"error": {code, message, field?}}` with its status (docs/api.md#errors).
 * Anything unexpected is a 500 that says nothing was changed, and is logged by name and code only.
 */
export function sendError(error: unknown, req: FastifyRequest, reply: FastifyReply): void {
  const e = error as {
    validation?: Array<{ instancePath?: string; params?: Record<string, unknown>; message?: string }>;
    validationContext?: string;
    statusCode?: number;
    code?: string;
  };
  let status = 500;
  let body: { code: string; message: string; field?: string };
  if (error instanceof HttpError) {
    status = error.status;
    body = { code: error.code, message: error.message, ...(error.field ? { field: error.field } : {}) };
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
      message: `${e.validationContext ?? 'body'}: ${field} ${what}`,
      field,
    };
  } else if (error instanceof ValueTooLargeError) {
    status = 413;
    body = { code: error.code, message: error.message, field: 'value' };
  } else if (error instanceof InvalidKeyInputError) {
    status = 400;
    body = { code: error.code, message: error.message, field: error.field };
  } else if (error instanceof KeyConflictError) {
    status = 409;
    body = { code: error.code, message: error.message, field: error.field };
  } else if (error instanceof KeyNotFoundError || error instanceof ActionNotFoundError) {
    status = 404;
    body = { code: error.code, message: error.message };
  } else if (
    error instanceof OwnerNotFoundError ||
    error instanceof EncryptionKeyRequiredError ||
    error instanceof InvalidParametersError
  ) {
    status = 400;
    body = { code: error.code, message: error.message };
  } else if (error instanceof EnqueueFailedError) {
    status = 503;
    body = { code: error.code, message: error.message };
  } else if (error instanceof KeyUndecryptableError) {
    status = 409;
    body = { code: error.code, message: error.message };
  } else if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    // Fastify's own client errors: body too large (413), bad JSON (400), unsupported media type (415).
    status = e.statusCode;
    body = {
      code: e.code ?? 'ATTUNE_API_BAD_REQUEST',
      message:
        status === 413 ? 'The request body is larger than the limit.' : 'The request could not be read.',
    };
  } else {
    req.log.error({ err: { name: (error as Error)?.name, code: e.code } }, 'unexpected error');
    body = { code: 'ATTUNE_API_INTERNAL', message: 'Internal error; nothing was changed by this request.' };
  }
  void reply.code(status).send({ error: body });
}
