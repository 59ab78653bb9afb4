/** Test support: an executor as the worker wires one, over a test database, with the given policy. */
import { AuditLog } from '@attune/audit';
import { createLogger, workerActor } from '@attune/core';
import type { EncryptionKey } from '@attune/crypto';
import type { TestDatabase } from '@attune/db/testing';
import { ExecutionStore } from '@attune/executions';
import { SecretResolver } from '@attune/secrets';
import { ActionExecutor } from '../../src/execution/executor.js';
import { AuditedExpiry } from '../../src/execution/expiry-audit.js';
import type { ActionSandbox } from '../../src/sandbox/sandbox.js';
import type { ProcessSpawner } from '../../src/spawner.js';
import { requestExecution } from './services.js';

const logger = createLogger({ name: 'attune-worker', level: 'silent' });

/**
 * Requests an execution of `actionRef` and runs it to its end with a fresh executor (expiry recorded in the audit
 * log, as the worker does).
 */
export async function runOnce(
  deps: { db: TestDatabase; sandbox: ActionSandbox; spawner: ProcessSpawner; key: EncryptionKey },
  actionRef: string,
  options: { params?: object; secretsPolicy?: 'all' | 'declared'; expiryGraceMs?: number } = {},
) {
  const executor = new ActionExecutor({
    executions: new ExecutionStore(deps.db.sql),
    resolver: new SecretResolver({
      sql: deps.db.sql,
      encryptionKey: deps.key,
      expiryGraceMs: options.expiryGraceMs ?? 0,
      logger,
    }),
    expiry: new AuditedExpiry({
      audit: new AuditLog(),
      sql: deps.db.sql,
      actor: workerActor('test-worker'),
      logger,
    }),
    spawner: deps.spawner,
    sandbox: deps.sandbox,
    logger,
    config: {
      workerId: 'test-worker',
      outputCapBytes: 1024 * 1024,
      killGraceMs: 300,
      maskMinLength: 6,
      passthroughEnv: [],
      secretsPolicy: options.secretsPolicy ?? 'all',
    },
    parentEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  const outcome = await executor.execute(await requestExecution(deps.db, actionRef, options.params ?? {}));
  if (!outcome) throw new Error(`execution of ${actionRef} was not claimed`);
  return outcome;
}
