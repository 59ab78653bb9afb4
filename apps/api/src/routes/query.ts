import { AttuneError } from '@attune/core';

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
