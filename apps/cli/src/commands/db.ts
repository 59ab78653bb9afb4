import { UsageError } from '../args.js';
import type { CommandContext } from './context.js';

/** `attune db migrate`: applies pending migrations (every command does so first; this one reports it). */
export async function dbCommand(ctx: CommandContext): Promise<number> {
  const [sub] = ctx.args.positionals;
  if (sub !== 'migrate') throw new UsageError(`unknown subcommand '${sub ?? ''}'`);
  const { migrations } = await ctx.backend.services();
  const where = ctx.backend.databaseLocation;
  if (ctx.json)
    ctx.out(
      JSON.stringify({
        database: where,
        applied: migrations.applied,
        already_applied: migrations.alreadyApplied.length,
      }),
    );
  else if (migrations.applied.length === 0)
    ctx.out(`${where}: up to date (${migrations.alreadyApplied.length} migrations applied before)`);
  else {
    ctx.out(`${where}: applied ${migrations.applied.length} migration(s):`);
    for (const name of migrations.applied) ctx.out(`  ${name}`);
  }
  return 0;
}
