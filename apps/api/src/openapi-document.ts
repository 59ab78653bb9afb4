import { silentLogger } from '@attune/core';
import { buildApi } from './app.js';
import type { ApiServices } from './dependencies.js';

/**
 * The OpenAPI document of this API, as `/openapi.json` serves it, built without a database: the routes are
 * registered over services that are never called (the document comes from the routes' schemas alone). The CLI's
 * build generates its typed client from it, so that the server and its client cannot drift.
 */
export async function openApiDocument(): Promise<Record<string, unknown>> {
  const never = new Proxy(
    {},
    {
      get() {
        throw new Error('openApiDocument: the services of a document-only API are never called');
      },
    },
  );
  const logger = silentLogger();
  const app = await buildApi({
    ...(Object.fromEntries(
      ['audit', 'keys', 'tokens', 'packs', 'executions', 'usage'].map((name) => [name, never]),
    ) as unknown as ApiServices),
    logger,
    maxBodyBytes: 65_536,
  });
  try {
    await app.ready();
    return app.swagger() as unknown as Record<string, unknown>;
  } finally {
    await app.close();
  }
}
