import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import { ConfigError, type SettingSource } from './errors.js';
import type { ConfigFileInfo } from './types.js';

/** The file read from the working directory when neither `--config` nor `ATTUNE_CONFIG` names one. */
export const CONFIG_FILE_NAME = 'attune.yaml';

/** The configuration file chosen, read and parsed. */
export interface LoadedConfigFile {
  readonly info: ConfigFileInfo;
  /** `info.path` resolved against the working directory. */
  readonly absolutePath: string;
  readonly values: Record<string, unknown>;
  /** The line of each key, by dotted path (`worker.concurrency`, `security.encryption_keys.0.id`). */
  readonly lines: ReadonlyMap<string, number>;
}

/**
 * The configuration file: the one `--config` (`flag`) names, else `ATTUNE_CONFIG`, else `./attune.yaml` when present.
 * An empty `--config` or `ATTUNE_CONFIG` means no file at all. A file that was named must exist.
 * @throws {ConfigError} (key `file`) when a named file cannot be read, or a file is not a YAML mapping.
 */
export function readConfigFile(
  flag: string | undefined,
  fromEnv: string | undefined,
  cwd: string,
): LoadedConfigFile | undefined {
  const named =
    flag !== undefined
      ? { path: flag, via: 'option' as const, by: 'named by --config' }
      : fromEnv !== undefined
        ? { path: fromEnv, via: 'env' as const, by: 'named by ATTUNE_CONFIG' }
        : undefined;
  if (named?.path === '') return undefined;
  const path = named?.path ?? resolve(cwd, CONFIG_FILE_NAME);
  const absolutePath = resolve(cwd, path);
  let text: string;
  let fd: number | undefined;
  try {
    fd = openSync(absolutePath, 'r');
    // A file found by looking (not named) is read only if no one else could have put it there or changed it: the
    // working directory may be anyone's (/tmp), and the file could point remote mode at another server, which would
    // receive the token, or local mode at another database. Checked on the descriptor that is read: no race.
    if (!named) assertOwnFile(fstatSync(fd), path);
    text = readFileSync(fd, 'utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    if (!named && (code === 'ENOENT' || code === 'ENOTDIR')) return undefined;
    throw new ConfigError(
      'file',
      `cannot read ${path} (${code}), ${named?.by ?? 'found in the working directory'}`,
    );
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  let values: unknown;
  try {
    const [first] = doc.errors;
    if (first) throw first;
    values = doc.toJS() ?? {};
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0]?.replace(/:$/, '');
    throw new ConfigError('file', `${path} is not valid YAML (${reason})`);
  }
  if (typeof values !== 'object' || values === null || Array.isArray(values))
    throw new ConfigError('file', `${path} must hold a mapping`);
  const lines = new Map<string, number>();
  const walk = (node: unknown, at: string): void => {
    const keyOf = (name: string | number) => (at === '' ? String(name) : `${at}.${name}`);
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isScalar(pair.key)) continue;
        const key = keyOf(String(pair.key.value));
        const offset = pair.key.range?.[0];
        if (offset !== undefined) lines.set(key, lineCounter.linePos(offset).line);
        walk(pair.value, key);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        const offset = (item as { range?: readonly number[] | null }).range?.[0];
        if (offset !== undefined) lines.set(keyOf(i), lineCounter.linePos(offset).line);
        walk(item, keyOf(i));
      });
    }
  };
  walk(doc.contents, '');
  return {
    info: { path, via: named?.via ?? 'discovered' },
    absolutePath,
    values: values as Record<string, unknown>,
    lines,
  };
}

/** Where each setting was given: the file's lines and the environment variables that override them. */
export class SettingSources {
  readonly #file: LoadedConfigFile | undefined;
  /** Environment variable by `section.key`. */
  readonly #env = new Map<string, string>();

  constructor(file: LoadedConfigFile | undefined) {
    this.#file = file;
  }

  /** Records that the environment variable `name` sets `key` (`section.key`), over the file. */
  setByEnv(key: string, name: string): void {
    this.#env.set(key, name);
  }

  /** Whether `key` (`section.key`) is given at all, in the file or the environment. */
  has(key: string): boolean {
    return this.#env.has(key) || (this.#file?.lines.has(key) ?? false);
  }

  /** The first environment variable that sets a key of `section`, with the key. */
  envInSection(section: string): { key: string; name: string } | undefined {
    for (const [key, name] of this.#env) if (key.startsWith(`${section}.`)) return { key, name };
    return undefined;
  }

  /**
   * Where `key` (dotted; `list[0]` or `list.0` for an item) was given: its environment variable, else its line in
   * the file — or its closest ancestor's, down to `minDepth` segments. Undefined when it was not given.
   */
  of(key: string, minDepth = 1): SettingSource | undefined {
    const parts = key.replace(/\[(\d+)\]/g, '.$1').split('.');
    const name = parts.length >= 2 ? this.#env.get(`${parts[0]}.${parts[1]}`) : undefined;
    if (name !== undefined) return { env: name };
    const file = this.#file;
    if (!file) return undefined;
    for (let n = parts.length; n >= Math.max(1, minDepth); n--) {
      const line = file.lines.get(parts.slice(0, n).join('.'));
      if (line !== undefined) return { file: file.info.path, line };
    }
    return undefined;
  }
}

/**
 * Refuses a discovered configuration file that another user owns or that others may write (as git refuses a
 * repository another user owns): it is not this user's configuration.
 * @throws {ConfigError}
 */
function assertOwnFile(stat: { uid: number; mode: number; isFile(): boolean }, path: string): void {
  const uid = process.getuid?.();
  const problem = !stat.isFile()
    ? 'is not a regular file'
    : uid !== undefined && stat.uid !== uid && stat.uid !== 0
      ? `belongs to another user (uid ${stat.uid})`
      : (stat.mode & 0o022) !== 0
        ? 'may be written by other users'
        : undefined;
  if (problem)
    throw new ConfigError(
      'file',
      `${path} (found in the working directory) ${problem}: it is not read. Make it yours and not writable by others ` +
        '(chown; chmod go-w), name a file with --config or ATTUNE_CONFIG, or set ATTUNE_CONFIG= (empty) to read none',
    );
}
