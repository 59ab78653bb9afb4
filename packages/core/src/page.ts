import { AttuneError } from './errors.js';

const MAX_ROW_ID = 2n ** 63n - 1n;

/**
 * A page of a cursor-paginated listing, checked: `limit` a whole number from 1 to 1000 (default 100), `before` the
 * id of a row (a BIGINT: the `next` of the previous page) below which the page goes on. `code` is the caller's error
 * code; `rows` names what the ids are of ("an event", "an execution").
 * @throws {AttuneError} category `invalid`, naming the field
 */
export function checkPage(
  page: { readonly limit?: number | undefined; readonly before?: string | undefined },
  code: string,
  rows: string,
): { limit: number; before: string | undefined } {
  const limit = page.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new AttuneError({
      code,
      category: 'invalid',
      field: 'limit',
      message: '`limit` must be a whole number from 1 to 1000.',
    });
  const { before } = page;
  if (before !== undefined && !(/^[1-9][0-9]{0,18}$/.test(before) && BigInt(before) <= MAX_ROW_ID))
    throw new AttuneError({
      code,
      category: 'invalid',
      field: 'before',
      message: `\`before\` must be ${rows} id (the \`next\` of the previous page).`,
    });
  return { limit, before };
}
