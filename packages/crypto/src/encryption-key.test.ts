import { createHash, createHmac } from 'node:crypto';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TESTED_BACKENDS } from '../test/backends.js';
import { ciphertextFormat, EncryptionKey } from './encryption-key.js';
import {
  AuthenticationFailedError,
  CryptoErrorCode,
  InvalidPlaintextError,
  KeyHashMismatchError,
  KeyTooShortError,
  MalformedCiphertextError,
} from './errors.js';

const PASSWORD = 'test-password-that-is-long-enough-for-aes256';

/** Decodes the body of a seed-format string into raw bytes, for tampering. */
function split(ciphertext: string): { prefix: string; nonce: Buffer; body: Buffer } {
  const prefix = ciphertext.startsWith('v1:') ? 'v1:' : '';
  const [nonce, body] = ciphertext.slice(prefix.length).split(':') as [string, string];
  return { prefix, nonce: Buffer.from(nonce, 'base64'), body: Buffer.from(body, 'base64') };
}
function join(parts: { prefix: string; nonce: Buffer; body: Buffer }): string {
  return `${parts.prefix}${parts.nonce.toString('base64')}:${parts.body.toString('base64')}`;
}

// Every test below runs on each AES-GCM implementation this build has: node:crypto always, the native fast path
// when it is built (always in CI, which sets ATTUNE_CRYPTO_NATIVE=required).
describe.each(TESTED_BACKENDS)('on the %s backend', (backend) => {
  const derive = (password: string) => EncryptionKey.fromPassword(password, { backend });
  const key = derive(PASSWORD);
  const otherKey = derive('another-password-that-is-also-long-enough');

  it('runs on the backend it was asked for', () => {
    expect(key.backend.name).toBe(backend);
  });

  describe('the seed unit tests', () => {
    it('round-trips a value (test_encrypt_decrypt_roundtrip)', () => {
      const ciphertext = key.encrypt('my-secret-value');
      expect(ciphertext).not.toContain('my-secret-value');
      expect(key.decrypt(ciphertext)).toBe('my-secret-value');
    });

    it('gives different ciphertexts for the same value (test_encrypt_decrypt_different_values)', () => {
      const seen = new Set<string>();
      for (let i = 0; i < 1000; i++) seen.add(key.encrypt('same value'));
      expect(seen.size).toBe(1000);
      const nonces = new Set([...seen].map((c) => c.split(':')[0]));
      expect(nonces.size).toBe(1000);
    });

    it('fails to decrypt with the wrong key (test_decrypt_with_wrong_key)', () => {
      const ciphertext = key.encrypt('secret');
      expect(() => otherKey.decrypt(ciphertext)).toThrow(AuthenticationFailedError);
    });

    it('computes a stable key hash that is not the key (test_compute_key_hash)', () => {
      const again = derive(PASSWORD);
      expect(again.keyHash).toBe(key.keyHash);
      expect(key.keyHash).toMatch(/^[0-9a-f]{64}$/);
      expect(key.keyHash).not.toBe(otherKey.keyHash);
      const aesKey = createHash('sha256').update(PASSWORD).digest();
      // The reference implementation's hash is SHA-256(password): the AES key itself. Ours must not be.
      expect(key.keyHash).not.toBe(aesKey.toString('hex'));
      expect(key.keyHash).toBe(createHmac('sha256', aesKey).update('attune:key-hash:v1').digest('hex'));
    });

    it('rejects invalid formats with the reason (test_invalid_encrypted_format)', () => {
      const cases: Array<[string, string]> = [
        ['', 'empty'],
        ['no-separator-here', 'no_separator'],
        ['!!!!!!!!!!!!!!!!:AAAAAAAAAAAAAAAAAAAAAA==', 'bad_base64'],
        ['AAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA==', 'bad_nonce_length'],
        ['AAAAAAAAAAAAAAAA:AAAA', 'too_short'],
        ['AAAAAAAAAAAAAAAA:', 'bad_base64'],
        ['AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA=', 'bad_base64'],
        ['AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA==:AAAA', 'bad_base64'],
        ['AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAA-_AAAAAA==', 'bad_base64'],
        ['AAAAAAAAAAAAAAAA:AAAAAAAA AAAAAAAAAAAAA==', 'bad_base64'],
        ['v9:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA==', 'unknown_version'],
        ['v1:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA==', 'context_required'],
      ];
      for (const [input, reason] of cases) {
        let caught: unknown;
        try {
          key.decrypt(input);
        } catch (error) {
          caught = error;
        }
        expect(caught, input).toBeInstanceOf(MalformedCiphertextError);
        expect((caught as MalformedCiphertextError).reason, input).toBe(reason);
        expect((caught as MalformedCiphertextError).code).toBe(CryptoErrorCode.Malformed);
      }
      for (const notText of [null, undefined, 42, { length: 5000 }]) {
        expect(() => key.decrypt(notText as unknown as string)).toThrow(MalformedCiphertextError);
      }
    });
  });

  describe('key derivation', () => {
    it('refuses passwords shorter than 32 characters, counting code points', () => {
      expect(() => derive('x'.repeat(31))).toThrow(KeyTooShortError);
      expect(() => derive('')).toThrow(/0 characters long; at least 32/);
      expect(() => derive('😀'.repeat(16))).toThrow(KeyTooShortError); // 32 UTF-16 units
      expect(derive('x'.repeat(32)).keyHash).toMatch(/^[0-9a-f]{64}$/);
      expect(derive('😀'.repeat(32)).keyHash).toMatch(/^[0-9a-f]{64}$/);
    });

    it('does not expose the password or the key through inspect or JSON', () => {
      const aesKeyHex = createHash('sha256').update(PASSWORD).digest('hex');
      const views = [
        inspect(key, { showHidden: true, depth: 5 }),
        JSON.stringify(key),
        String(Object.keys(key)),
      ];
      for (const view of views) {
        expect(view).not.toContain(PASSWORD);
        expect(view).not.toContain(aesKeyHex);
      }
      expect(JSON.parse(JSON.stringify(key))).toEqual({ keyHash: key.keyHash });
    });

    it('never puts the password into a KeyTooShortError', () => {
      const password = 'short-but-secret';
      try {
        derive(password);
        expect.unreachable();
      } catch (error) {
        expect(String((error as Error).message)).not.toContain(password);
        expect(inspect(error)).not.toContain(password);
      }
    });
  });

  describe('key hash validation', () => {
    it("recognises the seed's key hash (hex SHA-256 of the password) as this key, and only this key's", () => {
      const seedHash = createHash('sha256').update(PASSWORD, 'utf8').digest('hex');
      expect(key.matchesKeyHash(seedHash)).toBe(true);
      expect(key.matchesKeyHash(seedHash.toUpperCase())).toBe(true);
      expect(key.isSeedKeyHash(seedHash)).toBe(true);
      expect(key.isSeedKeyHash(key.keyHash)).toBe(false);
      expect(otherKey.matchesKeyHash(seedHash)).toBe(false);
      expect(() => otherKey.assertKeyHash(seedHash)).toThrow(KeyHashMismatchError);
      // The mismatch message never quotes the stored hash: in the seed's scheme it is the key.
      let caught: unknown;
      try {
        otherKey.assertKeyHash(seedHash);
      } catch (error) {
        caught = error;
      }
      expect((caught as Error).message).not.toContain(seedHash.slice(0, 8));
      // Nor does anything that serialises the error (a logger's err serialiser, inspect, JSON).
      expect(inspect(caught)).not.toContain(seedHash.slice(0, 8));
      expect(JSON.stringify({ ...(caught as object) })).not.toContain(seedHash.slice(0, 8));
      expect((caught as KeyHashMismatchError).storedKeyHash).toBe(seedHash);
    });

    it('accepts its own hash and names the configured one, never the stored one nor the key, on mismatch', () => {
      expect(key.matchesKeyHash(key.keyHash)).toBe(true);
      expect(key.matchesKeyHash(otherKey.keyHash)).toBe(false);
      expect(key.matchesKeyHash('')).toBe(false);
      expect(() => key.assertKeyHash(key.keyHash)).not.toThrow();
      let caught: unknown;
      try {
        key.assertKeyHash(otherKey.keyHash);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(KeyHashMismatchError);
      const mismatch = caught as KeyHashMismatchError;
      expect(mismatch.code).toBe(CryptoErrorCode.KeyHashMismatch);
      expect(mismatch.message).not.toContain(otherKey.keyHash.slice(0, 12));
      expect(mismatch.message).toContain(key.keyHash.slice(0, 12));
      expect(mismatch.message).not.toContain(PASSWORD);
    });
  });

  describe('tampering', () => {
    for (const [label, context] of [
      ['seed format', undefined],
      ['v1 format', 'mypack.api_key'],
    ] as const) {
      it(`rejects every single-byte flip of nonce, ciphertext and tag (${label})`, () => {
        const options = context === undefined ? undefined : { context };
        const original = key.encrypt('a secret of some length', options);
        const parts = split(original);
        let checked = 0;
        for (const field of ['nonce', 'body'] as const) {
          for (let i = 0; i < parts[field].length; i++) {
            for (const mask of [0x01, 0x80, 0xff]) {
              const copy = { ...parts, [field]: Buffer.from(parts[field]) };
              (copy[field] as Buffer)[i] = ((copy[field] as Buffer)[i] as number) ^ mask;
              expect(() => key.decrypt(join(copy), options)).toThrow(AuthenticationFailedError);
              checked++;
            }
          }
        }
        expect(checked).toBe((12 + 23 + 16) * 3);
        expect(key.decrypt(original, options)).toBe('a secret of some length');
      });
    }

    it('rejects truncated inputs at every length', () => {
      const original = key.encrypt('truncate me');
      const parts = split(original);
      for (let length = 0; length < parts.body.length; length++) {
        const truncated = join({ ...parts, body: parts.body.subarray(0, length) });
        const expected = length < 16 ? MalformedCiphertextError : AuthenticationFailedError;
        expect(() => key.decrypt(truncated), `body length ${length}`).toThrow(expected);
      }
      for (let length = 0; length < original.length; length++) {
        expect(() => key.decrypt(original.slice(0, length)), `string length ${length}`).toThrow();
      }
    });

    it('rejects a ciphertext whose tag was removed and appended to another value', () => {
      const a = split(key.encrypt('aaaaaaaaaaaaaaaa'));
      const b = split(key.encrypt('bbbbbbbbbbbbbbbb'));
      const spliced = { ...a, body: Buffer.concat([a.body.subarray(0, 16), b.body.subarray(16)]) };
      expect(() => key.decrypt(join(spliced))).toThrow(AuthenticationFailedError);
    });
  });

  describe('context binding (v1)', () => {
    it('writes v1 with a context and reads it back only with the same context', () => {
      const ciphertext = key.encrypt('sk_live_abc123', { context: 'mypack.api_key' });
      expect(ciphertext.startsWith('v1:')).toBe(true);
      expect(ciphertextFormat(ciphertext)).toBe('v1');
      expect(key.decrypt(ciphertext, { context: 'mypack.api_key' })).toBe('sk_live_abc123');
      expect(() => key.decrypt(ciphertext, { context: 'otherpack.api_key' })).toThrow(
        AuthenticationFailedError,
      );
      expect(() => key.decrypt(ciphertext, { context: '' })).toThrow(AuthenticationFailedError);
      expect(() => key.decrypt(ciphertext)).toThrow(MalformedCiphertextError);
    });

    it('cannot be downgraded: a v1 body with its tag stripped off is not a seed-format value', () => {
      const ciphertext = key.encrypt('sk_live_abc123', { context: 'mypack.api_key' });
      expect(() => key.decrypt(ciphertext.slice(3))).toThrow(AuthenticationFailedError);
    });

    it('keeps the seed format readable when a context is given', () => {
      const ciphertext = key.encrypt('legacy');
      expect(ciphertextFormat(ciphertext)).toBe('seed');
      expect(key.decrypt(ciphertext, { context: 'anything' })).toBe('legacy');
    });
  });

  describe('values', () => {
    it('round-trips bytes that are not UTF-8, and refuses to return them as a string', () => {
      const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x80]);
      const ciphertext = key.encrypt(bytes);
      expect(key.decryptToBytes(ciphertext).equals(bytes)).toBe(true);
      expect(() => key.decrypt(ciphertext)).toThrow(InvalidPlaintextError);
    });

    it('round-trips arbitrary strings, including empty and non-BMP, in both formats', () => {
      fc.assert(
        fc.property(
          fc.string({ unit: 'grapheme', maxLength: 200 }),
          fc.option(fc.string()),
          (value, context) => {
            const options = context === null ? undefined : { context };
            expect(key.decrypt(key.encrypt(value, options), options)).toBe(value);
          },
        ),
        { numRuns: 500 },
      );
      fc.assert(
        fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (value) => {
          expect(key.decrypt(key.encrypt(value))).toBe(value);
        }),
        { numRuns: 500 },
      );
      expect(key.decrypt(key.encrypt(''))).toBe('');
      expect(key.decrypt(key.encrypt('𝄞😀𠜎'))).toBe('𝄞😀𠜎');
    });

    it('round-trips values larger than the internal scratch buffer', () => {
      const big = 'z'.repeat(100_000);
      expect(key.decrypt(key.encrypt(big))).toBe(big);
    });

    it('never includes the plaintext in any error', () => {
      const secret = 'never-print-this-value-123';
      const ciphertext = key.encrypt(secret);
      for (const attempt of [() => otherKey.decrypt(ciphertext), () => key.decrypt(`${ciphertext}x`)]) {
        try {
          attempt();
          expect.unreachable();
        } catch (error) {
          expect(inspect(error, { showHidden: true })).not.toContain(secret);
          expect((error as Error).cause).toBeUndefined();
        }
      }
    });
  });
});
