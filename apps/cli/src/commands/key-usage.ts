import {
  toSecretUsageResource,
  toSecretUseResource,
  toUnusedSecretResource,
} from '@attune/executions/resources';
import { flag, positiveFlag, UsageError } from '../args.js';
import { iso, table } from '../io/table.js';
import { dateFlag } from './audit.js';
import type { CommandContext } from './context.js';

/**
 * `attune key usage|executions|unused`: who used a secret (docs/audit.md#usage), from the provenance executions
 * store — its last use and the actions and versions that used it in a period, every execution that received version
 * N (after a leak), the keys no execution received for N days. Never a value.
 */
export async function keyUsageCommand(
  ctx: CommandContext,
  sub: 'usage' | 'executions' | 'unused',
  pos: readonly string[],
): Promise<number> {
  const { usage } = await ctx.backend.services();
  const out = (t: string) => ctx.out(t);
  switch (sub) {
    case 'usage': {
      if (pos.length !== 1) throw new UsageError('expected: key usage REF [--from DATE] [--to DATE]');
      const from = dateFlag(ctx, 'from');
      const to = dateFlag(ctx, 'to');
      const u = await usage.usage(ctx.actor, pos[0] as string, {
        ...(from ? { from } : {}),
        ...(to ? { to } : {}),
      });
      const resource = toSecretUsageResource(u);
      const { last_use: last, actions } = resource;
      if (ctx.json) {
        out(JSON.stringify(resource));
        return 0;
      }
      out(
        last
          ? `${u.ref}: last used ${last.at} by execution ${last.execution_id} (${last.action_ref}, version ${last.version})`
          : `${u.ref}: never received by an execution`,
      );
      out(`from ${iso(u.from)} to ${iso(u.to)}:`);
      if (actions.length === 0) out('  no execution received it');
      else
        table(
          out,
          ['ACTION', 'VERSION', 'EXECUTIONS', 'LAST'],
          actions.map((a) => [a.action_ref, String(a.version), String(a.executions), a.last_at]),
        );
      return 0;
    }
    case 'executions': {
      const version = positiveFlag(ctx.args, 'version');
      if (pos.length !== 1 || version === undefined)
        throw new UsageError('expected: key executions REF --version N [--limit N] [--before ID]');
      const limit = positiveFlag(ctx.args, 'limit');
      const before = flag(ctx.args, 'before');
      const page = await usage.receivedVersion(ctx.actor, pos[0] as string, version, {
        ...(limit === undefined ? {} : { limit }),
        ...(before === undefined ? {} : { before }),
      });
      const rows = page.executions.map(toSecretUseResource);
      if (ctx.json) out(JSON.stringify({ data: rows, next: page.next }));
      else {
        table(
          out,
          ['EXECUTION', 'ACTION', 'STATUS', 'WORKER', 'FINISHED'],
          rows.map((r) => [r.execution_id, r.action_ref, r.status ?? '', r.worker_id ?? '', r.at ?? '']),
        );
        out(`${rows.length} execution(s) received ${pos[0]} version ${version}`);
        if (page.next) out(`more: --before ${page.next}`);
      }
      return 0;
    }
    case 'unused': {
      const days = positiveFlag(ctx.args, 'days');
      if (pos.length !== 0 || days === undefined) throw new UsageError('expected: key unused --days N');
      const unused = await usage.unused(ctx.actor, days);
      const rows = unused.map(toUnusedSecretResource);
      if (ctx.json) out(JSON.stringify({ data: rows }));
      else {
        table(
          out,
          ['REF', 'LEVEL', 'CREATED', 'LAST USED'],
          rows.map((r) => [r.ref, r.level, r.created, r.last_used_at ?? 'never']),
        );
        out(`${rows.length} key(s) no execution received in the last ${days} day(s)`);
      }
      return 0;
    }
  }
}
