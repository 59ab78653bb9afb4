import type { AuditEvent } from '@attune/audit';
import { toAuditEventResource } from '@attune/audit/resources';
import { EXIT_FAILED } from '@attune/core';
import { flag, positiveFlag, UsageError } from '../args.js';
import { snakeJson } from '../io/json.js';
import { progressBar } from '../io/progress.js';
import { readSecret } from '../io/read-secret.js';
import { iso, table } from '../io/table.js';
import type { CommandContext } from './context.js';

/**
 * `attune audit list|verify|hash|prune`: the audit log (docs/audit.md) — events newest first and filtered, the hash
 * chain checked, a leaked string looked up by its keyed HMAC (read from stdin or a hidden prompt, never argv), and
 * the explicit, itself recorded, prune.
 */
export async function auditCommand(ctx: CommandContext): Promise<number> {
  const [sub, ...pos] = ctx.args.positionals;
  if (pos.length > 0) throw new UsageError(`unexpected argument '${pos[0]}'`);
  const { audit } = await ctx.backend.services();
  const out = (t: string) => ctx.out(t);
  switch (sub) {
    case 'list': {
      // The service checks the cursor and the limit (1–1000), as for the API.
      const page = await audit.list(ctx.actor, {
        ref: flag(ctx.args, 'ref'),
        actor: flag(ctx.args, 'actor'),
        action: flag(ctx.args, 'action'),
        from: dateFlag(ctx, 'from'),
        to: dateFlag(ctx, 'to'),
        before: flag(ctx.args, 'before'),
        limit: positiveFlag(ctx.args, 'limit'),
      });
      if (ctx.json) out(JSON.stringify({ data: page.events.map(toAuditEventResource), next: page.next }));
      else {
        eventTable(out, page.events);
        if (page.next) out(`more: --before ${page.next}`);
      }
      return 0;
    }
    case 'verify': {
      const bar = progressBar(ctx.io, 'verifying the audit log', !ctx.json);
      const report = await audit.verify(ctx.actor, (checked) => bar.update(checked, 0));
      bar.end();
      if (ctx.json) out(snakeJson(report));
      else if (report.broken)
        ctx.io.stderr.write(
          `attune: audit verify: the chain breaks at event ${report.broken.id} (${report.broken.problem}): ${report.broken.detail}; ${report.checked} event(s) before it verified\n`,
        );
      else out(`audit log intact: ${report.checked} event(s) verified`);
      if (!ctx.json)
        for (const p of report.prunes)
          out(
            `pruned: ${p.count} event(s) before ${p.before}, by ${p.actor} at ${iso(p.at)} (event ${p.id})`,
          );
      return report.broken ? EXIT_FAILED : 0;
    }
    case 'hash': {
      const value = await readSecret(ctx.io, 'value to look up: ');
      if (value === '') throw new UsageError('no value was given (stdin was empty)');
      const events = await audit.lookUpValue(ctx.actor, value);
      if (ctx.json) out(JSON.stringify({ data: events.map(toAuditEventResource) }));
      else if (events.length === 0) out('no stored value matches (under the current audit HMAC key)');
      else {
        out(`this string was stored ${events.length} time(s):`);
        eventTable(out, events);
      }
      return 0;
    }
    case 'prune': {
      const before = dateFlag(ctx, 'before');
      if (!before) throw new UsageError('expected: audit prune --before DATE --yes');
      if (!ctx.args.flags.has('yes'))
        throw new UsageError('pruning deletes audit events for good: add --yes to confirm');
      const deleted = await audit.prune(ctx.actor, before);
      if (ctx.json) out(JSON.stringify({ deleted, before: before.toISOString() }));
      else out(`pruned ${deleted} event(s) before ${iso(before)} (the prune itself is recorded)`);
      return 0;
    }
    default:
      throw new UsageError(`unknown subcommand '${sub ?? ''}'`);
  }
}

/** A date option (ISO 8601). @throws {UsageError} */
export function dateFlag(ctx: CommandContext, name: string): Date | undefined {
  const text = flag(ctx.args, name);
  if (text === undefined) return undefined;
  const date = new Date(text);
  if (Number.isNaN(date.getTime()))
    throw new UsageError(`--${name} is not a date (ISO 8601, e.g. 2026-11-01)`);
  return date;
}

function eventTable(out: (t: string) => void, events: readonly AuditEvent[]): void {
  table(
    out,
    ['ID', 'AT', 'ACTOR', 'SOURCE', 'ACTION', 'REF', 'VERSION', 'OUTCOME'],
    events.map((e) => [
      e.id,
      iso(e.at),
      `${e.actor.type}:${e.actor.name}`,
      e.source ?? '',
      e.action,
      e.ref ?? '',
      e.version === null ? '' : String(e.version),
      e.outcome,
    ]),
  );
}
