/**
 * `attune-worker`: starts the worker service (the project CLI's `attune worker`). Requesting runs and registering
 * packs are `attune run` and `attune pack register`: one implementation each. Usage: docs/deployment.md.
 */
import {
  type AttuneConfig,
  ConfigError,
  dropCredentialEnvironment,
  loadConfig,
  processEnvironment,
  type WorkerConfig,
  workerConfigOf,
} from '@attune/config';
import { createLogger, EXIT_CODE, errorSummary, exitCodeOf, isAttuneError } from '@attune/core';
import { startWorker } from './service/start-worker.js';

const USAGE = `Usage: attune-worker start [--config FILE]

Runs the worker service until SIGTERM/SIGINT (drains, then exits 0).

Options:
  --config FILE               the configuration file (default: $ATTUNE_CONFIG, else ./attune.yaml when present);
                              ATTUNE__SECTION__KEY env vars override it

Example:
  ATTUNE__SECURITY__ENCRYPTION_KEY_FILE=/etc/attune/key DATABASE_URL=postgresql://… attune-worker start
`;

/** Commands of the first version that moved to the project CLI. */
const MOVED: Record<string, string> = { run: 'attune run', register: 'attune pack register' };

/** Exit codes: 0 stopped on a signal, 2 usage or configuration error, else by the error's category (docs/cli.md). */
export async function main(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const moved = command === undefined ? undefined : MOVED[command];
  if (moved) {
    process.stderr.write(`attune-worker: '${command}' is \`${moved}\` now (same options)\n`);
    return EXIT_CODE.invalid;
  }
  if (command !== 'start') {
    process.stderr.write(USAGE);
    return EXIT_CODE.invalid;
  }
  const args = rest;
  let file: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--config' && args[i + 1] !== undefined) file = args[++i];
    else {
      process.stderr.write(USAGE);
      return EXIT_CODE.invalid;
    }
  }
  let config: WorkerConfig;
  let configFile: AttuneConfig['configFile'];
  try {
    const loaded = loadConfig({ env, file });
    config = workerConfigOf(loaded);
    configFile = loaded.configFile;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`attune-worker: ${error.message}\n`);
    return exitCodeOf(error);
  }
  // Configuration is read: the process's own copy of the key and the connection URLs is dropped, so that nothing
  // this process starts later can inherit it, whatever environment it is given (actions get an allowlist anyway).
  if (env === processEnvironment()) dropCredentialEnvironment();
  const logger = createLogger({ name: 'attune-worker', level: config.logLevel ?? 'info' });
  // Which file configured this worker (an operator must never have to guess), or none.
  logger.info({ configFile: configFile ?? null }, 'configuration read');
  let worker: Awaited<ReturnType<typeof startWorker>>;
  try {
    worker = await startWorker(config, logger, env);
  } catch (error) {
    if (!isAttuneError(error)) throw error;
    process.stderr.write(`attune-worker: ${error.message} [${error.code}]\n`);
    return exitCodeOf(error);
  }
  return new Promise<number>((resolve) => {
    const shutdown = (signal: string) => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      void worker.stop(signal).then(
        () => resolve(0),
        (error: unknown) => {
          process.stderr.write(`attune-worker: stopping failed (${errorSummary(error).name})\n`);
          resolve(1);
        },
      );
    };
    const onTerm = () => shutdown('SIGTERM');
    const onInt = () => shutdown('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
  });
}
