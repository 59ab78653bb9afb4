import type { KeyVersionRecord } from '@attune/secrets';
import { toKeyResource, toKeyVersionResource } from '@attune/secrets/resources';
import { flag, positiveFlag, UsageError } from '../args.js';
import { iso, table } from '../io/table.js';
import type { CommandContext } from './context.js';

/**
 * `attune key versions REF`, `key get REF --version N [--decrypt]`, `key rollback REF --to N [--cas N]`,
 * `key destroy REF --versions N[,N…]`, `key undelete REF`: the versions of a secret
 * (docs/secrets-management.md#versions).
 */
export async function keyVersionCommand(ctx: CommandContext, sub: string, pos: string[]): Promise<number> {
  const { keys } = await ctx.backend.services();
  const out = (t: string) => ctx.out(t);
  const ref = pos[0];
  if (pos.length !== 1 || ref === undefined) throw new UsageError(`expected: key ${sub} REF`);
  switch (sub) {
    case 'versions': {
      const list = await keys.versions.list(ctx.actor, ref);
      if (ctx.json) out(JSON.stringify({ data: list.map(toKeyVersionResource) }));
      else
        table(
          out,
          ['VERSION', 'CREATED', 'BY', 'ORIGIN', 'ENCRYPTED', 'STATE'],
          list.map((v) => [
            `${v.version}${v.current ? ' *' : ''}`,
            iso(v.created),
            `${v.actor.type}:${v.actor.name}`,
            v.origin === 'rollback' ? `rollback of ${v.sourceVersion}` : v.origin,
            v.encrypted ? 'yes' : 'no',
            v.destroyedAt ? `destroyed ${iso(v.destroyedAt)}` : 'kept',
          ]),
        );
      return 0;
    }
    case 'get': {
      const version = positiveFlag(ctx.args, 'version') as number;
      showVersion(
        ctx,
        await keys.versions.get(ctx.actor, ref, version, { decrypt: ctx.args.flags.has('decrypt') }),
      );
      return 0;
    }
    case 'rollback': {
      const to = positiveFlag(ctx.args, 'to');
      if (to === undefined) throw new UsageError('expected: key rollback REF --to VERSION [--cas CURRENT]');
      const cas = positiveFlag(ctx.args, 'cas');
      const record = await keys.versions.rollback(
        ctx.actor,
        ref,
        to,
        cas === undefined ? {} : { expectedVersion: cas },
      );
      if (ctx.json) out(JSON.stringify(toKeyResource(record)));
      else out(`rolled ${ref} back to the value of version ${to}, as version ${record.version}`);
      return 0;
    }
    case 'destroy': {
      const list = flag(ctx.args, 'versions');
      if (list === undefined || !/^[1-9][0-9]{0,9}(,[1-9][0-9]{0,9})*$/.test(list))
        throw new UsageError('expected: key destroy REF --versions N[,N…]');
      const destroyed = await keys.versions.destroy(ctx.actor, ref, list.split(',').map(Number));
      if (ctx.json) out(JSON.stringify({ ref, destroyed }));
      else
        out(
          destroyed.length
            ? `destroyed version(s) ${destroyed.join(', ')} of ${ref}`
            : 'nothing left to destroy',
        );
      return 0;
    }
    case 'undelete': {
      const record = await keys.undelete(ctx.actor, ref);
      if (ctx.json) out(JSON.stringify(toKeyResource(record)));
      else out(`undeleted ${ref} (version ${record.version})`);
      return 0;
    }
    default:
      throw new UsageError(`unknown subcommand '${sub}'`);
  }
}

function showVersion(ctx: CommandContext, v: KeyVersionRecord): void {
  if (ctx.json) {
    ctx.out(JSON.stringify(toKeyVersionResource(v)));
    return;
  }
  ctx.out(
    `${v.ref} version ${v.version}${v.current ? ' (current)' : ''}: ${v.origin}, by ${v.actor.type}:${v.actor.name}, ${iso(v.created)}${v.destroyedAt ? ', destroyed' : ''}`,
  );
  if (v.value !== null) ctx.out(typeof v.value === 'string' ? v.value : JSON.stringify(v.value));
}
