import { describe, expect, it } from 'vitest';
import { ciphertextFormat, EncryptionKey } from './encryption-key.js';
import {
  envelopeDataKey,
  generateKeyBytes,
  openEnvelope,
  sealEnvelope,
  unwrapDataKey,
  wrapDataKey,
} from './envelope.js';
import { AuthenticationFailedError, MalformedCiphertextError } from './errors.js';

const master = EncryptionKey.fromPassword('envelope-test-master-password-0123456789');
const other = EncryptionKey.fromPassword('envelope-test-other-master-password-0123');

describe('envelope encryption', () => {
  it('wraps a data key under a master key, bound to its id and version', async () => {
    const raw = generateKeyBytes();
    const wrapped = wrapDataKey(master, raw, { id: 7, version: 2 });
    expect(wrapped.startsWith('v1:')).toBe(true);
    expect(wrapped).not.toContain(raw.toString('base64'));
    const key = unwrapDataKey(master, wrapped, { id: 7, version: 2 });
    expect(key.keyHash).toBe(EncryptionKey.fromBytes(raw).keyHash);
    expect(() => unwrapDataKey(other, wrapped, { id: 7, version: 2 })).toThrow(AuthenticationFailedError);
    expect(() => unwrapDataKey(master, wrapped, { id: 8, version: 2 })).toThrow(AuthenticationFailedError);
    expect(() => unwrapDataKey(master, wrapped, { id: 7, version: 3 })).toThrow(AuthenticationFailedError);
    expect(() => EncryptionKey.fromBytes(raw.subarray(0, 31))).toThrow(RangeError);
  });

  it('seals values as e1:<id>.<version>:…, bound to the header and the ref', async () => {
    const dataKey = EncryptionKey.fromBytes(generateKeyBytes());
    const sealed = sealEnvelope(dataKey, { id: 12, version: 3 }, 'sk_live_abc123', 'mypack.api_key');
    expect(sealed).toMatch(/^e1:12\.3:[A-Za-z0-9+/]{16}:[A-Za-z0-9+/=]+$/);
    expect(ciphertextFormat(sealed)).toBe('e1');
    expect(envelopeDataKey(sealed)).toEqual({ id: 12, version: 3, headerLength: 8 });
    expect(envelopeDataKey('v1:AAAA:BBBB')).toBeNull();
    expect(openEnvelope(dataKey, sealed, 'mypack.api_key')).toBe('sk_live_abc123');
    // Another row, another data key named in the header, another data key: none decrypts.
    expect(() => openEnvelope(dataKey, sealed, 'mypack.other')).toThrow(AuthenticationFailedError);
    expect(() => openEnvelope(dataKey, sealed.replace('e1:12.3:', 'e1:13.3:'), 'mypack.api_key')).toThrow(
      AuthenticationFailedError,
    );
    expect(() => openEnvelope(dataKey, sealed.replace('e1:12.3:', 'e1:12.4:'), 'mypack.api_key')).toThrow(
      AuthenticationFailedError,
    );
    expect(() => openEnvelope(EncryptionKey.fromBytes(generateKeyBytes()), sealed, 'mypack.api_key')).toThrow(
      AuthenticationFailedError,
    );
    // Relabelled as a plain v1 value under the ref, the body does not authenticate either.
    expect(() =>
      dataKey.decrypt(`v1:${sealed.slice('e1:12.3:'.length)}`, { context: 'mypack.api_key' }),
    ).toThrow(AuthenticationFailedError);
    expect(() => openEnvelope(dataKey, 'e1:x:AAAA', 'r')).toThrow(MalformedCiphertextError);
    // Every byte flipped fails.
    for (let i = 'e1:12.3:'.length; i < sealed.length; i++) {
      const c = sealed[i] === 'A' ? 'B' : 'A';
      const tampered = sealed.slice(0, i) + c + sealed.slice(i + 1);
      if (tampered === sealed) continue;
      expect(() => openEnvelope(dataKey, tampered, 'mypack.api_key')).toThrow();
    }
  });
});
