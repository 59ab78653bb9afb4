import { describe, expect, it } from 'vitest';
import { maskJsonNumbers } from './json-numbers.js';
import { SecretMasker } from './masker.js';

describe('numbers in JSON text', () => {
  const masker = new SecretMasker(
    [
      { ref: 's.acct', value: '98765432109876543210' },
      { ref: 's.pin', value: 31415926 },
    ],
    6,
  );

  it('turns a number holding a secret into "***" before parsing, so that no rounded copy of it remains', () => {
    const text =
      '{"account": 98765432109876543210, "pin": -31415926.5e3, "n": 12, "s": "98765432109876543210 in text"}';
    const parsed = JSON.parse(maskJsonNumbers(text, masker)) as Record<string, unknown>;
    expect(parsed.account).toBe('***');
    expect(parsed.pin).toBe('***');
    expect(parsed.n).toBe(12);
    // Strings are left to the masker of values: the scan skips them.
    expect(parsed.s).toBe('98765432109876543210 in text');
    // Without the rewrite, parsing keeps the first 16 digits of the secret.
    expect(String((JSON.parse(text) as { account: number }).account)).toContain('9876543210987654');
  });

  it('skips escaped quotes inside strings, and leaves text without secret numbers as it is', () => {
    const text = '["a \\" 98765432109876543210 \\\\", 98765432109876543210, 7]';
    expect(maskJsonNumbers(text, masker)).toBe('["a \\" 98765432109876543210 \\\\", "***", 7]');
    const plain = '{"a": [1, 2.5, -3e9], "b": "x"}';
    expect(maskJsonNumbers(plain, masker)).toBe(plain);
  });
});
