import { AuditLog } from '@attune/audit';
import type { WorkerConfig } from '@attune/config';
import { coreDumpsWarnings, disableCoreDumps, formatDuration, type Logger, workerActor } from '@attune/core';
import type { Database } from '@attune/db';
import { ExecutionStore } from '@attune/executions';
import { type Keyring, SecretResolver } from '@attune/secrets';
import { HelperSpawner } from '../helper-spawner.js';
import type { ActionSandbox } from '../sandbox/sandbox.js';
import { createSandbox } from '../sandbox/select-sandbox.js';
import { DirectSpawner, type ProcessSpawner } from '../spawner.js';
import { ActionExecutor } from './executor.js';
import { AuditedExpiry } from './expiry-audit.js';

/** An executor as the worker runs it, and what to close when done. */
export interface WorkerExecutor {
  readonly executor: ActionExecutor;
  readonly spawner: ProcessSpawner;
  readonly sandbox: ActionSandbox;
  /** Stops the spawner (killing what still runs) and removes this worker's scratch folders. */
  close(): Promise<void>;
}

/**
 * Wires an executor as the worker runs it: core dumps off for this process and its actions (a warning where they
 * cannot be), the isolation chosen for this host (logged, with a loud warning when there is none), the configured
 * spawner, and a resolver with the configured key.
 * @throws {IsolationUnavailableError} when the configuration requires a mode this host cannot give.
 */
export async function createExecutor(options: {
  config: WorkerConfig;
  db: Database;
  /** The master keys (an empty ring: encrypted secrets are skipped with warnings). */
  keyring: Keyring;
  logger: Logger;
  parentEnv: Readonly<Record<string, string | undefined>>;
}): Promise<WorkerExecutor> {
  const { config, db, logger } = options;
  // Before any action starts: every action inherits the limit (the helper sets it again for its children).
  for (const warning of coreDumpsWarnings(disableCoreDumps(), 'this worker or of an action'))
    logger.warn(warning);
  const { sandbox, notes } = await createSandbox({
    config: config.isolation,
    workerId: config.workerId,
    path: options.parentEnv.PATH,
  });
  logIsolation(logger, sandbox, notes);
  logger.info(
    { secretsPolicy: config.secretsPolicy, expiryGraceMs: config.expiryGraceMs },
    config.expiryGraceMs > 0
      ? `expired secrets are still delivered, with a warning, for ${formatDuration(config.expiryGraceMs)} after their expiry (secrets.expiry_grace)`
      : 'expired secrets are not delivered (secrets.expiry_grace 0s)',
  );
  const spawner =
    config.spawner === 'helper'
      ? new HelperSpawner({
          path: options.parentEnv.PATH,
          ...helperIdentity(sandbox),
          onHelperExit: (exit) =>
            logger.error(
              { reason: exit.reason, executionsLost: exit.lost, restarts: exit.restarts },
              'spawn helper died; its executions failed, and a new helper starts with the next one',
            ),
        })
      : new DirectSpawner();
  // What an earlier worker's actions left running as the actions' identity.
  if (sandbox.leftoverUid !== undefined) {
    const killed = await spawner.sweep(sandbox.leftoverUid);
    if (killed > 0) logger.warn({ killed }, 'processes left by earlier actions were killed at start');
  }
  const executor = new ActionExecutor({
    executions: new ExecutionStore(db.sql),
    resolver: new SecretResolver({
      sql: db.sql,
      keyring: options.keyring,
      expiryGraceMs: config.expiryGraceMs,
      logger,
    }),
    expiry: new AuditedExpiry({
      audit: new AuditLog(),
      sql: db.sql,
      actor: workerActor(config.workerId),
      logger,
    }),
    spawner,
    sandbox,
    logger,
    config,
    parentEnv: options.parentEnv,
  });
  return {
    executor,
    spawner,
    sandbox,
    async close() {
      await spawner.close();
      await sandbox.scratch.close().catch(() => undefined);
    },
  };
}

/**
 * In the sandbox on a root worker, the spawn helper runs as the actions' identity, with the python3 that identity
 * found: no root process then parses requests or starts actions, and no start needs an identity switch (a fork
 * instead of a vfork). Sandboxed actions cannot see it (it is outside their PID namespace). In `user` mode it stays
 * the worker's: there, actions share the helper's would-be uid and could read its memory, which holds the
 * requests — the secrets — of other executions.
 */
export function helperIdentity(sandbox: ActionSandbox): {
  identity?: { uid: number; gid: number };
  python?: string;
} {
  const self = process.getuid?.();
  if (
    sandbox.mode !== 'sandbox' ||
    sandbox.identity.uid === self ||
    !sandbox.interpreters.python.startsWith('/')
  )
    return {};
  return {
    identity: { uid: sandbox.identity.uid, gid: sandbox.identity.gid },
    python: sandbox.interpreters.python,
  };
}

/** States the isolation mode at start; `none` is a loud warning every time. */
export function logIsolation(logger: Logger, sandbox: ActionSandbox, notes: readonly string[]): void {
  for (const note of notes) logger.warn({ isolation: sandbox.mode }, note);
  const fields = {
    isolation: sandbox.mode,
    runAs: { uid: sandbox.identity.uid, gid: sandbox.identity.gid, name: sandbox.identity.name },
    scratchDir: sandbox.scratch.path,
    interpreters: sandbox.interpreters,
  };
  if (sandbox.mode === 'none') {
    logger.warn(
      fields,
      'ACTION ISOLATION IS OFF (worker.isolation none): every action runs as this worker and can read its environment and memory ' +
        '(the encryption key, DATABASE_URL, AMQP_URL) and the secrets of every other action. For development only: ' +
        'install bubblewrap (scripts/install-sandbox.sh) or start the worker as root.',
    );
  } else {
    logger.info(fields, `action isolation: ${sandbox.description}`);
  }
}
