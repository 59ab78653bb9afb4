import { AttuneError } from '@attune/core';
import type { FastifyInstance } from 'fastify';

/**
 * The seed's curl example sends JSON without a Content-Type (curl -d defaults to form encoding): a body of that type
 * is parsed as JSON too, rather than make the documented example fail. Parsed by Fastify's own JSON parser, so
 * `__proto__` and `constructor.prototype` keys are refused here as they are for application/json.
 */
export function acceptJsonAsFormBody(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (req, body, done) =>
    parseJson(req, body as string, (error, value) =>
      error
        ? done(
            new AttuneError({
              code: 'ATTUNE_API_BAD_JSON',
              category: 'invalid',
              message: 'The request body is not JSON.',
            }),
            undefined,
          )
        : done(null, value),
    ),
  );
}
