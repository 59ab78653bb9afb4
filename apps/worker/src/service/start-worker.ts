import type { WorkerConfig } from '@attune/config';
import type { Logger } from '@attune/core';
import { migrate, openDatabase } from '@attune/db';
import { assertKeyringComplete, Keyring } from '@attune/secrets';
import { createExecutor } from '../execution/create-executor.js';
import { WorkerService } from './worker-service.js';

/** A started worker; `stop` drains it and closes everything. */
export interface RunningWorker {
  readonly service: WorkerService;
  stop(reason: string): Promise<void>;
}

/**
 * Starts the worker service: opens and migrates the database, loads the encryption key, chooses the isolation, and
 * starts consuming. What fails on the way is closed again before the error is thrown.
 * @throws {IsolationUnavailableError} {@link WorkerIdInUseError}, or the database's errors.
 */
export async function startWorker(
  config: WorkerConfig,
  logger: Logger,
  parentEnv: Readonly<Record<string, string | undefined>>,
): Promise<RunningWorker> {
  const db = await openDatabase(config.database);
  try {
    await migrate(db.sql, { logger });
    const keyring = Keyring.fromConfig(config.keyring, config.activeKeyId);
    if (!keyring.active)
      logger.warn(
        'no security.encryption_key_file (or encryption_key) configured: encrypted secrets will be skipped with warnings',
      );
    else
      logger.info(
        {
          activeKey: keyring.active.id,
          keyHash: keyring.active.key.keyHash,
          keys: keyring.keys.length,
          aesGcm: keyring.active.key.backend,
          source: config.encryptionKeySource,
        },
        'encryption keys loaded',
      );
    // A master key gone from the ring while secrets still need it: refuse to start, saying what to do.
    await assertKeyringComplete(db.sql, keyring);
    if (brokerUser(config.broker.url) === 'guest') {
      logger.warn(
        "broker.url uses RabbitMQ's guest account: any action with network access on this host can use it as well " +
          '(read, purge or forge executions); give the workers a RabbitMQ user of their own',
      );
    }
    const worker = await createExecutor({ config, db, keyring, logger, parentEnv });
    const service = new WorkerService({
      config,
      db,
      executor: worker.executor,
      spawner: worker.spawner,
      logger,
    });
    try {
      await service.start();
    } catch (error) {
      await worker.close();
      throw error;
    }
    if (service.httpPort !== undefined)
      logger.info({ port: service.httpPort }, 'health endpoints on /healthz and /readyz');
    return {
      service,
      async stop(reason) {
        await service.stop(reason);
        await worker.close();
        await db.close();
      },
    };
  } catch (error) {
    await db.close();
    throw error;
  }
}

function brokerUser(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url).username);
  } catch {
    return undefined;
  }
}
