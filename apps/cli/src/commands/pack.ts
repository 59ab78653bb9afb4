import { UsageError } from '../args.js';
import { snakeJson } from '../io/json.js';
import type { CommandContext } from './context.js';

/** `attune pack register FOLDER`: registers or updates a pack, and reports what changed. */
export async function packCommand(ctx: CommandContext): Promise<number> {
  const [sub, folder, ...extra] = ctx.args.positionals;
  if (sub !== 'register' || folder === undefined || extra.length > 0)
    throw new UsageError('expected: pack register FOLDER');
  const { packs } = await ctx.backend.services();
  ctx.progress(`registering ${folder}…`);
  const report = await packs.register(ctx.actor, folder);
  if (ctx.json) {
    ctx.out(snakeJson(report));
    return 0;
  }
  const a = report.actions;
  ctx.out(`pack ${report.pack.ref}: ${report.pack.change}`);
  for (const [label, list] of [
    ['created', a.created],
    ['updated', a.updated],
    ['unchanged', a.unchanged],
    ['removed', a.removed],
  ] as const) {
    if (list.length) ctx.out(`  ${label.padEnd(9)} ${list.join(', ')}`);
  }
  return 0;
}
