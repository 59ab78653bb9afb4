import { describe, expect, it } from 'vitest';
import { InvalidKeyInputError } from './errors.js';
import { envVarName, validateKeyRef, validateSecretName } from './names.js';

describe('secret names', () => {
  it("transforms names as the seed says (test_prepare_secret_env's naming)", () => {
    expect(envVarName('api_key')).toBe('SECRET_API_KEY');
    expect(envVarName('db-password')).toBe('SECRET_DB_PASSWORD');
    expect(envVarName('oauth_token')).toBe('SECRET_OAUTH_TOKEN');
    expect(envVarName('Mixed-Case_9')).toBe('SECRET_MIXED_CASE_9');
  });

  it("accepts the seed's examples", () => {
    for (const name of ['api_key', 'db-password', 'oauth_token', 'A', '_x', '9lives', 'x'.repeat(128)]) {
      expect(validateSecretName(name)).toBe(name);
      expect(envVarName(name)).toMatch(/^[A-Z_][A-Z0-9_]*$/);
    }
  });

  it('refuses names that would not make a valid env var, saying why', () => {
    const cases: Array<[unknown, RegExp]> = [
      ['', /empty/],
      [undefined, /empty/],
      ['api key', /contains a space/],
      ['api=key', /contains '='/],
      ['api.key', /contains '\.'/],
      ['api\0key', /contains a NUL character/],
      ['-leading', /not starting with -/],
      ['clé', /U\+00E9/],
      ['x'.repeat(129), /129 characters long; at most 128/],
    ];
    for (const [name, message] of cases) {
      let caught: unknown;
      try {
        validateSecretName(name);
      } catch (error) {
        caught = error;
      }
      expect(caught, String(name)).toBeInstanceOf(InvalidKeyInputError);
      expect((caught as InvalidKeyInputError).field).toBe('name');
      expect((caught as Error).message, String(name)).toMatch(message);
    }
  });

  it('validates refs', () => {
    expect(validateKeyRef('mypack.api_key')).toBe('mypack.api_key');
    expect(() => validateKeyRef('')).toThrow(/empty/);
    expect(() => validateKeyRef('.hidden')).toThrow(InvalidKeyInputError);
    expect(() => validateKeyRef('a b')).toThrow(InvalidKeyInputError);
    expect(() => validateKeyRef('r'.repeat(256))).toThrow(/256 characters long/);
  });
});
