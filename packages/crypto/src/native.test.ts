import { createCipheriv, createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TESTED_BACKENDS } from '../test/backends.js';
import { EncryptionKey } from './encryption-key.js';
import { AuthenticationFailedError, MalformedCiphertextError } from './errors.js';
import {
  loadNative,
  NATIVE_BINARY_URL,
  type NativeGcm,
  NativeOpenResult,
  nativeBinding,
  nativeMode,
} from './native.js';
import { scratch } from './scratch.js';

const PASSWORD = 'native-password-that-is-long-enough-for-aes256';
const nativeLoad = loadNative(NATIVE_BINARY_URL);
const nativeBuilt = 'binding' in nativeLoad;

describe('choosing the implementation', () => {
  it('has the native fast path built when ATTUNE_CRYPTO_NATIVE=required (as CI sets it)', () => {
    if (process.env.ATTUNE_CRYPTO_NATIVE !== 'required') return;
    expect(nativeLoad).toHaveProperty('binding');
    expect(TESTED_BACKENDS).toEqual(['native', 'node']);
    expect(EncryptionKey.fromPassword(PASSWORD).backend.name).toBe('native');
  });

  it('reads ATTUNE_CRYPTO_NATIVE, refusing values it does not know', () => {
    expect(nativeMode({})).toBe('auto');
    expect(nativeMode({ ATTUNE_CRYPTO_NATIVE: '' })).toBe('auto');
    expect(nativeMode({ ATTUNE_CRYPTO_NATIVE: 'auto' })).toBe('auto');
    expect(nativeMode({ ATTUNE_CRYPTO_NATIVE: 'required' })).toBe('required');
    expect(nativeMode({ ATTUNE_CRYPTO_NATIVE: 'off' })).toBe('off');
    expect(() => nativeMode({ ATTUNE_CRYPTO_NATIVE: 'yes' })).toThrow(
      /must be auto, required or off; it is 'yes'/,
    );
  });

  it('says why when the addon is missing or is not a loadable addon', () => {
    const missing = loadNative(new URL('file:///nonexistent/attune_gcm.node'));
    expect(missing).toEqual({ reason: 'native addon /nonexistent/attune_gcm.node: not built' });
    const bogus = join(mkdtempSync(join(tmpdir(), 'attune-native-')), 'attune_gcm.node');
    writeFileSync(bogus, 'not an ELF file');
    const broken = loadNative(pathToFileURL(bogus));
    expect('reason' in broken && broken.reason).toMatch(/attune_gcm\.node: .+/);
  });

  it('uses node:crypto under ATTUNE_CRYPTO_NATIVE=off, and the fast path by default when built', () => {
    const saved = process.env.ATTUNE_CRYPTO_NATIVE;
    try {
      process.env.ATTUNE_CRYPTO_NATIVE = 'off';
      expect(EncryptionKey.fromPassword(PASSWORD).backend).toEqual({
        name: 'node',
        openssl: `OpenSSL ${process.versions.openssl}`,
        reason: 'ATTUNE_CRYPTO_NATIVE=off',
      });
      delete process.env.ATTUNE_CRYPTO_NATIVE;
      expect(EncryptionKey.fromPassword(PASSWORD).backend.name).toBe(nativeBuilt ? 'native' : 'node');
    } finally {
      if (saved === undefined) delete process.env.ATTUNE_CRYPTO_NATIVE;
      else process.env.ATTUNE_CRYPTO_NATIVE = saved;
    }
  });

  it('fails clearly when the fast path is required and missing, and falls back when it is not required', () => {
    const missing = new URL('file:///nonexistent/attune_gcm.node');
    expect(() => nativeBinding({ ATTUNE_CRYPTO_NATIVE: 'required' }, missing)).toThrow(
      /ATTUNE_CRYPTO_NATIVE=required, but the native AES-GCM fast path is unavailable \(native addon \/nonexistent\/attune_gcm\.node: not built\)/,
    );
    expect(nativeBinding({}, missing)).toEqual({
      reason: 'native addon /nonexistent/attune_gcm.node: not built',
    });
    expect(() => nativeBinding({ ATTUNE_CRYPTO_NATIVE: 'sometimes' }, missing)).toThrow(
      /must be auto, required or off/,
    );
  });
});

