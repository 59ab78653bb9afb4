/**
 * `attune-worker`: start the worker service, request a run, or register a pack. Becomes `attune worker|run|pack` in
 * the project CLI. Usage: docs/deployment.md.
 */

import { ExecutionPublisher } from '@attune/broker';
import { ConfigError, loadWorkerConfig, type WorkerConfig } from '@attune/config';
import { EncryptionKey } from '@attune/crypto';
import { type Database, migrate, openDatabase } from '@attune/db';
import { enqueueExecution, registerPack } from '@attune/registry';
import { type Logger, pino } from 'pino';
import { createExecutor } from './execution/create-executor.js';
import { createLogger } from './logger.js';
import { IsolationUnavailableError } from './sandbox/select-sandbox.js';
import { WorkerIdInUseError, WorkerService } from './worker-service.js';

/** Environment variables that hold the key or credentials; removed from this process once configuration is read. */
const SECRET_BEARING_ENV = [
  'ATTUNE__SECURITY__ENCRYPTION_KEY',
  'ATTUNE__DATABASE__URL',
  'ATTUNE__BROKER__URL',
  'DATABASE_URL',
  'AMQP_URL',
];

const USAGE = `Usage: attune-worker <command> [options]

Commands:
  start                       run the worker service until SIGTERM/SIGINT (drains, then exits 0)
  run <action> [--params JSON] [--wait] [--timeout SECONDS]
                              request an execution and publish it to the workers; with --wait, print its outcome
  register <pack folder>      register (or update) a pack and its actions

Options:
  --config FILE               config.yaml (default: $ATTUNE_CONFIG); ATTUNE__SECTION__KEY env vars override it

Examples:
  ATTUNE__SECURITY__ENCRYPTION_KEY=… DATABASE_URL=postgresql://… attune-worker start
  attune-worker run examples.check --params '{"host":"db1"}' --wait
`;

