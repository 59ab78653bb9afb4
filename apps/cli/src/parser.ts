import { EXIT_CODE } from '@attune/core';
import { Command, CommanderError } from 'commander';
import type { Parsed } from './args.js';
import { type CliIo, line } from './io/cli-io.js';
import { COMMANDS, type CommandSpec, GLOBAL_OPTIONS, MAIN_HELP } from './spec.js';

/** A command line that named a command to run: which one, and its arguments. */
export interface Invocation {
  /** The top-level command (`key`, `run`…). */
  readonly command: string;
  /** The command and subcommand names, e.g. `['key', 'set']`. */
  readonly path: readonly string[];
  /** Positionals: the subcommand (if any), then the arguments; flags by their long name. */
  readonly args: Parsed;
}

/**
 * Builds the commander program from the one definition ({@link COMMANDS}). `onSelect` receives what the command
 * line asked for; help and usage errors are written to `io` by commander itself.
 */
export function buildProgram(io: CliIo, onSelect: (invocation: Invocation) => void): Command {
  const program = new Command('attune')
    .usage('<command> [options]')
    .description(
      'Secrets for Attune actions: stored encrypted, resolved per execution, never shown in clear.',
    )
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // `--valu=SECRET`: the option is named, never what follows its `=` (it could be a value typed in the wrong place).
      outputError: (text, write) =>
        write(`attune: ${text.replace(/^error: /, '').replace(/'(--?[^'=\s]+)=[^']*'/g, "'$1=…'")}`),
    })
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', `\n${MAIN_HELP}`);
  for (const option of GLOBAL_OPTIONS) program.option(option.flags, option.description);
  for (const spec of COMMANDS) define(program, spec, [], onSelect);
  return program;
}

function define(
  parent: Command,
  spec: CommandSpec,
  path: readonly string[],
  onSelect: (invocation: Invocation) => void,
): void {
  const command = parent.command(spec.name).description(spec.summary);
  const here = [...path, spec.name];
  for (const arg of spec.args ?? []) command.argument(arg);
  for (const option of spec.options ?? []) command.option(option.flags, option.description);
  if (spec.excessArgs) command.allowExcessArguments(true);
  if (spec.help) command.addHelpText('after', `\n${spec.help}`);
  if (spec.subcommands) {
    for (const sub of spec.subcommands) define(command, sub, here, onSelect);
    return;
  }
  command.action((...received: unknown[]) => {
    const self = received.at(-1) as Command;
    const flags = new Map<string, string | true>();
    for (const owner of [self, ...ancestors(self)]) {
      const values = owner.opts();
      for (const option of owner.options) {
        const value = values[option.attributeName()];
        const name = option.long?.slice(2);
        if (name === undefined || value === undefined || value === false || flags.has(name)) continue;
        flags.set(name, value === true ? true : String(value));
      }
    }
    onSelect({
      command: here[0] as string,
      path: here,
      args: { positionals: [...here.slice(1), ...(self.args as string[])], flags },
    });
  });
}

function ancestors(command: Command): Command[] {
  const found: Command[] = [];
  for (let c = command.parent; c; c = c.parent) found.push(c);
  return found;
}

/**
 * Parses the command line. @returns what to run, or the exit code when commander answered it (help: 0; a usage
 * error, already explained on stderr: 2).
 */
export async function parseCommandLine(argv: readonly string[], io: CliIo): Promise<Invocation | number> {
  let selected: Invocation | undefined;
  const program = buildProgram(io, (invocation) => {
    selected = invocation;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
    // `attune key` alone: the help, on stderr, as a usage error.
    return error.code === 'commander.help' && error.exitCode === 0 ? 0 : EXIT_CODE.invalid;
  }
  if (selected === undefined) {
    line(io.stderr, 'attune: no command given (attune --help lists them)');
    return EXIT_CODE.invalid;
  }
  // `--pack --system`: commander takes the next word as the value; an option there is a mistake, not a value.
  for (const [name, value] of selected.args.flags) {
    if (typeof value === 'string' && value.startsWith('--')) {
      line(
        io.stderr,
        `attune: ${selected.path.join(' ')}: option '--${name}' needs a value, and '${value.replace(/=.*/s, '=…')}' is an option\n(add --help for usage)`,
      );
      return EXIT_CODE.invalid;
    }
  }
  return selected;
}
