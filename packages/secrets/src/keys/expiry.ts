import { MAX_DURATION_MS } from '@attune/core';
import { InvalidKeyInputError } from '../errors.js';
import type { ListKeysInput } from './key-types.js';

/*
 * Expiry (docs/secrets-management.md#expiry): the rules of the key service for an `expires_at` to write and for
 * listing by it. Resolution's side is the resolver's (`secret-resolver.ts`).
 */

/**
 * An expiry to write: a valid time in the future, or null (never). A past one is refused: it would make the secret
 * stop resolving at once, which is what `key delete` is for.
 */
export function checkExpiresAt(value: Date | null | undefined): Date | null | undefined {
  if (value === undefined || value === null) return value;
  if (!(value instanceof Date) || Number.isNaN(value.getTime()))
    throw new InvalidKeyInputError(
      'expires_at',
      '`expires_at` must be a time (ISO 8601, e.g. 2027-01-31T00:00:00Z).',
    );
  if (value.getTime() <= Date.now())
    throw new InvalidKeyInputError(
      'expires_at',
      `\`expires_at\` must be in the future (${value.toISOString()} has passed); to stop a secret resolving now, delete it.`,
    );
  if (value.getTime() > Date.UTC(9999, 11, 31))
    throw new InvalidKeyInputError('expires_at', '`expires_at` must be before the year 10000.');
  return value;
}

/** The store's expiry filter of a list: expiring within a time (not yet expired), expired, or either. */
export function expiryFilter(input: ListKeysInput): { expiresBefore?: Date; expiresAfter?: Date } {
  const within = input.expiringWithinMs;
  if (within !== undefined && (!Number.isInteger(within) || within < 0 || within > MAX_DURATION_MS))
    throw new InvalidKeyInputError('expiring', '`expiring` must be a duration up to 100 years (e.g. 7d).');
  const now = Date.now();
  if (within === undefined) return input.expired ? { expiresBefore: new Date(now) } : {};
  return input.expired
    ? { expiresBefore: new Date(now + within) }
    : { expiresBefore: new Date(now + within), expiresAfter: new Date(now) };
}
