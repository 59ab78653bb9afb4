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
