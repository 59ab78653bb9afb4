/**
 * `--json` output of the reports that have no API resource (keyring, pack registration, audit verification): the
 * API's convention, snake_case field names, dates as ISO 8601 strings. Resources the API serves use its own mappers.
 */
export function snakeJson(value: unknown): string {
  return JSON.stringify(snakeCase(value));
}

function snakeCase(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeCase);
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => [
      key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
      snakeCase(v),
    ]),
  );
}
