import { createHash } from 'node:crypto';
import { EncryptionKey } from '@attune/crypto';
import { describe, expect, it } from 'vitest';
import { EncryptionKeyRequiredError, InvalidKeyInputError, KeyUndecryptableError } from './errors.js';
import { decodeValue, encodeValue, MAX_VALUE_BYTES, validateSecretValue } from './stored-value.js';

const key = EncryptionKey.fromPassword('stored-value-test-password-0123456789');
const other = EncryptionKey.fromPassword('stored-value-other-password-0123456789');

describe('stored values', () => {
  it('round-trips strings and structured values, encrypted and not', () => {
    for (const value of [
      'sk_live_abc123',
      '',
      { user: 'a', n: [1, 2, { deep: true }] },
      [1, 'two'],
      42,
      false,
    ]) {
      for (const encrypted of [false, true]) {
        const stored = encodeValue(value, { ref: 'p.k', encrypted, key });
        expect(decodeValue({ ref: 'p.k', ...stored }, key)).toEqual(value);
        if (encrypted) {
          expect(typeof stored.value).toBe('string');
          expect(String(stored.value).startsWith('v1:')).toBe(true);
          expect(stored.encryptionKeyHash).toBe(key.keyHash);
        }
      }
    }
  });

  it('binds the ciphertext to the ref', () => {
    const stored = encodeValue('v', { ref: 'a.k', encrypted: true, key });
    const error = (() => {
      try {
        decodeValue({ ref: 'b.k', ...stored }, key);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(KeyUndecryptableError);
    expect((error as KeyUndecryptableError).reason).toBe('authentication_failed');
  });

  it('reads seed-format values without a key hash (written by another implementation)', () => {
    const seed = key.encrypt('from-the-seed');
    expect(
      decodeValue(
        { ref: 'x', value: seed, valueType: 'string', encrypted: true, encryptionKeyHash: null },
        key,
      ),
    ).toBe('from-the-seed');
  });

  it('reads rows the seed wrote with its own key hash (hex SHA-256 of the password), and only with that key', () => {
    const seedHash = createHash('sha256')
      .update('stored-value-test-password-0123456789', 'utf8')
      .digest('hex');
    const row = {
      ref: 'x',
      value: key.encrypt('from-the-seed'),
      valueType: 'string',
      encrypted: true,
      encryptionKeyHash: seedHash,
    };
    expect(decodeValue(row, key)).toBe('from-the-seed');
    let caught: unknown;
    try {
      decodeValue(row, other);
    } catch (error) {
      caught = error;
    }
    expect((caught as Error).message).toMatch(/key_hash_mismatch/);
    // The stored hash is never quoted: in the seed's scheme it is the key itself.
    expect((caught as Error).message).not.toContain(seedHash.slice(0, 8));
  });

  it('refuses a mismatched key hash before decrypting, and a missing key', () => {
    const stored = encodeValue('v', { ref: 'a.k', encrypted: true, key: other });
    expect(() => decodeValue({ ref: 'a.k', ...stored }, key)).toThrow(/key_hash_mismatch/);
    expect(() => decodeValue({ ref: 'a.k', ...stored }, undefined)).toThrow(/no_key_configured/);
    expect(() => encodeValue('v', { ref: 'a.k', encrypted: true, key: undefined })).toThrow(
      EncryptionKeyRequiredError,
    );
  });

  it('refuses values that are not plain JSON or too large, without quoting them', () => {
    for (const bad of [
      null,
      undefined,
      () => 1,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      new Date(),
      { a: undefined },
    ]) {
      expect(() => validateSecretValue(bad)).toThrow(InvalidKeyInputError);
    }
    const big = 's'.repeat(MAX_VALUE_BYTES + 1);
    expect(() => validateSecretValue(big)).toThrow(/65537 bytes; at most 65536/);
    expect(() => validateSecretValue({ nested: null })).not.toThrow();
  });

  it('refuses a NUL or an unpaired surrogate anywhere in a value, naming the field and not the value', () => {
    const cases: Array<[unknown, RegExp]> = [
      ['before\0after-secret', /NUL character/],
      [{ user: 'svc', password: 'pw\0secret' }, /NUL character/],
      [{ 'k\0ey': 'secret-value' }, /NUL character/],
      ['lone \uD800 secret', /unpaired UTF-16 surrogate/],
      [['ok', '\uDC00secret'], /unpaired UTF-16 surrogate/],
    ];
    for (const [value, message] of cases) {
      let caught: unknown;
      try {
        validateSecretValue(value);
      } catch (error) {
        caught = error;
      }
      expect(caught, JSON.stringify(value)).toBeInstanceOf(InvalidKeyInputError);
      expect((caught as InvalidKeyInputError).field).toBe('value');
      expect((caught as Error).message).toMatch(message);
      expect((caught as Error).message).not.toContain('secret');
    }
    // Well-formed text, astral characters and a literal backslash-u are fine.
    expect(() => validateSecretValue('𝄞 pässwörd \\u0000 literal')).not.toThrow();
  });
});
