import type { KeyOwner, KeyRecord, SecretValue } from '@attune/secrets';
import { toKeyPageResource, toKeyResource, validateSecretName } from '@attune/secrets/resources';
import { type Parsed, positiveFlag, UsageError } from '../args.js';
import { readSecret } from '../io/read-secret.js';
import { iso, table } from '../io/table.js';
import type { CommandContext } from './context.js';
import { durationFlag, expiryFlags, expiryText, keyExpireCommand } from './key-expiry.js';
import { keyUsageCommand } from './key-usage.js';
import { keyVersionCommand } from './key-versions.js';

/**
 * `attune key set|get|list|delete|undelete|expire|versions|rollback|destroy|usage|executions|unused`: secrets
 * (values from stdin or a hidden prompt, never argv), their expiry, their versions, and who used them.
 */
export async function keyCommand(ctx: CommandContext): Promise<number> {
  const [sub, ...pos] = ctx.args.positionals;
  const { keys } = await ctx.backend.services();
  const out = (t: string) => ctx.out(t);
  const show = (k: KeyRecord) => {
    if (ctx.json) return out(JSON.stringify(toKeyResource(k)));
    out(
      `${k.ref}  (${k.envName}, ${k.ownerType}${k.encrypted ? ', encrypted' : ''}, version ${k.version}${k.deletedAt ? ', deleted' : ''}${k.expiresAt ? `, ${expiryText(k)}` : ''})`,
    );
    if (k.value !== null) out(typeof k.value === 'string' ? k.value : JSON.stringify(k.value));
  };
  switch (sub) {
    case 'set': {
      if (pos.length !== 1)
        throw new UsageError(
          'expected: key set (--system | --pack PACK | --action ACTION) NAME — the value comes from stdin, never argv',
        );
      const owner = ownerFrom(ctx.args);
      // Checked here, before the value is read, by the key service's own rule: the same answer in both modes.
      const name = validateSecretName(pos[0] as string);
      const text = await readSecret(ctx.io, `value for ${name}: `);
      // An empty stdin is almost always a mistake (a pipe from a failed command), not an empty secret.
      if (text === '') throw new UsageError('no value was given (stdin was empty)');
      let value: SecretValue = text;
      if (ctx.args.flags.has('value-json')) {
        try {
          value = JSON.parse(text) as SecretValue;
        } catch {
          throw new UsageError('--value-json: the value read is not valid JSON');
        }
      }
      const encrypted = !ctx.args.flags.has('plain');
      const explicitRef = ctx.args.flags.get('ref');
      const cas = positiveFlag(ctx.args, 'cas');
      const maxVersions = positiveFlag(ctx.args, 'max-versions');
      const expiresAt = expiryFlags(ctx.args, 'expires-in', 'expires-at');
      const { key: record } = await keys.set(ctx.actor, {
        ...(typeof explicitRef === 'string' ? { ref: explicitRef } : {}),
        owner,
        name,
        value,
        encrypted,
        ...(cas === undefined ? {} : { expectedVersion: cas }),
        ...(maxVersions === undefined ? {} : { maxVersions }),
        ...(expiresAt === undefined ? {} : { expiresAt }),
      });
      if (ctx.json) out(JSON.stringify(toKeyResource(record)));
      else
        out(
          `stored ${record.ref} as version ${record.version} (${record.envName}${record.encrypted ? ', encrypted' : ', not encrypted'}${record.expiresAt ? `, ${expiryText(record)}` : ''})`,
        );
      return 0;
    }
    case 'get': {
      if (pos.length !== 1) throw new UsageError('expected: key get REF [--version N] [--decrypt]');
      const version = positiveFlag(ctx.args, 'version');
      if (version !== undefined) return keyVersionCommand(ctx, 'get', pos);
      show(await keys.get(ctx.actor, pos[0] as string, { decrypt: ctx.args.flags.has('decrypt') }));
      return 0;
    }
    case 'usage':
    case 'executions':
    case 'unused':
      return keyUsageCommand(ctx, sub, pos);
    case 'expire':
      return keyExpireCommand(ctx, pos);
    case 'versions':
    case 'rollback':
    case 'destroy':
    case 'undelete':
      return keyVersionCommand(ctx, sub, pos);
    case 'delete': {
      if (pos.length !== 1) throw new UsageError('expected: key delete REF [--purge]');
      const purge = ctx.args.flags.has('purge');
      await keys.delete(ctx.actor, pos[0] as string, { purge });
      if (ctx.json) out(JSON.stringify({ deleted: pos[0], purged: purge }));
      else
        out(
          purge
            ? `deleted ${pos[0]} and every version, for good`
            : `deleted ${pos[0]} (undelete brings it back)`,
        );
      return 0;
    }
    case 'list': {
      const ownerType = ctx.args.flags.get('owner-type');
      if (ownerType !== undefined && !['system', 'pack', 'action'].includes(String(ownerType)))
        throw new UsageError('--owner-type is system, pack or action');
      const pack = ctx.args.flags.get('pack');
      const action = ctx.args.flags.get('action');
      const expiring = durationFlag(ctx.args, 'expiring');
      const page = await keys.list(ctx.actor, {
        ...(typeof ownerType === 'string' ? { ownerType: ownerType as 'system' } : {}),
        ...(typeof pack === 'string' ? { pack } : {}),
        ...(typeof action === 'string' ? { action } : {}),
        deleted: ctx.args.flags.has('deleted'),
        ...(expiring === undefined ? {} : { expiringWithinMs: expiring }),
        ...(ctx.args.flags.has('expired') ? { expired: true } : {}),
        page: Number(ctx.args.flags.get('page') ?? 1),
        perPage: Number(ctx.args.flags.get('per-page') ?? 50),
      });
      if (ctx.json) out(JSON.stringify(toKeyPageResource(page)));
      else {
        table(
          out,
          ['REF', 'ENV VAR', 'OWNER', 'ENCRYPTED', 'UPDATED', 'EXPIRES'],
          page.items.map((k) => [
            k.ref,
            k.envName,
            k.ownerType,
            k.encrypted ? 'yes' : 'no',
            iso(k.updated),
            k.expiresAt
              ? `${iso(k.expiresAt)}${k.expiresAt.getTime() <= Date.now() ? ' (expired)' : ''}`
              : '-',
          ]),
        );
        out(`page ${page.page} of ${Math.max(1, Math.ceil(page.total / page.perPage))} (${page.total} keys)`);
      }
      return 0;
    }
    default:
      throw new UsageError(`unknown subcommand '${sub ?? ''}'`);
  }
}

/** The owner named by --system, --pack or --action (exactly one). */
function ownerFrom(args: Parsed): KeyOwner {
  const system = args.flags.has('system');
  const pack = args.flags.get('pack');
  const action = args.flags.get('action');
  if ([system, pack !== undefined, action !== undefined].filter(Boolean).length !== 1) {
    throw new UsageError('give exactly one owner: --system, --pack PACK or --action ACTION');
  }
  if (system) return { type: 'system' };
  if (typeof pack === 'string') return { type: 'pack', pack: /^\d+$/.test(pack) ? Number(pack) : pack };
  return { type: 'action', action: /^\d+$/.test(String(action)) ? Number(action) : String(action) };
}
