import { UsageError } from '../args.js';
import type { CommandContext } from './context.js';

/** `attune db migrate`: applies pending migrations (every command does so first; this one reports it). */
export async function dbCommand(ctx: CommandContext): Promise<number> {
  const [sub] = ctx.args.positionals;
  if (sub !== 'migrate') throw new UsageError(`unknown subcommand '${sub ?? ''}'`);
  const { migrations } = await ctx.backend.services();
  if (ctx.json) ctx.out(JSON.stringify(migrations));
  else
    ctx.out(
      `database is up to date (${migrations.alreadyApplied.length + migrations.applied.length} migrations)`,
    );
  return 0;
}
