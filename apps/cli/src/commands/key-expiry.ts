import { DURATION_HINT, parseDuration, parseIsoTime } from '@attune/core';
import type { KeyRecord } from '@attune/secrets';
import { toKeyResource } from '@attune/secrets/resources';
import { type Parsed, UsageError } from '../args.js';
import { iso } from '../io/table.js';
import type { CommandContext } from './context.js';

/** A duration option (`--expires-in 30d`, `--expiring 7d`), in milliseconds. @throws {UsageError} */
export function durationFlag(args: Parsed, name: string): number | undefined {
  const value = args.flags.get(name);
  if (value === undefined) return undefined;
  const ms = typeof value === 'string' ? parseDuration(value) : null;
  if (ms === null) throw new UsageError(`--${name} is ${DURATION_HINT}, up to 100 years`);
  return ms;
}

/** A time option (`--expires-at 2027-01-31T00:00:00Z`): ISO 8601 with a zone, or a date (midnight UTC). */
function timeFlag(args: Parsed, name: string): Date | undefined {
  const value = args.flags.get(name);
  if (value === undefined) return undefined;
  const date = parseIsoTime(String(value), { dateOnly: true });
  if (date === null)
    throw new UsageError(
      `--${name} is a date that exists (2027-01-31, midnight UTC) or a time with a zone (2027-01-31T09:00:00Z)`,
    );
  return date;
}

/**
 * The expiry two options give — a duration from now (`inFlag`) or a time (`atFlag`), at most one — or undefined when
 * neither is given. The key service checks it is in the future.
 */
export function expiryFlags(args: Parsed, inFlag: string, atFlag: string): Date | undefined {
  const within = durationFlag(args, inFlag);
  const at = timeFlag(args, atFlag);
  if (within !== undefined && at !== undefined)
    throw new UsageError(`give --${inFlag} or --${atFlag}, not both`);
  return within === undefined ? at : new Date(Date.now() + within);
}

/** ` expires 2027-01-31T00:00:00Z` / ` expired …` for a key's one-line description; empty when it never expires. */
export function expiryText(k: Pick<KeyRecord, 'expiresAt'>): string {
  if (!k.expiresAt) return '';
  return `${k.expiresAt.getTime() <= Date.now() ? 'expired' : 'expires'} ${iso(k.expiresAt)}`;
}

/**
 * `attune key expire REF (--in 30d | --at TIME | --never)`: changes when the current value expires, in place (no
 * new version; recorded in the audit log).
 */
export async function keyExpireCommand(ctx: CommandContext, pos: readonly string[]): Promise<number> {
  if (pos.length !== 1)
    throw new UsageError('expected: key expire REF (--in DURATION | --at TIME | --never)');
  const ref = pos[0] as string;
  const never = ctx.args.flags.has('never');
  const when = expiryFlags(ctx.args, 'in', 'at');
  if (never === (when !== undefined))
    throw new UsageError('give exactly one of --in DURATION, --at TIME or --never');
  const { keys } = await ctx.backend.services();
  const record = await keys.update(ctx.actor, ref, { expiresAt: when ?? null });
  if (ctx.json) ctx.out(JSON.stringify(toKeyResource(record)));
  else
    ctx.out(
      record.expiresAt
        ? `${record.ref} version ${record.version} ${expiryText(record)}`
        : `${record.ref} version ${record.version} never expires`,
    );
  return 0;
}