describe.runIf(TESTED_BACKENDS.includes('native'))('the native fast path', () => {
  const native = 'binding' in nativeLoad ? nativeLoad.binding : (undefined as unknown as NativeGcm);
  const fast = () => EncryptionKey.fromPassword(PASSWORD, { backend: 'native' });
  const portable = () => EncryptionKey.fromPassword(PASSWORD, { backend: 'node' });

  it('reads what node:crypto writes and writes what node:crypto reads, in both formats', () => {
    const [a, b] = [fast(), portable()];
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 300 }),
        fc.option(fc.string({ unit: 'binary' })), // contexts with lone surrogates too: both encode them as U+FFFD
        (value, context) => {
          const options = context === null ? undefined : { context };
          expect(b.decrypt(a.encrypt(value, options), options)).toBe(value);
          expect(a.decrypt(b.encrypt(value, options), options)).toBe(value);
        },
      ),
      { numRuns: 300 },
    );
    // A lone surrogate in a context is encoded as U+FFFD by both, as Buffer.from does.
    expect(b.decrypt(a.encrypt('v', { context: '\ud800' }), { context: '\ufffd' })).toBe('v');
    expect(a.decrypt(b.encrypt('v', { context: '\ud800' }), { context: '\ufffd' })).toBe('v');
  });

  it('writes byte-for-byte what node:crypto writes for the same nonce, at every length around the block size', () => {
    const [a, b] = [fast(), portable()];
    const nonce = Buffer.from('000102030405060708090a0b', 'hex');
    for (let length = 0; length <= 70; length++) {
      const value = 'é'.repeat(length >> 1) + 'x'.repeat(length & 1);
      expect(a.sealWithNonce(nonce, value, undefined)).toBe(b.sealWithNonce(nonce, value, undefined));
      expect(a.sealWithNonce(nonce, value, `ctx.${length}`)).toBe(
        b.sealWithNonce(nonce, value, `ctx.${length}`),
      );
    }
  });

  it('agrees with node:crypto on both sides of the length where it stops parsing in C', () => {
    const [a, b] = [fast(), portable()];
    // 2048 characters of ciphertext text hold 1508 bytes of plaintext (seed format), 1506 with "v1:".
    for (let length = 1490; length <= 1530; length++) {
      for (const options of [undefined, { context: 'pack.long' }]) {
        const value = 'q'.repeat(length);
        const fromNode = b.encrypt(value, options);
        expect(a.decrypt(fromNode, options)).toBe(value);
        expect(b.decrypt(a.encrypt(value, options), options)).toBe(value);
        // A character inside a full group (a trailing one before '=' may carry only discarded bits).
        const at = fromNode.length - 40;
        const tampered = `${fromNode.slice(0, at)}${fromNode[at] === 'A' ? 'B' : 'A'}${fromNode.slice(at + 1)}`;
        expect(() => a.decrypt(tampered, options)).toThrow(AuthenticationFailedError);
        expect(() => a.decrypt(`${fromNode} `, options)).toThrow(MalformedCiphertextError);
      }
    }
  });

  it('matches an AES-256-GCM computed directly with node:crypto', () => {
    const raw = createHash('sha256').update(PASSWORD).digest();
    const nonce = Buffer.alloc(12, 9);
    const cipher = createCipheriv('aes-256-gcm', raw, nonce);
    cipher.setAAD(Buffer.from('attune:v1:pack.token'));
    const body = Buffer.concat([cipher.update('direct'), cipher.final(), cipher.getAuthTag()]);
    const expected = `v1:${nonce.toString('base64')}:${body.toString('base64')}`;
    expect(fast().sealWithNonce(nonce, 'direct', 'pack.token')).toBe(expected);
    expect(fast().decrypt(expected, { context: 'pack.token' })).toBe('direct');
  });

  it('leaves no plaintext in the reused buffers after encrypt, decrypt or a failed decrypt', () => {
    const key = fast();
    const secret = 'plaintext-that-must-not-linger-0123456789';
    const needle = Buffer.from(secret);
    const lingering = () => scratch.input.includes(needle) || scratch.output.includes(needle);
    const ciphertext = key.encrypt(secret, { context: 'pack.secret' });
    expect(lingering()).toBe(false);
    expect(key.decrypt(ciphertext, { context: 'pack.secret' })).toBe(secret);
    expect(lingering()).toBe(false);
    expect(key.decryptToBytes(ciphertext, { context: 'pack.secret' }).equals(needle)).toBe(true);
    expect(lingering()).toBe(false);
    expect(() => key.decrypt(ciphertext, { context: 'pack.other' })).toThrow();
    expect(lingering()).toBe(false);
  });

  it('refuses a key that is not 32 bytes, and arguments that are not what it expects', () => {
    expect(() => native.createKey(Buffer.alloc(16))).toThrow(/32-byte/);
    expect(() => native.createKey('x'.repeat(32) as unknown as Uint8Array)).toThrow(/32-byte/);
    const handle = native.createKey(Buffer.alloc(32, 1));
    const input = Buffer.alloc(64);
    const output = Buffer.alloc(64);
    /** A call with usable arguments but for the ones given (undefined keeps the usable one). */
    const call =
      (fn: (...a: unknown[]) => unknown, usable: unknown[]) =>
      (...overrides: unknown[]) =>
      () => {
        const args = [...usable];
        overrides.forEach((value, index) => {
          if (value !== undefined) args[index] = value;
        });
        return fn(...args);
      };
    const seal = call(native.seal as (...a: unknown[]) => unknown, [handle, input, 0, 12, 4, 16, 8, output]);
    expect(seal()).not.toThrow();
    expect(seal({})).toThrow(/bad arguments: not a key handle/);
    expect(seal(Buffer.alloc(32))).toThrow(/bad arguments: not a key handle/);
    expect(seal(undefined, 'text')).toThrow(/bad arguments: input and output/);
    expect(seal(undefined, undefined, -1)).toThrow(/bad arguments: offsets/);
    expect(seal(undefined, undefined, 1.5)).toThrow(/bad arguments: offsets/);
    expect(seal(undefined, undefined, 2 ** 32)).toThrow(/bad arguments: offsets/);
    expect(seal(undefined, undefined, 53)).toThrow(/out-of-bounds: nonce/);
    expect(seal(undefined, undefined, undefined, 12, 53)).toThrow(/out-of-bounds: plaintext/);
    expect(seal(undefined, undefined, undefined, 12, 0xffffffff)).toThrow(/out-of-bounds: plaintext/);
    expect(seal(undefined, undefined, undefined, undefined, undefined, 60, 8)).toThrow(
      /out-of-bounds: associated/,
    );
    expect(seal(undefined, undefined, undefined, 12, 49)).toThrow(/out-of-bounds: output too small/);
    expect(seal(undefined, undefined, undefined, 0, 4, 0, 0, Buffer.alloc(19))).toThrow(/output too small/);

    const open = call(native.open as (...a: unknown[]) => unknown, [handle, input, 0, 12, 4, 32, 8, output]);
    expect(open()()).toBe(false); // zeros are not a valid ciphertext
    expect(open({})).toThrow(/bad arguments: not a key handle/);
    expect(open(undefined, undefined, 53)).toThrow(/out-of-bounds: nonce/);
    expect(open(undefined, undefined, undefined, 12, 37)).toThrow(/out-of-bounds: ciphertext and tag/);
    expect(open(undefined, undefined, undefined, 12, 0xffffffff)).toThrow(
      /out-of-bounds: ciphertext and tag/,
    );
    expect(open(undefined, undefined, undefined, undefined, undefined, 60, 8)).toThrow(
      /out-of-bounds: associated/,
    );
    expect(open(undefined, undefined, undefined, undefined, 8, 0, 0, Buffer.alloc(7))).toThrow(
      /output too small/,
    );

    const text = EncryptionKey.fromPassword(PASSWORD, { backend: 'node' }).encrypt('abcd');
    const openText = call(native.openText as (...a: unknown[]) => unknown, [handle, text, 0, null, output]);
    expect(openText()).not.toThrow();
    expect(openText()()).toBe(NativeOpenResult.AuthenticationFailed); // another key wrote it
    expect(openText({})).toThrow(/bad arguments: not a key handle/);
    expect(openText(undefined, Buffer.from(text))).toThrow(/text must be a string/);
    expect(openText(undefined, undefined, undefined, 42)).toThrow(/aad a string or null/);
    expect(openText(undefined, undefined, -3)).toThrow(/bad arguments: start/);
    expect(openText(undefined, undefined, undefined, undefined, [0, 0])).toThrow(
      /output must be a Uint8Array/,
    );
    expect(openText(undefined, undefined, text.length + 1)()).toBe(NativeOpenResult.Malformed);
    expect(openText(undefined, undefined, undefined, undefined, Buffer.alloc(3))()).toBe(
      NativeOpenResult.OutputTooSmall,
    );
  });

  it('accepts exactly the strings the JavaScript parser accepts, with the same errors (differential fuzz)', () => {
    const [a, b] = [fast(), portable()];
    const outcome = (key: EncryptionKey, text: string, context: string | undefined) => {
      try {
        return {
          value: key.decryptToBytes(text, context === undefined ? undefined : { context }).toString('hex'),
        };
      } catch (error) {
        const e = error as MalformedCiphertextError;
        return { error: e.constructor.name, reason: e.reason, part: e.part };
      }
    };
    const pieces = [
      'A',
      'z',
      '0',
      '+',
      '/',
      '=',
      '==',
      ':',
      '-',
      '_',
      ' ',
      '\n',
      'é',
      '😀',
      '\ud800',
      'v1:',
      'v2:',
    ];
    const mutation = fc.record({
      at: fc.nat(),
      remove: fc.nat({ max: 3 }),
      insert: fc.array(fc.constantFrom(...pieces), { maxLength: 3 }),
    });
    const arbitraryText = fc.oneof(
      fc
        .tuple(
          fc.string({ maxLength: 40 }),
          fc.option(fc.string({ maxLength: 8 })),
          fc.array(mutation, { maxLength: 3 }),
        )
        .map(([value, context, mutations]) => {
          let text = b.encrypt(value, context === null ? undefined : { context });
          for (const m of mutations) {
            const at = m.at % (text.length + 1);
            text = text.slice(0, at) + m.insert.join('') + text.slice(at + m.remove);
          }
          return { text, context: context ?? undefined };
        }),
      fc.record({
        text: fc.array(fc.constantFrom(...pieces), { maxLength: 40 }).map((p) => p.join('')),
        context: fc.option(fc.constantFrom('', 'ctx'), { nil: undefined }),
      }),
    );
    let accepted = 0;
    fc.assert(
      fc.property(arbitraryText, ({ text, context }) => {
        const native = outcome(a, text, context);
        expect(native).toEqual(outcome(b, text, context));
        if ('value' in native) accepted++;
      }),
      { numRuns: 3000 },
    );
    expect(accepted).toBeGreaterThan(100); // the generator also reaches values that decrypt
  });

  it('keeps working for many keys made and dropped', () => {
    for (let i = 0; i < 2000; i++) {
      const key = EncryptionKey.fromPassword(`${PASSWORD}-${i}`, { backend: 'native' });
      expect(key.decrypt(key.encrypt(`v${i}`))).toBe(`v${i}`);
    }
  });
});
