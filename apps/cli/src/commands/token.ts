import { toTokenResource } from '@attune/auth/resources';
import { flag, UsageError } from '../args.js';
import { iso, table } from '../io/table.js';
import type { CommandContext } from './context.js';

/** `attune token create|list|revoke`: API tokens; a token is shown once, at creation. */
export async function tokenCommand(ctx: CommandContext): Promise<number> {
  const [sub, ...pos] = ctx.args.positionals;
  const { tokens } = await ctx.backend.services();
  const out = (t: string) => ctx.out(t);
  switch (sub) {
    case 'create': {
      const scopes = flag(ctx.args, 'scopes');
      if (pos.length !== 1 || scopes === undefined)
        throw new UsageError('expected: token create NAME --scopes SCOPE[,SCOPE…]');
      const { token, record } = await tokens.create(
        ctx.actor,
        pos[0] as string,
        scopes
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      );
      if (ctx.json) out(JSON.stringify({ token, ...toTokenResource(record) }));
      else
        out(
          `${token}\n(token '${record.name}' with scopes ${record.scopes.join(', ')}; shown once — store it now)`,
        );
      return 0;
    }
    case 'list': {
      const list = await tokens.list(ctx.actor);
      if (ctx.json) out(JSON.stringify({ data: list.map(toTokenResource) }));
      else
        table(
          out,
          ['NAME', 'SCOPES', 'CREATED', 'LAST USED', 'STATE'],
          list.map((t) => [
            t.name,
            t.scopes.join(','),
            iso(t.created),
            t.lastUsedAt ? iso(t.lastUsedAt) : '-',
            t.revokedAt ? 'revoked' : 'active',
          ]),
        );
      return 0;
    }
    case 'revoke': {
      if (pos.length !== 1) throw new UsageError('expected: token revoke NAME');
      const record = await tokens.revoke(ctx.actor, pos[0] as string);
      if (ctx.json) out(JSON.stringify(toTokenResource(record)));
      else out(`revoked token '${record.name}'`);
      return 0;
    }
    default:
      throw new UsageError(`unknown subcommand '${sub ?? ''}'`);
  }
}
