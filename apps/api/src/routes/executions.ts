import { type ExecutionService, toExecutionResource } from '@attune/executions';
import type { FastifyInstance } from 'fastify';
import { need } from '../plugins/auth.js';
import * as s from '../schemas.js';

/** `/api/v1/executions`: request one, read one (docs/api.md#executions). */
export function registerExecutionRoutes(app: FastifyInstance, executions: ExecutionService): void {
  app.post<{ Body: { action_ref: string; parameters: Record<string, unknown> } }>(
    '/api/v1/executions',
    {
      schema: {
        tags: ['executions'],
        operationId: 'requestExecution',
        summary: 'Request an execution; it is queued for the workers (scope executions:run)',
        body: s.createExecutionBody,
        response: { 202: s.executionRequestedDto, ...s.errorResponses },
      },
    },
    async (req, reply) => {
      const actor = need(req, 'executions:run');
      const id = await executions.request(actor, req.body.action_ref, req.body.parameters);
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
        operationId: 'getExecution',
        summary: 'Read an execution; output and result are masked (scope executions:run)',
        params: s.executionParams,
        response: { 200: s.executionDto, ...s.errorResponses },
      },
    },
    async (req) => {
      const actor = need(req, 'executions:run');
      return { data: toExecutionResource(await executions.get(actor, req.params.id)) };
    },
  );
}