/** Exit codes: 0 done, 1 the execution did not succeed or the operation failed, 2 usage or configuration error. */
export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const args = parseArgs(argv);
  if (!args) {
    process.stderr.write(USAGE);
    return 2;
  }
  if (args.command === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  let config: WorkerConfig;
  try {
    config = loadWorkerConfig({ env, file: args.config });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`attune-worker: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  // Configuration is read: the process's own copy of the key and the connection URLs is dropped, so that nothing
  // this process starts later can inherit it, whatever environment it is given (actions get an allowlist anyway).
  if (env === process.env) for (const name of SECRET_BEARING_ENV) delete process.env[name];
  // The service logs to stdout (one JSON line each); a one-shot command keeps stdout for its result.
  const logger = createLogger({
    level: env.ATTUNE_LOG_LEVEL ?? 'info',
    ...(args.command === 'start' ? {} : { destination: pino.destination(2) }),
  });
  const db = await openDatabase(config.database);
  try {
    await migrate(db.sql, { logger });
    switch (args.command) {
      case 'start':
        return await startService(config, db, logger);
      case 'register': {
        const report = await registerPack(db.prisma, args.target as string);
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        return 0;
      }
      default:
        return await runOnce(config, db, args);
    }
  } catch (error) {
    const e = error as { message?: string; code?: string };
    if (error instanceof WorkerIdInUseError || typeof e.code === 'string') {
      process.stderr.write(`attune-worker: ${e.message}${e.code ? ` [${e.code}]` : ''}\n`);
      // Isolation the configuration requires but this host cannot give is a set-up problem, like bad configuration.
      return error instanceof IsolationUnavailableError ? 2 : 1;
    }
    throw error;
  } finally {
    // A running service closes the database itself when it stops; everything else (and a failed start) here.
    await db.close();
  }
}

async function startService(config: WorkerConfig, db: Database, logger: Logger): Promise<number> {
  if (!config.encryptionKey)
    logger.warn(
      'no security.encryption_key_file (or encryption_key) configured: encrypted secrets will be skipped with warnings',
    );
  const key = config.encryptionKey ? EncryptionKey.fromPassword(config.encryptionKey) : undefined;
  if (key)
    logger.info(
      { keyHash: key.keyHash, aesGcm: key.backend, source: config.encryptionKeySource },
      'encryption key loaded',
    );
  if (brokerUser(config.broker.url) === 'guest') {
    logger.warn(
      "broker.url uses RabbitMQ's guest account: any action with network access on this host can use it as well " +
        '(read, purge or forge executions); give the workers a RabbitMQ user of their own',
    );
  }
  const worker = await createExecutor({
    config,
    db,
    encryptionKey: key,
    logger,
    parentEnv: process.env,
  });
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
  return new Promise<number>((resolve) => {
    const shutdown = (signal: string) => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      void service
        .stop(signal)
        .then(() => worker.close())
        .then(() => resolve(0));
    };
    const onTerm = () => shutdown('SIGTERM');
    const onInt = () => shutdown('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
  });
}

const TERMINAL = new Set(['succeeded', 'failed', 'timeout', 'cancelled', 'abandoned']);

async function runOnce(config: WorkerConfig, db: Database, args: ParsedArgs): Promise<number> {
  let params: unknown = {};
  if (args.params !== undefined) {
    try {
      params = JSON.parse(args.params);
    } catch {
      process.stderr.write('attune-worker: --params is not valid JSON\n');
      return 2;
    }
  }
  const actionRef = args.target as string;
  const publisher = new ExecutionPublisher(config.broker);
  let id: bigint;
  try {
    id = await enqueueExecution(db.prisma, (message) => publisher.publish(message), actionRef, params);
  } finally {
    await publisher.close();
  }
  if (!args.wait) {
    process.stdout.write(
      `${JSON.stringify({ execution_id: String(id), action_ref: actionRef, status: 'requested' })}\n`,
    );
    return 0;
  }
  const deadline = Date.now() + (args.timeoutSeconds ?? 600) * 1000;
  let shown = '';
  while (Date.now() < deadline) {
    const row = await db.prisma.execution.findUniqueOrThrow({ where: { id } });
    if (process.stderr.isTTY && row.status !== shown) {
      // Progress for a person at a terminal; scripts read the JSON on stdout.
      shown = row.status;
      process.stderr.write(`execution ${id}: ${row.status}${row.workerId ? ` on ${row.workerId}` : ''}\n`);
    }
    if (TERMINAL.has(row.status)) {
      const { id: _, actionId: __, ...rest } = row;
      process.stdout.write(`${JSON.stringify({ execution_id: String(id), ...rest }, null, 2)}\n`);
      return row.status === 'succeeded' ? 0 : 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  process.stderr.write(
    `attune-worker: execution ${id} did not finish within ${args.timeoutSeconds ?? 600} s (still queued or running)\n`,
  );
  return 1;
}

interface ParsedArgs {
  command: 'start' | 'run' | 'register' | 'help';
  target?: string;
  params?: string;
  wait: boolean;
  timeoutSeconds?: number;
  config?: string;
}

function parseArgs(argv: string[]): ParsedArgs | undefined {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help') return { command: 'help', wait: false };
  if (command !== 'start' && command !== 'run' && command !== 'register') return undefined;
  const out: ParsedArgs = { command, wait: false };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string;
    if (arg === '--wait') out.wait = true;
    else if (arg === '--params') out.params = rest[++i];
    else if (arg === '--timeout') out.timeoutSeconds = Number(rest[++i]);
    else if (arg === '--config') out.config = rest[++i];
    else if (!arg.startsWith('-') && out.target === undefined) out.target = arg;
    else return undefined;
  }
  if ((command === 'run' || command === 'register') && !out.target) return undefined;
  if (out.timeoutSeconds !== undefined && !(out.timeoutSeconds > 0)) return undefined;
  return out;
}

function brokerUser(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url).username);
  } catch {
    return undefined;
  }
}
