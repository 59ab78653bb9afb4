import { createCipheriv, createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TESTED_BACKENDS } from '../test/backends.js';
import { EncryptionKey } from './encryption-key.js';
import { loadNative, NATIVE_BINARY_URL, type NativeGcm, nativeBinding, nativeMode } from './native.js';
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

describe.runIf(nativeBuilt)('the native fast path', () => {
  const native = nativeBuilt ? nativeLoad.binding : (undefined as unknown as NativeGcm);
  const fast = () => EncryptionKey.fromPassword(PASSWORD, { backend: 'native' });
  const portable = () => EncryptionKey.fromPassword(PASSWORD, { backend: 'node' });

  it('reads what node:crypto writes and writes what node:crypto reads, in both formats', () => {
    const [a, b] = [fast(), portable()];
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 300 }),
        fc.option(fc.string()),
        (value, context) => {
          const options = context === null ? undefined : { context };
          expect(b.decrypt(a.encrypt(value, options), options)).toBe(value);
          expect(a.decrypt(b.encrypt(value, options), options)).toBe(value);
        },
      ),
      { numRuns: 300 },
    );
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
    /** open() with the usable arguments, but for the ones given (undefined keeps the usable one). */
    const call =
      (...overrides: unknown[]) =>
      () => {
        const args: unknown[] = [handle, input, 0, 12, 4, 0, 0, output];
        overrides.forEach((value, index) => {
          if (value !== undefined) args[index] = value;
        });
        return (native.open as (...a: unknown[]) => boolean)(...args);
      };
    expect(call()).not.toThrow();
    expect(call({})).toThrow(/bad arguments/); // not a key handle
    expect(call(Buffer.alloc(32))).toThrow(/bad arguments/);
    expect(call(undefined, 'text')).toThrow(/bad arguments/);
    expect(call(undefined, undefined, -1)).toThrow(/bad arguments/);
    expect(call(undefined, undefined, 1.5)).toThrow(/bad arguments/);
    expect(call(undefined, undefined, 60)).toThrow(/out-of-bounds/); // nonce past the end
    expect(call(undefined, undefined, undefined, 12, 40)).toThrow(/out-of-bounds/); // tag past the end
    expect(call(undefined, undefined, undefined, undefined, 0xffffffff)).toThrow(/out-of-bounds/);
    expect(call(undefined, undefined, undefined, undefined, undefined, 60, 8)).toThrow(/out-of-bounds/);
    expect(call(undefined, undefined, undefined, undefined, 40, 0, 0, Buffer.alloc(8))).toThrow(
      /out-of-bounds/,
    );
    expect(() => (native.seal as (...a: unknown[]) => void)(handle, input, 0, 12, 60, 0, 0, output)).toThrow(
      /out-of-bounds/,
    );
    expect(() => (native.seal as (...a: unknown[]) => void)(handle, input, 0, 12, 49, 0, 0, output)).toThrow(
      /out-of-bounds/,
    ); // output one byte short of ciphertext ‖ tag
  });

  it('keeps working for many keys made and dropped', () => {
    for (let i = 0; i < 2000; i++) {
      const key = EncryptionKey.fromPassword(`${PASSWORD}-${i}`, { backend: 'native' });
      expect(key.decrypt(key.encrypt(`v${i}`))).toBe(`v${i}`);
    }
  });
});
