import type { KeyOwner } from '@attune/secrets';
import { UsageError } from '../args.js';
import { snakeJson } from '../io/json.js';
import { progressBar } from '../io/progress.js';
import { table } from '../io/table.js';
import type { CommandContext } from './context.js';

/**
 * `attune keyring status|rotate|rotate-data-key|upgrade|destroy-data-key`: the master keys and the data keys
 * (docs/secrets-management.md#rotating-the-encryption-key).
 */
export async function keyringCommand(ctx: CommandContext): Promise<number> {
  const [sub, ...pos] = ctx.args.positionals;
  const { keyring } = await ctx.backend.services();
  const out = (t: string) => ctx.out(t);
  switch (sub) {
    case 'status': {
      const status = await keyring.status(ctx.actor);
      if (ctx.json) {
        out(snakeJson(status));
        return 0;
      }
      table(
        out,
        ['MASTER KEY', 'ID', 'ACTIVE', 'DATA KEYS', 'RETIRED', 'DIRECT VALUES'],
        status.masterKeys.map((m) => [
          m.keyHash.length === 64 ? `${m.keyHash.slice(0, 12)}…` : m.keyHash,
          m.id ?? '(not in the ring)',
          m.active ? 'yes' : '',
          String(m.dataKeys.active),
          String(m.dataKeys.retired),
          String(m.directValues),
        ]),
      );
      out(
        `${status.destroyedDataKeys} destroyed data key(s); ${status.valuesOnRetiredDataKeys} value(s) still on retired data keys`,
      );
      const direct = status.masterKeys.reduce((n, m) => n + m.directValues, 0);
      if (direct > 0)
        out(`${direct} value(s) encrypted directly with a master key: run attune keyring upgrade`);
      if (status.masterKeys.some((m) => !m.active && m.dataKeys.active + m.dataKeys.retired > 0))
        out('data keys are wrapped by an inactive master key: run attune keyring rotate');
      return 0;
    }
    case 'rotate': {
      const bar = progressBar(ctx.io, 'rewrapping data keys', !ctx.json);
      const report = await keyring.rotateMasterKey(ctx.actor, (done, total) => bar.update(done, total));
      bar.end();
      if (ctx.json) out(snakeJson(report));
      else {
        out(
          `${report.rewrapped} data key(s) rewrapped under master key ${report.activeKey.id} in ${report.seconds.toFixed(2)} s`,
        );
        for (const u of report.unreachable)
          out(
            `  ${u.dataKeys} data key(s) are wrapped by master key ${u.keyHash}…, which is not in the keyring`,
          );
      }
      return report.unreachable.length > 0 ? 1 : 0;
    }
    case 'rotate-data-key':
    case 'upgrade': {
      if (pos.length > 0)
        throw new UsageError(
          `expected: keyring ${sub}${sub === 'upgrade' ? '' : ' (--system | --pack PACK | --action ACTION)'}`,
        );
      const bar = progressBar(
        ctx.io,
        sub === 'upgrade' ? 'upgrading values' : 're-encrypting values',
        !ctx.json,
      );
      const progress = (done: number, total: number) => bar.update(done, total);
      const report =
        sub === 'upgrade'
          ? await keyring.upgrade(ctx.actor, progress)
          : await keyring.rotateDataKey(ctx.actor, ownerOf(ctx), progress);
      bar.end();
      if (ctx.json) out(snakeJson(report));
      else {
        if (report.rotation)
          out(
            report.rotation.resumed
              ? `resumed the unfinished rotation to data key ${report.rotation.to}`
              : `data key ${report.rotation.from ?? '(none)'} retired; data key ${report.rotation.to} is active`,
          );
        out(
          `${report.reencrypted.keys} current value(s) and ${report.reencrypted.versions} version(s) re-encrypted in ${report.seconds.toFixed(2)} s`,
        );
        for (const f of report.failed) out(`  not re-encrypted: ${f.ref} version ${f.version} (${f.reason})`);
      }
      return report.failed.length > 0 ? 1 : 0;
    }
    case 'destroy-data-key': {
      const id = pos[0];
      if (pos.length !== 1 || !/^[1-9][0-9]{0,9}$/.test(id as string))
        throw new UsageError('expected: keyring destroy-data-key ID --yes');
      const under = await keyring.valuesUnder(ctx.actor, Number(id));
      if (!ctx.args.flags.has('yes')) {
        throw new UsageError(
          `destroying data key ${id} makes the ${under} value(s) it encrypts unreadable for good; add --yes to do it`,
        );
      }
      const report = await keyring.destroyDataKey(ctx.actor, Number(id));
      if (ctx.json) out(snakeJson(report));
      else
        out(
          report.destroyed
            ? `data key ${id} destroyed: ${report.valuesShredded} value(s) are unreadable from now on`
            : `data key ${id} was already destroyed`,
        );
      return 0;
    }
    default:
      throw new UsageError(`unknown subcommand '${sub ?? ''}'`);
  }
}

function ownerOf(ctx: CommandContext): KeyOwner {
  const system = ctx.args.flags.has('system');
  const pack = ctx.args.flags.get('pack');
  const action = ctx.args.flags.get('action');
  if ([system, pack !== undefined, action !== undefined].filter(Boolean).length !== 1)
    throw new UsageError('give exactly one owner: --system, --pack PACK or --action ACTION');
  if (system) return { type: 'system' };
  if (typeof pack === 'string') return { type: 'pack', pack: /^\d+$/.test(pack) ? Number(pack) : pack };
  return { type: 'action', action: /^\d+$/.test(String(action)) ? Number(action) : String(action) };
}
