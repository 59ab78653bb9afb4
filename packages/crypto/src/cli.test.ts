import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from './cli.js';
import { EncryptionKey } from './encryption-key.js';

const PASSWORD = 'cli-test-password-cli-test-password-cli';

async function run(argv: string[], input = '', env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdin: Readable.from([Buffer.from(input)]),
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env,
  });
  return { code, stdout, stderr };
}

describe('attune-crypto', () => {
  const env = { ATTUNE__SECURITY__ENCRYPTION_KEY: PASSWORD };

  it('keygen prints a fresh password that is accepted as a key', async () => {
    const a = await run(['keygen']);
    const b = await run(['keygen']);
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
    expect(a.stdout).not.toBe(b.stdout);
    expect(() => EncryptionKey.fromPassword(a.stdout.trim())).not.toThrow();
  });

  it('hash prints the key hash of the configured key', async () => {
    const { code, stdout } = await run(['hash'], '', env);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(EncryptionKey.fromPassword(PASSWORD).keyHash);
  });

  it('encrypts stdin and decrypts it back, dropping one trailing newline', async () => {
    const encrypted = await run(['encrypt'], 'sk_live_abc123\n', env);
    expect(encrypted.code).toBe(0);
    expect(encrypted.stdout).not.toContain('sk_live_abc123');
    const decrypted = await run(['decrypt'], encrypted.stdout, env);
    expect(decrypted).toEqual({ code: 0, stdout: 'sk_live_abc123', stderr: '' });
    const raw = await run(['encrypt', '--raw'], 'keep\n', env);
    expect((await run(['decrypt'], raw.stdout, env)).stdout).toBe('keep\n');
  });

  it('binds to a context with --context', async () => {
    const encrypted = await run(['encrypt', '--context', 'mypack.api_key'], 'v', env);
    expect(encrypted.stdout.startsWith('v1:')).toBe(true);
    expect((await run(['decrypt', '--context=mypack.api_key'], encrypted.stdout, env)).stdout).toBe('v');
    const wrong = await run(['decrypt', '--context', 'other.api_key'], encrypted.stdout, env);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('ATTUNE_CRYPTO_AUTHENTICATION_FAILED');
  });

  it('says clearly when the key is missing or short, and never echoes it', async () => {
    const missing = await run(['encrypt'], 'x');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('ATTUNE__SECURITY__ENCRYPTION_KEY');
    const short = await run(['hash'], '', { ATTUNE__SECURITY__ENCRYPTION_KEY: 'tooshort-secret' });
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('15 characters long; at least 32');
    expect(short.stderr).not.toContain('tooshort-secret');
  });

  it('refuses values in argv and unknown commands', async () => {
    const argv = await run(['encrypt', 'argv-secret-xyz'], '', env);
    expect(argv.code).toBe(2);
    expect(argv.stderr).toContain('read from stdin');
    expect(argv.stderr).not.toContain('argv-secret-xyz');
    expect((await run(['frobnicate'])).code).toBe(2);
    expect((await run([])).code).toBe(2);
    expect((await run(['--help'])).stdout).toContain('Usage: attune-crypto');
  });

  it('reports malformed input with its reason', async () => {
    const bad = await run(['decrypt'], 'not a ciphertext', env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("no ':' separator");
  });
});
