import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EncryptionKey } from '../src/encryption-key.js';
import { TESTED_BACKENDS } from './backends.js';

/** Vectors written by python `cryptography` (an independent AES-GCM implementation); see make-vectors.py. */
interface Vector {
  password: string;
  keyHex: string;
  keyHash: string;
  plaintext: string;
  nonceHex: string;
  seed: string;
  context: string;
  v1: string;
}
const { vectors } = JSON.parse(readFileSync(new URL('./vectors/vectors.json', import.meta.url), 'utf8')) as {
  vectors: Vector[];
};

describe.each(TESTED_BACKENDS)('fixed vectors from python cryptography, %s backend', (backend) => {
  it('has vectors for every kind of input', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(21);
    expect(vectors.some((v) => v.plaintext === '')).toBe(true);
    expect(vectors.some((v) => [...v.plaintext].some((c) => (c.codePointAt(0) ?? 0) > 0xffff))).toBe(true);
  });

  it('decrypts values written by the independent implementation (seed and v1)', () => {
    for (const v of vectors) {
      const key = EncryptionKey.fromPassword(v.password, { backend });
      expect(key.keyHash).toBe(v.keyHash);
      expect(key.decrypt(v.seed)).toBe(v.plaintext);
      expect(key.decrypt(v.v1, { context: v.context })).toBe(v.plaintext);
    }
  });

  it('writes byte-for-byte the same strings for the same nonce', () => {
    for (const v of vectors) {
      const key = EncryptionKey.fromPassword(v.password, { backend });
      const nonce = Buffer.from(v.nonceHex, 'hex');
      expect(key.sealWithNonce(nonce, v.plaintext, undefined)).toBe(v.seed);
      expect(key.sealWithNonce(nonce, v.plaintext, v.context)).toBe(v.v1);
    }
  });
});

const pythonHasCryptography =
  spawnSync('python3', ['-c', 'import cryptography.hazmat.primitives.ciphers.aead'], { stdio: 'ignore' })
    .status === 0;

describe.runIf(pythonHasCryptography).each(TESTED_BACKENDS)(
  'live interop with python cryptography, %s backend',
  (backend) => {
    it('python decrypts values we encrypt with fresh random nonces', () => {
      const password = 'interop-password-interop-password-123';
      const key = EncryptionKey.fromPassword(password, { backend });
      const items = ['sk_live_abc123', '', '🔐 ünïcødé', 'y'.repeat(5000)].map((plaintext, i) => ({
        plaintext,
        seed: key.encrypt(plaintext),
        context: `pack.key_${i}`,
        v1: key.encrypt(plaintext, { context: `pack.key_${i}` }),
      }));
      const script = `
import base64, hashlib, json, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
req = json.load(sys.stdin)
aes = AESGCM(hashlib.sha256(req["password"].encode()).digest())
def open_(s, aad):
    n, c = s.split(":")
    return aes.decrypt(base64.b64decode(n, validate=True), base64.b64decode(c, validate=True), aad).decode()
out = []
for it in req["items"]:
    out.append([open_(it["seed"], None), open_(it["v1"][3:], ("attune:v1:" + it["context"]).encode())])
json.dump(out, sys.stdout)
`;
      // The password goes over stdin, never argv.
      const result = spawnSync('python3', ['-c', script], {
        input: JSON.stringify({ password, items }),
        encoding: 'utf8',
      });
      expect(result.stderr).toBe('');
      expect(JSON.parse(result.stdout)).toEqual(items.map((i) => [i.plaintext, i.plaintext]));
    });
  },
);
