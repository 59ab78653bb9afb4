/**
 * `pnpm bench` for @attune/crypto: our string-format encrypt/decrypt rates beside OpenSSL's own AES-256-GCM rate for
 * the same size, measured in the same run, as ratios. Not a test: it prints, it does not assert.
 * Runs against the built package (dist), as an app would load it.
 */
import { spawnSync } from 'node:child_process';
import { createCipheriv, createDecipheriv, createHash, createSecretKey, randomBytes } from 'node:crypto';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { EncryptionKey } from '@attune/crypto';

const SIZES = [16, 64, 1024, 16384];
const RUN_MS = 600;
const PASSWORD = 'benchmark-password-benchmark-password-0123';
/** The key as an app gets it: the native fast path when built (ATTUNE_CRYPTO_NATIVE decides). */
const key = EncryptionKey.fromPassword(PASSWORD);
/** The same key on node:crypto, printed beside it for comparison. */
const portableKey = EncryptionKey.fromPassword(PASSWORD, { backend: 'node' });

function opsPerSecond(fn: (i: number) => void): number {
  for (let i = 0; i < 5000; i++) fn(i); // warm-up: let V8 optimise before timing
  let ops = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(RUN_MS) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 256; i++) fn(ops + i);
    ops += 256;
    now = process.hrtime.bigint();
  }
  return ops / (Number(now - start) / 1e9);
}

function opensslOpsPerSecond(bytes: number, decrypt: boolean): number | undefined {
  const args = ['speed', '-mr', '-seconds', '1', '-aead', '-evp', 'aes-256-gcm', '-bytes', String(bytes)];
  if (decrypt) args.splice(1, 0, '-decrypt');
  const result = spawnSync('openssl', args, { encoding: 'utf8' });
  const line = `${result.stdout}\n${result.stderr}`.split('\n').find((l) => l.startsWith('+R:'));
  if (!line) return undefined;
  const [, count, , seconds] = line.split(':');
  return Number(count) / Number(seconds);
}

/** The straightforward implementation: a randomBytes call per value, concat, allocating base64 decode. */
function plainEncrypt(rawKey: Buffer, plaintext: string): string {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', rawKey, nonce);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${nonce.toString('base64')}:${body.toString('base64')}`;
}
function plainDecrypt(rawKey: Buffer, ciphertext: string): string {
  const [n, b] = ciphertext.split(':') as [string, string];
  const body = Buffer.from(b, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', rawKey, Buffer.from(n, 'base64'));
  decipher.setAuthTag(body.subarray(body.length - 16));
  return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString(
    'utf8',
  );
}

/**
 * Node's own floor for one GCM decryption: createDecipheriv, setAuthTag, update, final on bytes decoded in advance.
 * Every Node implementation pays this per value; OpenSSL's loop reuses one context and pays none of it.
 */
function nodeFloorDecryptRate(rawKeyBytes: Buffer, ciphertexts: string[]): number {
  const decoded = ciphertexts.map((c) => {
    const [n, b] = c.split(':') as [string, string];
    const body = Buffer.from(b, 'base64');
    return {
      nonce: Buffer.from(n, 'base64'),
      data: body.subarray(0, body.length - 16),
      tag: body.subarray(body.length - 16),
    };
  });
  const keyObject = createSecretKey(rawKeyBytes);
  return opsPerSecond((i) => {
    const d = decoded[i & 255] as (typeof decoded)[number];
    const decipher = createDecipheriv('aes-256-gcm', keyObject, d.nonce, { authTagLength: 16 });
    decipher.setAuthTag(d.tag);
    decipher.update(d.data);
    decipher.final();
  });
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits });
const ratio = (a: number, b: number | undefined) => (b ? `${(a / b).toFixed(3)}×` : 'n/a');
const mark = (ok: boolean) => (ok ? 'met' : 'MISSED');

