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
import { flag, type Parsed, UsageError } from './args.js';
import type { Backend } from './backend/services.js';
import type { CommandContext } from './commands/context.js';
import { completionScript, SHELLS, type Shell } from './completion.js';
import { type CliIo, line } from './io/cli-io.js';
import { printable } from './io/printable.js';
import { parseCommandLine } from './parser.js';

export type { CliIo } from './io/cli-io.js';

type Handler = (ctx: CommandContext) => Promise<number>;

/**
 * The commands that run with a configuration and a backend (the database, or the API in remote mode). Each is
 * loaded when it runs, so that `--help`, completion and remote mode do not load the database client or the services.
 */
const HANDLERS: Readonly<Record<string, () => Promise<Handler>>> = {
  key: async () => (await import('./commands/key.js')).keyCommand,
  audit: async () => (await import('./commands/audit.js')).auditCommand,
  keyring: async () => (await import('./commands/keyring.js')).keyringCommand,
  token: async () => (await import('./commands/token.js')).tokenCommand,
  pack: async () => (await import('./commands/pack.js')).packCommand,
  db: async () => (await import('./commands/db.js')).dbCommand,
  run: async () => (await import('./commands/run.js')).runCommand,
  execution: async () => (await import('./commands/execution.js')).executionCommand,
  api: async () => (await import('./commands/services.js')).apiCommand,
  login: async () => (await import('./commands/login.js')).loginCommand,
  logout: async () => (await import('./commands/login.js')).logoutCommand,
};

/** Runs the CLI; returns the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const out = (text: string) => line(io.stdout, text);
  const err = (text: string) => line(io.stderr, text);
  const parsed = await parseCommandLine(argv, io);
  if (typeof parsed === 'number') return parsed;
  const { command, path, args } = parsed;
  // Commands that need neither a configuration nor a backend here.
  switch (command) {
    case 'crypto':
      return (await import('@attune/crypto')).cryptoCli(cryptoArgv(args), {
        stdin: io.stdin as AsyncIterable<Buffer>,
        stdout: io.stdout,
        stderr: io.stderr,
        env: io.env,
      });
    case 'worker': {
      const file = flag(args, 'config');
      const { workerCli } = await import('@attune/worker');
      return workerCli(['start', ...(file === undefined ? [] : ['--config', file])], io.env);
    }
    case 'demo':
      return (await import('@attune/worker')).runDemo();
    case 'completion': {
      const shell = args.positionals[0] as Shell;
      if (!SHELLS.includes(shell)) {
        err(`attune: completion: no completion for '${shell}' (${SHELLS.join(' or ')})`);
        return EXIT_CODE.invalid;
      }
      io.stdout.write(completionScript(shell));
      return 0;
    }
  }
  const load = HANDLERS[command];
  if (load === undefined) throw new Error(`no handler for the command ${command}`);
  const run = await load();
  const json = args.flags.has('json');
  let config: AttuneConfig;
  try {
    config = loadConfig({ env: io.env, file: flag(args, 'config') });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    if (json) out(JSON.stringify({ error: { code: error.code, message: error.message } }));
    else err(`attune: ${printable(error.message)}`);
    return exitCodeOf(error);
  }
  // A file found by looking is named, every time: no one should be configured by a file they did not know about.
  if (config.configFile?.via === 'discovered')
    err(
      `attune: using the configuration in ${printable(config.configFile.path)} (found in the working directory)`,
    );
  const cli = cliConfigOf(config);
  const logger = createLogger({
    name: 'attune',
    level: cli.logLevel ?? 'warn',
    destination: stderrDestination(),
  });
  const backend: Backend = cli.remote
    ? new (await import('./backend/remote.js')).RemoteBackend(cli.remote, command)
    : new (await import('./backend/local.js')).LocalBackend(cli, logger, err);
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
      err(
        `attune: ${path.join(' ')}: ${printable(error.message)}\n(attune ${path.join(' ')} --help for usage)`,
      );
      return exitCodeOf(error);
    }
    if (!isAttuneError(error)) throw error;
    if (json) out(JSON.stringify({ error: { code: error.code, message: error.message } }));
    else err(`attune: ${printable(error.message)} [${printable(error.code)}]`);
    return exitCodeOf(error);
  } finally {
    await backend.close();
  }
}

/** `attune crypto SUB [--context C] [--raw]` as attune-crypto's own command line. */
function cryptoArgv(args: Parsed): string[] {
  const argv = [...args.positionals];
  for (const [name, value] of args.flags) {
    if (name === 'json' || name === 'config') continue;
    argv.push(`--${name}`, ...(value === true ? [] : [value]));
  }
  return argv;
}
