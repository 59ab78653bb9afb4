import { type Actor, type Logger, silentLogger } from '@attune/core';
import type { EncryptionKey } from '@attune/crypto';
import type { Database } from '@attune/db';
import { type ExecutionRequestMessage, ExecutionService, ExecutionStore } from '@attune/executions';
import { PackStore } from '@attune/registry';
import { Keyring, KeyService, KeyStore, KeyVersionStore, ValueCipher } from '@attune/secrets';

/** Who the tests and benchmarks act as. */
export const testActor: Actor = { type: 'cli', id: 'tester@test', name: 'tester@test' };

/** The key service over a test database, wired as the apps wire it, with a keyring of one key (or none). */
export function keyService(
  db: Database,
  encryptionKey: EncryptionKey | undefined,
  logger: Logger = silentLogger(),
): KeyService {
  return new KeyService({
    store: new KeyStore(db.prisma),
    versions: new KeyVersionStore(db.prisma),
    owners: new PackStore(db.prisma),
    cipher: new ValueCipher({ keyring: Keyring.of(encryptionKey) }),
    logger,
  });
}

/** The execution service over a test database; `publish` hands executions to a broker. */
export function executionService(
  db: Database,
  publish?: (message: ExecutionRequestMessage) => Promise<void>,
): ExecutionService {
  return new ExecutionService({
    executions: new ExecutionStore(db.sql),
    actions: new PackStore(db.prisma),
    publish,
    logger: silentLogger(),
  });
}

/** Creates an execution in state `requested` (not published). */
export function requestExecution(db: Database, actionRef: string, parameters: unknown = {}): Promise<bigint> {
  return executionService(db).create(testActor, actionRef, parameters);
}
