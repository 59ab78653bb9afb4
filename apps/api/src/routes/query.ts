import { AttuneError, DURATION_HINT, parseDuration, parseIsoTime } from '@attune/core';

/** A query-string time (ISO 8601), or undefined when absent. @throws 400 naming the field when it is not a date. */
export function dateOf(text: string | undefined, field: string): Date | undefined {
  if (text === undefined) return undefined;
  const date = new Date(text);
  if (Number.isNaN(date.getTime()))
    throw new AttuneError({
      code: 'ATTUNE_API_INVALID',
      category: 'invalid',
      message: `${field} is not a date (ISO 8601).`,
      field,
    });
  return date;
}

/** An `expires_at` of a body: a time, or null (never); absent stays absent. @throws 400 naming the field. */
export function expiryOf(value: unknown): Date | null | undefined {
  if (value === undefined || value === null) return value;
  // A date, a time and a zone (a bare date or a local time means different instants to different readers), and a
  // day that exists: 2027-02-30 is refused, not moved to March.
  const time = typeof value === 'string' ? parseIsoTime(value) : null;
  if (time === null)
    throw new AttuneError({
      code: 'ATTUNE_API_INVALID',
      category: 'invalid',
      message:
        'expires_at must be an ISO 8601 time with a zone (e.g. 2027-01-31T00:00:00Z) on a day that exists, or null.',
      field: 'expires_at',
    });
  return time;
}

/** A duration of the query string (`7d`), in milliseconds. @throws 400 naming the field. */
export function durationOf(text: string | undefined, field: string): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (ms === null)
    throw new AttuneError({
      code: 'ATTUNE_API_INVALID',
      category: 'invalid',
      message: `${field} must be ${DURATION_HINT}, up to 100 years.`,
      field,
    });
  return ms;
}
