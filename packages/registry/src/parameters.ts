import { findUnstorable } from '@attune/secrets';
import { InvalidParametersError } from './errors.js';
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
