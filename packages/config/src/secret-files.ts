import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from './errors.js';

/**
 * Reads `security.encryption_key_file`: the key is the file's content without its final line break. The file must
 * be a regular file that neither group nor others can read or write (like ssh's private keys), so that no other
 * account on the host — in particular the identity actions run as — can read it.
 */
export function readKeyFile(
  path: string,
  key = 'security.encryption_key_file',
  what = 'holds the encryption key',
): string {
  if (!path.startsWith('/')) throw new ConfigError(key, `${path} must be an absolute path`);
  assertPrivate(path, key, what);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(key, `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return text.replace(/\r?\n$/, '');
}

/**
 * Refuses a file that holds a secret when anyone but its owner may read or write it, or when its owner is neither
 * this process's user nor root (another account — the actions' identity, say — could then read or replace it).
 */
export function assertPrivate(path: string, key: string, what: string): void {
  let mode: number;
  let owner: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new ConfigError(key, `${path} is not a regular file`);
    mode = stat.mode & 0o777;
    owner = stat.uid;
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(key, `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (mode & 0o077) {
    throw new ConfigError(
      key,
      `${path} ${what} and has mode ${mode.toString(8).padStart(4, '0')}: group and others must have no access (chmod 600 ${path})`,
    );
  }
  const self = process.getuid?.();
  if (self !== undefined && owner !== self && owner !== 0) {
    throw new ConfigError(
      key,
      `${path} ${what} and belongs to uid ${owner}: it must belong to the user this process runs as (uid ${self}) or to root`,
    );
  }
}

/** The first setting of a configuration file that is a credential: the key, or a URL with a password. */
export function credentialsIn(config: Record<string, unknown>): string | undefined {
  const section = (name: string) => (config[name] ?? {}) as Record<string, unknown>;
  if (typeof section('security').encryption_key === 'string') return 'security.encryption_key';
  if (typeof section('audit').hmac_key === 'string') return 'audit.hmac_key';
  const ring = section('security').encryption_keys;
  if (Array.isArray(ring) && ring.some((k) => typeof (k as { key?: unknown })?.key === 'string'))
    return 'security.encryption_keys';
  for (const key of ['database.url', 'broker.url']) {
    const [name, field] = key.split('.') as [string, string];
    const value = section(name)[field];
    if (typeof value !== 'string') continue;
    try {
      if (new URL(value).password) return key;
    } catch {
      // not a URL: validated, with a clear error, below
    }
  }
  return undefined;
}
