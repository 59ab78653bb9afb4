/**
 * `attune`: the project CLI. Values are read from stdin or a hidden prompt, never from argv. `--json` everywhere
 * for scripts. Each command is a module of `commands/`; errors map to exit codes by their category, in one table
 * (`@attune/core`). Reference: docs/cli.md.
 */
import { type AttuneConfig, apiConfigOf, ConfigError, cliConfigOf, loadConfig } from '@attune/config';
import {
  cliActor,
  createLogger,
  EXIT_CODE,
  exitCodeOf,
  isAttuneError,
  stderrDestination,
} from '@attune/core';
import { cryptoCli } from '@attune/crypto';
import { runDemo, workerCli } from '@attune/worker';
import { flag, type Parsed, parseArgs, UsageError } from './args.js';
import { LocalBackend } from './backend/local.js';
import { RemoteBackend } from './backend/remote.js';
import { auditCommand } from './commands/audit.js';
import type { CommandContext } from './commands/context.js';
import { dbCommand } from './commands/db.js';
import { keyCommand } from './commands/key.js';
import { keyringCommand } from './commands/keyring.js';
import { loginCommand, logoutCommand } from './commands/login.js';
import { packCommand } from './commands/pack.js';
import { runCommand } from './commands/run.js';
import { apiCommand } from './commands/services.js';
import { tokenCommand } from './commands/token.js';
import { HELP } from './help.js';
import { type CliIo, line } from './io/cli-io.js';

export type { CliIo } from './io/cli-io.js';

/** The commands that run in this process with a configuration and a database, and the options each takes. */
const COMMANDS: Record<
  string,
  { run: (ctx: CommandContext) => Promise<number>; options: readonly string[] }
> = {
  key: {
    run: keyCommand,
    options: [
      'system',
      'pack',
      'action',
      'ref',
      'plain',
      'value-json',
      'decrypt',
      'owner-type',
      'page',
      'per-page',
      'cas',
      'max-versions',
      'version',
      'versions',
      'to',
      'purge',
      'deleted',
      'from',
      'limit',
      'before',
      'days',
    ],
  },
  audit: { run: auditCommand, options: ['ref', 'actor', 'action', 'from', 'to', 'before', 'limit', 'yes'] },
  keyring: { run: keyringCommand, options: ['system', 'pack', 'action', 'yes'] },
  token: { run: tokenCommand, options: ['scopes'] },
  pack: { run: packCommand, options: [] },
  db: { run: dbCommand, options: [] },
  run: { run: runCommand, options: ['params', 'wait', 'timeout'] },
  api: { run: apiCommand, options: [] },
  login: { run: loginCommand, options: [] },
  logout: { run: logoutCommand, options: [] },
};

/** Runs the CLI; returns the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  const out = (text: string) => line(io.stdout, text);
  const err = (text: string) => line(io.stderr, text);
  // Commands with a CLI of their own.
  if (command === 'crypto')
    return cryptoCli(rest, {
      stdin: io.stdin as AsyncIterable<Buffer>,
      stdout: io.stdout,
      stderr: io.stderr,
      env: io.env,
    });
  if (command === 'worker') return workerCli(['start', ...rest], io.env);
  if (command === 'demo') return runDemo();
  const asksHelp = command === undefined || ['--help', '-h', 'help'].includes(command);
  if (asksHelp || !Object.hasOwn(COMMANDS, command)) {
    if (asksHelp) out(HELP.main as string);
    else err(`attune: unknown command '${command}'\n\n${HELP.main}`);
    return asksHelp ? 0 : EXIT_CODE.invalid;
  }
  const { run, options } = COMMANDS[command] as (typeof COMMANDS)[string];
  let args: Parsed;
  try {
    args = parseArgs(rest, options);
  } catch (error) {
    err(`attune ${command}: ${(error as Error).message}\n\n${HELP[command]}`);
    return EXIT_CODE.invalid;
  }
  if (args.flags.has('help')) {
    out(HELP[command] as string);
    return 0;
  }
  const json = args.flags.has('json');
  let config: AttuneConfig;
  try {
    config = loadConfig({ env: io.env, file: flag(args, 'config') });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    err(`attune: ${error.message}`);
    return exitCodeOf(error);
  }
  const cli = cliConfigOf(config);
  const logger = createLogger({
    name: 'attune',
    level: cli.logLevel ?? 'warn',
    destination: stderrDestination(),
  });
  const backend = cli.remote ? new RemoteBackend(cli.remote, command) : new LocalBackend(cli, logger, err);
  const ctx: CommandContext = {
    command,
    args,
    io,
    json,
    apiConfig: () => apiConfigOf(config),
    logger,
    actor: cliActor(),
    backend,
    out,
    progress: (text) => {
      if (io.stderr.isTTY && !json) err(text);
    },
  };
  try {
    return await run(ctx);
  } catch (error) {
    if (error instanceof UsageError) {
      err(`attune ${command}: ${error.message}\n\n${HELP[command] ?? ''}`);
      return exitCodeOf(error);
    }
    if (!isAttuneError(error)) throw error;
    if (json) out(JSON.stringify({ error: { code: error.code, message: error.message } }));
    else err(`attune ${command}: ${error.message} [${error.code}]`);
    return exitCodeOf(error);
  } finally {
    await backend.close();
  }
}