const rawKey = createHash('sha256').update('benchmark-password-benchmark-password-0123').digest();
const rows: string[][] = [];
const portableRows: string[][] = [];
const verdicts: string[] = [];
for (const size of SIZES) {
  const plaintext = 'x'.repeat(size);
  const pool = Array.from({ length: 256 }, () => key.encrypt(plaintext));
  const encRate = opsPerSecond(() => key.encrypt(plaintext));
  const decRate = opsPerSecond((i) => key.decrypt(pool[i & 255] as string));
  const portableEncRate = opsPerSecond(() => portableKey.encrypt(plaintext));
  const portableDecRate = opsPerSecond((i) => portableKey.decrypt(pool[i & 255] as string));
  const plainEncRate = opsPerSecond(() => plainEncrypt(rawKey, plaintext));
  const plainDecRate = opsPerSecond((i) => plainDecrypt(rawKey, pool[i & 255] as string));
  const floorRate = nodeFloorDecryptRate(rawKey, pool);
  const sslEnc = opensslOpsPerSecond(size, false);
  const sslDec = opensslOpsPerSecond(size, true);
  rows.push([
    `${size} B`,
    fmt(encRate),
    ratio(encRate, sslEnc),
    ratio(encRate, plainEncRate),
    fmt(decRate),
    ratio(decRate, sslDec),
    ratio(decRate, plainDecRate),
    ratio(decRate, floorRate),
    sslEnc ? fmt(sslEnc) : 'n/a',
    sslDec ? fmt(sslDec) : 'n/a',
  ]);
  portableRows.push([
    `${size} B`,
    fmt(portableEncRate),
    ratio(portableEncRate, sslEnc),
    fmt(portableDecRate),
    ratio(portableDecRate, sslDec),
    ratio(portableDecRate, floorRate),
  ]);
  if (size <= 1024 && sslDec) {
    verdicts.push(
      `decrypt ≥ 0.12× OpenSSL at ${size} B: ${(decRate / sslDec).toFixed(3)}× ${mark(decRate / sslDec >= 0.12)}`,
    );
  }
  verdicts.push(
    `encrypt faster than a randomBytes(12) call per value at ${size} B: ${(encRate / plainEncRate).toFixed(2)}× ` +
      mark(encRate > plainEncRate),
  );
}

const header = [
  'size',
  'enc ops/s',
  'vs OpenSSL',
  'vs plain',
  'dec ops/s',
  'vs OpenSSL -decrypt',
  'vs plain',
  'vs Node floor',
  'OpenSSL enc',
  'OpenSSL dec',
];
function table(head: string[], body: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i] as number)).join('  ');
  return [line(head), ...body.map(line)];
}
const backend = key.backend.name === 'native' ? `native fast path, ${key.backend.openssl}` : 'node:crypto';
const out: string[] = [];
out.push('@attune/crypto — string formats vs `openssl speed -aead -evp aes-256-gcm -bytes N` (same run)');
out.push(`backend: ${backend}${key.backend.reason ? ` (${key.backend.reason})` : ''}`);
out.push(...table(header, rows));
out.push('', 'the same on the node:crypto backend (the fallback when the fast path is not built):');
out.push(
  ...table(
    ['size', 'enc ops/s', 'vs OpenSSL', 'dec ops/s', 'vs OpenSSL -decrypt', 'vs Node floor'],
    portableRows,
  ),
);

// Decrypt and merge the secrets of one action: 10 system, 10 pack, 10 action values, 5 names overridden per level.
const levels = ['system', 'pack', 'action'].map((level) =>
  Array.from({ length: 10 }, (_, i) => ({
    name: i < 5 ? `shared_${i}` : `${level}_${i}`,
    ciphertext: key.encrypt(`${level}-value-${i}-`.padEnd(40, 'v'), { context: `${level}.name_${i}` }),
    context: `${level}.name_${i}`,
  })),
);
const rowsInOrder = levels.flat();
const samples: number[] = [];
for (let iteration = 0; iteration < 20_000; iteration++) {
  const start = process.hrtime.bigint();
  const merged = new Map<string, string>();
  for (const r of rowsInOrder) merged.set(r.name, key.decrypt(r.ciphertext, { context: r.context }));
  if (merged.size !== 20) throw new Error('merge is wrong');
  if (iteration >= 2_000) samples.push(Number(process.hrtime.bigint() - start) / 1000);
}
samples.sort((a, b) => a - b);
const p50 = samples[Math.floor(samples.length * 0.5)] as number;
const p99 = samples[Math.floor(samples.length * 0.99)] as number;
out.push('', `decrypt + merge 30 values (v1, 40 B): p50 ${p50.toFixed(1)} µs, p99 ${p99.toFixed(1)} µs`);
verdicts.push(`decrypt + merge 30 values ≤ 150 µs (p50): ${mark(p50 <= 150)}`);

// Key derivations on the decrypt path, counted by wrapping node:crypto's hash and HMAC constructors.
const cryptoCjs = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
let derivations = 0;
const originalHash = cryptoCjs.createHash;
const originalHmac = cryptoCjs.createHmac;
cryptoCjs.createHash = ((...args: Parameters<typeof createHash>) => {
  derivations++;
  return originalHash(...args);
}) as typeof createHash;
cryptoCjs.createHmac = ((...args: Parameters<typeof cryptoCjs.createHmac>) => {
  derivations++;
  return originalHmac(...args);
}) as typeof cryptoCjs.createHmac;
syncBuiltinESMExports();
for (const r of rowsInOrder) key.decrypt(r.ciphertext, { context: r.context });
cryptoCjs.createHash = originalHash;
cryptoCjs.createHmac = originalHmac;
syncBuiltinESMExports();
out.push(`hash/HMAC calls (key derivations) while decrypting 30 values: ${derivations}`);
verdicts.push(`zero key derivations on the decrypt path: ${mark(derivations === 0)}`);

out.push('', 'targets:', ...verdicts.map((v) => `  ${v}`));
process.stdout.write(`${out.join('\n')}\n`);
