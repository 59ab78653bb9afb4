import { InvalidKeyInputError } from '../errors.js';

/*
 * The key service's checks of input that is not a name, a ref, a value or an expiry (those have their own modules:
 * names.ts, stored-value.ts, expiry.ts). Each throws an {@link InvalidKeyInputError} naming the field; none reaches
 * the database.
 */

/** `encrypted`, when given, is a boolean. */
export function checkEncryptedFlag(value: unknown): void {
  if (value !== undefined && typeof value !== 'boolean')
    throw new InvalidKeyInputError('encrypted', '`encrypted` must be true or false.');
}

/** Retention: 1–1000 versions, or null (the configuration's default), or not given. */
export function checkMaxVersions(value: number | null | undefined): number | null | undefined {
  if (value === undefined || value === null) return value;
  if (!Number.isInteger(value) || value < 1 || value > 1000)
    throw new InvalidKeyInputError('max_versions', '`max_versions` must be a whole number from 1 to 1000.');
  return value;
}

/** A check-and-set's version, when given: a whole number ≥ 1. */
export function checkExpectedVersion(value: number | undefined): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 1))
    throw new InvalidKeyInputError('expected_version', '`expected_version` must be a whole number ≥ 1.');
}

/** A list's page (default 1) and page size (default 50, at most 1000). */
export function checkListPage(input: { page?: number; perPage?: number }): { page: number; perPage: number } {
  const page = input.page ?? 1;
  const perPage = input.perPage ?? 50;
  if (!Number.isInteger(page) || page < 1)
    throw new InvalidKeyInputError('page', '`page` must be a whole number ≥ 1.');
  if (!Number.isInteger(perPage) || perPage < 1 || perPage > 1000)
    throw new InvalidKeyInputError('perPage', '`perPage` must be a whole number from 1 to 1000.');
  return { page, perPage };
}
