import { enqueueExecution } from '@attune/registry';
import type { FastifyInstance } from 'fastify';
import type { ApiDependencies } from '../dependencies.js';
import { HttpError } from '../http-error.js';
import * as s from '../schemas.js';
import { need } from '../security.js';

const errors = s.errorResponses;

/** `/api/v1/executions`: request one, read one (docs/api.md#executions). */
export function registerExecutionRoutes(app: FastifyInstance, deps: ApiDependencies): void {
  app.post<{ Body: { action_ref: string; parameters: Record<string, unknown> } }>(
    '/api/v1/executions',
    {
      schema: {
        tags: ['executions'],
        summary: 'Request an execution; it is queued for the workers (scope executions:run)',
        body: s.createExecutionBody,
        response: errors,
      },
    },
    async (req, reply) => {
      need(req, 'executions:run');
      const id = await enqueueExecution(
        deps.db.prisma,
        deps.publish,
        req.body.action_ref,
        req.body.parameters,
      );
      return reply
        .code(202)
        .send({ data: { id: String(id), action_ref: req.body.action_ref, status: 'requested' } });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/executions/:id',
    {
      schema: {
        tags: ['executions'],
        summary: 'Read an execution; output and result are masked (scope executions:run)',
        params: s.executionParams,
        response: errors,
      },
    },
    async (req) => {
      need(req, 'executions:run');
      const id = BigInt(req.params.id);
      // The pattern admits 19 digits; ids are PostgreSQL bigints.
      if (id > 9_223_372_036_854_775_807n)
        throw new HttpError(
          400,
          'ATTUNE_API_INVALID',
          'The execution id is above the largest id (2^63 − 1).',
          'id',
        );
      const row = await deps.db.prisma.execution.findUnique({ where: { id } });
      if (!row) throw new HttpError(404, 'ATTUNE_API_NOT_FOUND', `No execution ${req.params.id}.`);
      return {
        data: {
          id: String(row.id),
          action_ref: row.actionRef,
          status: row.status,
          parameters: row.parameters,
          result: row.result,
          stdout: row.stdout,
          stderr: row.stderr,
          stdout_truncated: row.stdoutTruncated,
          stderr_truncated: row.stderrTruncated,
          exit_code: row.exitCode,
          duration_ms: row.durationMs,
          warnings: row.warnings,
          worker_id: row.workerId,
          created: row.created,
          started_at: row.startedAt,
          finished_at: row.finishedAt,
        },
      };
    },
  );
}
