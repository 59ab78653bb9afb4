import { formatExecution, toExecutionResource } from '@attune/executions/resources';
import { UsageError } from '../args.js';
import type { CommandContext } from './context.js';

/**
 * `attune execution get ID`: one execution, as `attune run --wait` prints it (text: status, each secret's provenance,
 * masked output, warnings; `--json`: the API's shape, `GET /api/v1/executions/{id}`), whatever its status.
 */
export async function executionCommand(ctx: CommandContext): Promise<number> {
  const [sub, id, ...extra] = ctx.args.positionals;
  if (sub !== 'get' || id === undefined || extra.length > 0)
    throw new UsageError('expected: execution get ID');
  const { executions } = await ctx.backend.services();
  const resource = toExecutionResource(await executions.get(ctx.actor, id));
  ctx.out(ctx.json ? JSON.stringify(resource) : formatExecution(resource).join('\n'));
  return 0;
}
