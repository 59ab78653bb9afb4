import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError } from './errors.js';

/** An Attune API token: `attune_` and URL-safe characters, nothing a header or a terminal could misread. */
const TOKEN_FORMAT = /^attune_[A-Za-z0-9_-]{8,500}$/;

/** Whether `text` has the form of an Attune API token (checked before it is sent or kept; never echoed). */
export function isTokenFormat(text: string): boolean {
  return TOKEN_FORMAT.test(text);
}

/**
 * Where `attune login` keeps the API token: `$XDG_CONFIG_HOME/attune/token`, else `~/.config/attune/token`
 * (docs/cli.md#remote-mode). Undefined when neither variable is set.
 */
export function tokenFilePath(env: NodeJS.ProcessEnv): string | undefined {
  const base = env.XDG_CONFIG_HOME || (env.HOME ? join(env.HOME, '.config') : undefined);
  return base ? join(base, 'attune', 'token') : undefined;
}

/** What `attune login` keeps: the token and the API it was checked against (it is never sent to another one). */
interface KeptToken {
  readonly api_url: string;
  readonly token: string;
}

const fix = (path: string) =>
  `remove it (attune logout) and log in again; ${path} must be yours, mode 0600, in a folder of yours that no one else may write`;

/**
 * The folder the token is kept in must be this user's and writable by no one else: otherwise another user could
 * replace the file (with a link to another secret file, say) between two commands. @throws {ConfigError}
 */
function assertOwnFolder(folder: string, path: string): void {
  const stat = lstatSync(folder);
  const uid = process.getuid?.();
  if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid) || (stat.mode & 0o022) !== 0)
    throw new ConfigError(
      'cli.token_file',
      `${folder} (where attune login keeps the token) is not a folder of yours that only you may write: ${fix(path)}`,
    );
}

/**
 * The token `attune login` kept for the API at `apiUrl`, if any. Read without following a link, and only from a
 * regular file of this user's that no one else may read, in a folder no one else may write.
 * @throws {ConfigError} when the file or its folder could be someone else's, or the token was kept for another API
 */
export function readTokenFile(env: NodeJS.ProcessEnv, apiUrl: string): string | undefined {
  const path = tokenFilePath(env);
  if (!path) return undefined;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP')
      throw new ConfigError(
        'cli.token_file',
        `${path} (the token attune login kept) is a link: ${fix(path)}`,
      );
    throw new ConfigError('cli.token_file', `cannot read ${path} (${code ?? 'error'})`);
  }
  let text: string;
  try {
    assertOwnFolder(dirname(path), path);
    const stat = fstatSync(fd);
    const uid = process.getuid?.();
    if (!stat.isFile() || (uid !== undefined && stat.uid !== uid) || (stat.mode & 0o077) !== 0)
      throw new ConfigError(
        'cli.token_file',
        `${path} holds the API token (attune login) and others could read or change it: ${fix(path)}`,
      );
    text = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  let kept: Partial<KeptToken>;
  try {
    kept = JSON.parse(text) as Partial<KeptToken>;
  } catch {
    kept = {};
  }
  if (typeof kept.token !== 'string' || !isTokenFormat(kept.token) || typeof kept.api_url !== 'string')
    throw new ConfigError('cli.token_file', `${path} does not hold a token attune login kept: ${fix(path)}`);
  if (kept.api_url !== apiUrl)
    throw new ConfigError(
      'cli.api_url',
      `the token attune login kept is for ${kept.api_url}, not ${apiUrl}: it is never sent to another API. ` +
        'Log in to this one (attune login), or give its token in ATTUNE_TOKEN',
    );
  return kept.token;
}

/**
 * Keeps `token` for the API at `apiUrl` (`attune login`): the folder created 0700 when missing (refused when it is
 * not this user's own), the file written 0600 beside it and renamed into place, so no reader sees half of it.
 * @returns the file's path. @throws {ConfigError}
 */
export function writeTokenFile(env: NodeJS.ProcessEnv, apiUrl: string, token: string): string {
  const path = tokenFilePath(env);
  if (!path)
    throw new ConfigError(
      'cli.token_file',
      'neither XDG_CONFIG_HOME nor HOME is set: nowhere to keep the token',
    );
  if (!isTokenFormat(token)) throw new ConfigError('cli.token', 'is not an Attune API token (attune_…)');
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  assertOwnFolder(dirname(path), path);
  const partial = `${path}.${process.pid}.tmp`;
  const kept: KeptToken = { api_url: apiUrl, token };
  writeFileSync(partial, `${JSON.stringify(kept)}\n`, { mode: 0o600, flag: 'wx' });
  try {
    renameSync(partial, path);
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  }
  return path;
}
