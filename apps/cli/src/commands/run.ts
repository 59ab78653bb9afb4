import { EXIT_FAILED } from '@attune/core';
import {
  type ExecutionRequestedResource,
  formatExecution,
  toExecutionResource,
} from '@attune/executions/resources';
import { flag, UsageError } from '../args.js';
import type { CommandContext } from './context.js';

/**
 * `attune run ACTION [--params JSON] [--wait] [--timeout SECONDS]`: requests an execution (the one implementation,
 * the API's too) and, with `--wait`, prints it once it ends: as text (each secret's provenance, masked output,
 * warnings), or with `--json` in the API's shape.
 */
export async function runCommand(ctx: CommandContext): Promise<number> {
  const [actionRef, ...extra] = ctx.args.positionals;
  if (actionRef === undefined || extra.length > 0) throw new UsageError('expected: run ACTION');
  let params: unknown = {};
  const given = flag(ctx.args, 'params');
  if (given !== undefined) {
    try {
      params = JSON.parse(given);
    } catch {
      throw new UsageError('--params is not valid JSON');
    }
  }
  const timeoutText = flag(ctx.args, 'timeout');
  const timeoutSeconds = timeoutText === undefined ? 600 : Number(timeoutText);
  if (!(timeoutSeconds > 0)) throw new UsageError('--timeout is a number of seconds above 0');
  const { executions } = await ctx.backend.services();
  const id = await executions.request(ctx.actor, actionRef, params);
  if (!ctx.args.flags.has('wait')) {
    const requested: ExecutionRequestedResource = {
      id: String(id),
      action_ref: actionRef,
      status: 'requested',
    };
    ctx.out(
      ctx.json
        ? JSON.stringify(requested)
        : `requested execution ${requested.id} of ${actionRef} (attune run … --wait waits for it)`,
    );
    return 0;
  }
  const record = await executions.waitFor(ctx.actor, id, {
    timeoutMs: timeoutSeconds * 1000,
    onStatus: (status, workerId) =>
      ctx.progress(`execution ${id}: ${status}${workerId ? ` on ${workerId}` : ''}`),
  });
  if (!record) {
    ctx.io.stderr.write(
      `attune: run: execution ${id} did not finish within ${timeoutSeconds} s (still queued or running)\n`,
    );
    return EXIT_FAILED;
  }
  const resource = toExecutionResource(record);
  // --json: the API's shape; otherwise the text the demo prints, with each secret's provenance.
  ctx.out(ctx.json ? JSON.stringify(resource) : formatExecution(resource).join('\n'));
  return record.status === 'succeeded' ? 0 : EXIT_FAILED;
}
