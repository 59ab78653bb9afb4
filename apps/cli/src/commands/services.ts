import { startApi } from '@attune/api';
import { createLogger } from '@attune/core';
import type { CommandContext } from './context.js';

/** `attune api`: the HTTP API until SIGTERM/SIGINT. */
export async function apiCommand(ctx: CommandContext): Promise<number> {
  const config = ctx.apiConfig();
  const server = await startApi(
    config,
    createLogger({ name: 'attune-api', level: config.logLevel ?? 'info' }),
  );
  ctx.io.stderr.write(
    `attune api listening on ${server.url} (OpenAPI: ${server.url}/openapi.json, docs: ${server.url}/docs)\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => void server.close().then(resolve);
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return 0;
}
