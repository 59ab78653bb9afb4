import { TokenStore } from '@attune/auth';
import { ExecutionPublisher } from '@attune/broker';
import type { WorkerConfig } from '@attune/config';
import { EncryptionKey } from '@attune/crypto';
import { migrate, openDatabase } from '@attune/db';
import { KeyRepository } from '@attune/secrets';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApi } from './server.js';

/** Opens the database, migrates it, builds the API and listens. `close()` stops it all. */
export async function startApi(
  config: WorkerConfig,
  logger: Logger,
): Promise<{ app: FastifyInstance; url: string; close(): Promise<void> }> {
  const db = await openDatabase(config.database);
  await migrate(db.sql, { logger });
  const key = config.encryptionKey ? EncryptionKey.fromPassword(config.encryptionKey) : undefined;
  if (key) logger.info({ keyHash: key.keyHash, aesGcm: key.backend }, 'encryption key loaded');
  else logger.warn('no security.encryption_key configured: requests to encrypt or decrypt will be refused');
  const publisher = new ExecutionPublisher(config.broker);
  const app = await buildApi({
    db,
    keys: new KeyRepository({ prisma: db.prisma, encryptionKey: key, logger }),
    tokens: new TokenStore(db.prisma),
    publish: (message) => publisher.publish(message),
    logger,
    maxBodyBytes: config.api.maxBodyBytes,
    rateLimitPerMinute: config.api.rateLimitPerMinute,
    authFailureLimit: config.api.authFailureLimit,
    trustedProxies: config.api.trustedProxies,
  });
  const url = await app.listen({ host: config.api.host, port: config.api.port });
  return {
    app,
    url,
    async close() {
      await app.close();
      await publisher.close();
      await db.close();
    },
  };
}
