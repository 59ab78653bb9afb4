import { describe, expect, it } from 'vitest';
import {
  AttuneError,
  categoryOf,
  ERROR_CATEGORIES,
  EXIT_CODE,
  exitCodeOf,
  HTTP_STATUS,
  httpStatusOf,
  isAttuneError,
} from './errors.js';

describe('AttuneError', () => {
  it('carries code, category and field, and is named after its class', () => {
    class SampleError extends AttuneError {}
    const error = new SampleError({
      code: 'ATTUNE_X_BAD',
      category: 'invalid',
      message: 'bad name',
      field: 'name',
    });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('SampleError');
    expect([error.code, error.category, error.field]).toEqual(['ATTUNE_X_BAD', 'invalid', 'name']);
    expect(httpStatusOf(error)).toBe(400);
    expect(exitCodeOf(error)).toBe(2);
  });

  it('maps every category to a status and an exit code', () => {
    for (const category of ERROR_CATEGORIES) {
      expect(HTTP_STATUS[category]).toBeGreaterThanOrEqual(400);
      expect(EXIT_CODE[category]).toBeGreaterThan(0);
    }
    expect(Object.fromEntries(ERROR_CATEGORIES.map((c) => [c, [HTTP_STATUS[c], EXIT_CODE[c]]]))).toEqual({
      invalid: [400, 2],
      too_large: [413, 2],
      unauthenticated: [401, 5],
      denied: [403, 5],
      not_found: [404, 3],
      conflict: [409, 4],
      refused: [409, 5],
      rate_limited: [429, 1],
      unavailable: [503, 1],
      internal: [500, 1],
    });
  });

  it('treats an error shaped like one (the crypto package) by its category, anything else as internal', () => {
    const shaped = Object.assign(new Error('x'), { code: 'ATTUNE_CRYPTO_MALFORMED', category: 'invalid' });
    expect(categoryOf(shaped)).toBe('invalid');
    expect(isAttuneError(shaped)).toBe(true);
    expect(categoryOf(new TypeError('boom'))).toBe('internal');
    expect(isAttuneError(new TypeError('boom'))).toBe(false);
    expect(categoryOf(Object.assign(new Error('x'), { category: 'made-up' }))).toBe('internal');
    expect(categoryOf(undefined)).toBe('internal');
    expect(httpStatusOf('a string')).toBe(500);
  });
});
