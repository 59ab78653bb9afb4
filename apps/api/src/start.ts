import { ExecutionPublisher } from '@attune/broker';
import type { ApiConfig } from '@attune/config';
import type { Logger } from '@attune/core';
import { EncryptionKey } from '@attune/crypto';
import { migrate, openDatabase } from '@attune/db';
import type { FastifyInstance } from 'fastify';
import { buildApi } from './app.js';
import { createApiServices } from './dependencies.js';

/** Opens the database, migrates it, builds the API and listens. `close()` stops it all. */
export async function startApi(
  config: ApiConfig,
  logger: Logger,
): Promise<{ app: FastifyInstance; url: string; close(): Promise<void> }> {
  const db = await openDatabase(config.database);
  const publisher = new ExecutionPublisher(config.broker);
  let app: FastifyInstance | undefined;
  try {
    await migrate(db.sql, { logger });
    const key = config.encryptionKey ? EncryptionKey.fromPassword(config.encryptionKey) : undefined;
    if (key) logger.info({ keyHash: key.keyHash, aesGcm: key.backend }, 'encryption key loaded');
    else logger.warn('no security.encryption_key configured: requests to encrypt or decrypt will be refused');
    const services = createApiServices({
      db,
      encryptionKey: key,
      publish: (message) => publisher.publish(message),
      logger,
    });
    app = await buildApi({ ...services, logger, ...config.api });
    const url = await app.listen({ host: config.api.host, port: config.api.port });
    return {
      app,
      url,
      async close() {
        await app?.close();
        await publisher.close();
        await db.close();
      },
    };
  } catch (error) {
    await app?.close();
    await publisher.close();
    await db.close();
    throw error;
  }
}
