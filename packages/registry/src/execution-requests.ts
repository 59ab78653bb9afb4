import type { Prisma, PrismaClient } from '@attune/db';
import { findUnstorable } from '@attune/secrets';
import { ActionNotFoundError, InvalidParametersError } from './errors.js';
import { matchesType, type ParameterSpec } from './pack-loader.js';

/** Largest parameters accepted, as compact JSON: they travel on the action's stdin and are stored. */
export const MAX_PARAMETERS_BYTES = 64 * 1024;

/**
 * Checks parameters against an action's declared schema and fills in defaults. Unknown parameters are refused, so
 * a typo does not silently run the action with its default.
 * @throws {InvalidParametersError} naming the parameter, never its value.
 */
export function resolveParameters(
  actionRef: string,
  schema: Record<string, ParameterSpec>,
  given: unknown,
): Record<string, unknown> {
  if (given === undefined || given === null) given = {};
  if (typeof given !== 'object' || Array.isArray(given)) {
    throw new InvalidParametersError(actionRef, '(all)', 'parameters must be a JSON object');
  }
  const input = given as Record<string, unknown>;
  const size = Buffer.byteLength(JSON.stringify(input), 'utf8');
  if (size > MAX_PARAMETERS_BYTES) {
    throw new InvalidParametersError(
      actionRef,
      '(all)',
      `are ${size} bytes; at most ${MAX_PARAMETERS_BYTES}`,
    );
  }
  for (const name of Object.keys(input)) {
    // Own names only: `constructor` or `toString` are no parameters of any action.
    if (!Object.hasOwn(schema, name)) {
      const known = Object.keys(schema);
      throw new InvalidParametersError(
        actionRef,
        name,
        `is not a parameter of this action (known: ${known.join(', ') || 'none'})`,
      );
    }
  }
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(schema)) {
    const value = input[name] ?? spec.default;
    if (value === undefined) {
      if (spec.required) throw new InvalidParametersError(actionRef, name, 'is required');
      continue;
    }
    if (!matchesType(value, spec.type))
      throw new InvalidParametersError(actionRef, name, `must be of type ${spec.type}`);
    const bad = findUnstorable(value);
    if (bad)
      throw new InvalidParametersError(
        actionRef,
        name,
        bad.path ? `${bad.problem} at ${bad.path}` : bad.problem,
      );
    out[name] = value;
  }
  return out;
}

/**
 * Creates an execution in state `requested` for an action, with validated parameters. Returns its id.
 * @throws {ActionNotFoundError} {@link InvalidParametersError}
 */
export async function requestExecution(
  prisma: PrismaClient,
  actionRef: string,
  parameters: unknown = {},
): Promise<bigint> {
  const action = await prisma.action.findUnique({ where: { ref: actionRef } });
  if (!action) throw new ActionNotFoundError(actionRef);
  const params = resolveParameters(
    actionRef,
    action.parameters as unknown as Record<string, ParameterSpec>,
    parameters,
  );
  const execution = await prisma.execution.create({
    data: { actionId: action.id, actionRef, parameters: params as Prisma.InputJsonValue },
    select: { id: true },
  });
  return execution.id;
}

/** What {@link enqueueExecution} publishes: the reference implementation's message shape. */
export interface ExecutionRequestMessage {
  readonly execution_id: number;
  readonly action_ref: string;
}

/** The execution was created but could not be handed to the broker; it was marked `failed`. */
export class EnqueueFailedError extends Error {
  readonly code = 'ATTUNE_REGISTRY_ENQUEUE_FAILED';
  /** The execution, now `failed`. */
  readonly executionId: bigint;

  constructor(executionId: bigint) {
    super(`Execution ${executionId} could not be queued: the broker is unavailable. It was marked failed.`);
    this.name = 'EnqueueFailedError';
    this.executionId = executionId;
  }
}

/**
 * Creates an execution ({@link requestExecution}) and publishes it. If publishing fails, the execution is marked
 * `failed` with an `enqueue_failed` warning instead of waiting forever in `requested`.
 * @throws {ActionNotFoundError} {@link InvalidParametersError} {@link EnqueueFailedError}
 */
export async function enqueueExecution(
  prisma: PrismaClient,
  publish: (message: ExecutionRequestMessage) => Promise<void>,
  actionRef: string,
  parameters: unknown = {},
): Promise<bigint> {
  const id = await requestExecution(prisma, actionRef, parameters);
  try {
    await publish({ execution_id: Number(id), action_ref: actionRef });
  } catch {
    await prisma.execution.update({
      where: { id },
      data: {
        status: 'failed',
        finishedAt: new Date(),
        warnings: [
          { kind: 'enqueue_failed', message: 'The execution could not be published to the broker.' },
        ],
      },
    });
    throw new EnqueueFailedError(id);
  }
  return id;
}
