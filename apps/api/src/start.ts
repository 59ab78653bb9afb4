import { AuditLog } from '@attune/audit';
import { ExecutionPublisher } from '@attune/broker';
import type { ApiConfig } from '@attune/config';
import { coreDumpsWarnings, disableCoreDumps, type Logger } from '@attune/core';
import { migrate, openDatabase } from '@attune/db';
import { assertKeyringComplete } from '@attune/secrets';
import type { FastifyInstance } from 'fastify';
import { buildApi } from './app.js';
import { createApiServices } from './dependencies.js';

/** Turns core dumps off, opens the database, migrates it, builds the API and listens. `close()` stops it all. */
export async function startApi(
  config: ApiConfig,
  logger: Logger,
): Promise<{ app: FastifyInstance; url: string; close(): Promise<void> }> {
  // This process holds the master key: no crash of it may write its memory to disk.
  for (const warning of coreDumpsWarnings(disableCoreDumps(), 'the API')) logger.warn(warning);
  const db = await openDatabase(config.database);
  const publisher = new ExecutionPublisher(config.broker);
  let app: FastifyInstance | undefined;
  try {
    await migrate(db.sql, { logger });
    const services = createApiServices({
      db,
      security: config,
      maxVersions: config.secrets.maxVersions,
      publish: (message) => publisher.publish(message),
      logger,
      audit: new AuditLog({ valueKey: config.audit.hmacKey }),
    });
    const { keyring } = services.keys;
    if (keyring.active)
      logger.info(
        {
          activeKey: keyring.active.id,
          keyHash: keyring.active.key.keyHash,
          keys: keyring.keys.length,
          aesGcm: keyring.active.key.backend,
        },
        'encryption keys loaded',
      );
    else logger.warn('no security.encryption_key configured: requests to encrypt or decrypt will be refused');
    // A master key gone from the ring while secrets still need it: refuse to start, saying what to do.
    await assertKeyringComplete(db.sql, keyring);
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
