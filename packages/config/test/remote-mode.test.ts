/**
 * The CLI's remote mode: where the API and its token come from, and the token file kept by `attune login`.
 */
import { chmodSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliConfigOf, loadConfig, writeTokenFile } from '../src/index.js';
import { failure, removeTempDirs, TOKEN, tempDir } from './support.js';

afterAll(removeTempDirs);

describe('remote mode of the CLI', () => {
  it('takes the API from ATTUNE_API_URL (or cli.api_url) and the token from ATTUNE_TOKEN only', () => {
    const remote = cliConfigOf(
      loadConfig({ env: { ATTUNE_API_URL: 'http://127.0.0.1:8080/', ATTUNE_TOKEN: TOKEN } }),
    ).remote;
    expect(remote?.apiUrl).toBe('http://127.0.0.1:8080');
    expect(remote?.token()).toBe(TOKEN);
    expect(cliConfigOf(loadConfig({ env: {} })).remote).toBeUndefined();
    expect(() => loadConfig({ env: { ATTUNE_API_URL: 'ftp://x' } })).toThrow(/cli\.api_url: must be an http/);
    expect(() => loadConfig({ env: { ATTUNE_API_URL: 'http://u:p@x' } })).toThrow(
      /must not hold credentials/,
    );
    expect(() => loadConfig({ env: { ATTUNE_API_URL: 'not a url' } })).toThrow(/is not a URL/);
    // Clear text only to loopback.
    expect(() => loadConfig({ env: { ATTUNE_API_URL: 'http://attune.example.com' } })).toThrow(
      'Configuration cli.api_url: must be https:// for attune.example.com',
    );
    for (const url of ['https://attune.example.com', 'http://localhost:8080', 'http://[::1]:8080'])
      expect(cliConfigOf(loadConfig({ env: { ATTUNE_API_URL: url } })).remote?.apiUrl).toBe(url);
    // A token that could break a header (or a terminal) is refused, never shown.
    const bad = failure(() =>
      loadConfig({ env: { ATTUNE_API_URL: 'https://a.example', ATTUNE_TOKEN: `${TOKEN}\nsecond-line` } }),
    );
    expect(bad.message).toContain('ATTUNE_TOKEN is not an Attune API token');
    expect(bad.message).not.toContain(TOKEN);
  });

  it('uses the token attune login kept only for the API it was kept for, from a private file', () => {
    const home = tempDir();
    const env = { XDG_CONFIG_HOME: home, ATTUNE_API_URL: 'https://a.example' };
    const path = writeTokenFile(env, 'https://a.example', TOKEN);
    expect(path).toBe(join(home, 'attune', 'token'));
    expect(cliConfigOf(loadConfig({ env })).remote?.token()).toBe(TOKEN);
    // ATTUNE_TOKEN wins.
    const other = `${TOKEN}x`;
    expect(cliConfigOf(loadConfig({ env: { ...env, ATTUNE_TOKEN: other } })).remote?.token()).toBe(other);
    // Another API never receives it.
    const elsewhere = failure(() =>
      cliConfigOf(loadConfig({ env: { ...env, ATTUNE_API_URL: 'https://b.example' } })).remote?.token(),
    );
    expect(elsewhere.message).toContain(
      'the token attune login kept is for https://a.example, not https://b.example: it is never sent to another API',
    );
    // Readable by others: refused.
    chmodSync(path, 0o644);
    expect(failure(() => cliConfigOf(loadConfig({ env })).remote?.token()).message).toContain(
      'others could read or change it',
    );
    chmodSync(path, 0o600);
    // A folder others may write: refused (they could swap the file).
    chmodSync(join(home, 'attune'), 0o777);
    expect(failure(() => cliConfigOf(loadConfig({ env })).remote?.token()).message).toContain(
      'is not a folder of yours that only you may write',
    );
    chmodSync(join(home, 'attune'), 0o700);
    // A link (to another secret file, say) is never followed.
    const secret = join(home, 'master.key');
    writeFileSync(secret, 'a-master-key-0123456789abcdef', { mode: 0o600 });
    rmSync(path);
    symlinkSync(secret, path);
    const linked = failure(() => cliConfigOf(loadConfig({ env })).remote?.token());
    expect(linked.message).toContain('is a link');
    expect(linked.message).not.toContain('a-master-key');
    rmSync(path);
    // Not a kept token (an older format, or anything else): refused, not sent.
    writeFileSync(path, `${TOKEN}\n`, { mode: 0o600 });
    expect(failure(() => cliConfigOf(loadConfig({ env })).remote?.token()).message).toContain(
      'does not hold a token attune login kept',
    );
    rmSync(path);
    expect(cliConfigOf(loadConfig({ env })).remote?.token()).toBeUndefined();
    expect(() => writeTokenFile(env, 'https://a.example', 'not-a-token')).toThrow(
      'is not an Attune API token',
    );
  });
});
