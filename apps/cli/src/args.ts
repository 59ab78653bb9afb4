import { AttuneError } from '@attune/core';

/** The command line was wrong: the message says how; the command's help follows it. */
export class UsageError extends AttuneError {
  constructor(message: string) {
    super({ code: 'ATTUNE_CLI_USAGE', category: 'invalid', message });
  }
}

/** A command's arguments: positionals and `--flag [value]`s. */
export interface Parsed {
  readonly positionals: string[];
  readonly flags: Map<string, string | true>;
}

/** Options that take a value (every other `--option` is a switch). */
const VALUED = [
  'ref',
  'pack',
  'action',
  'owner-type',
  'page',
  'per-page',
  'params',
  'timeout',
  'scopes',
  'config',
  'cas',
  'to',
  'version',
  'versions',
  'max-versions',
  'actor',
  'from',
  'before',
  'limit',
  'days',
];

/** Options every command takes. */
const GLOBAL = ['json', 'config', 'help'];

/**
 * Splits a command's arguments, refusing any option the command does not take (a typo such as `--wiat` must not
 * quietly change what runs). @throws {UsageError}
 */
export function parseArgs(argv: readonly string[], allowed: readonly string[]): Parsed {
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '-h') flags.set('help', true);
    else if (arg.startsWith('--')) {
      const [name, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
      if (!allowed.includes(name) && !GLOBAL.includes(name)) throw new UsageError(`unknown option --${name}`);
      if (VALUED.includes(name)) {
        const value = inline ?? argv[++i];
        if (value === undefined) throw new UsageError(`--${name} needs a value`);
        flags.set(name, value);
      } else if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      else flags.set(name, true);
    } else positionals.push(arg);
  }
  return { positionals, flags };
}

/** A flag's value, when it has one. */
export function flag(args: Parsed, name: string): string | undefined {
  const value = args.flags.get(name);
  return typeof value === 'string' ? value : undefined;
}

/** A flag's value as a whole number ≥ 1, when given. @throws {UsageError} */
export function positiveFlag(args: Parsed, name: string): number | undefined {
  const value = flag(args, name);
  if (value === undefined) return undefined;
  if (!/^[1-9][0-9]{0,9}$/.test(value)) throw new UsageError(`--${name} is a whole number ≥ 1`);
  return Number(value);
}
