import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertPrivate } from './secret-files.js';

/**
 * Where `attune login` keeps the API token: `$XDG_CONFIG_HOME/attune/token`, else `~/.config/attune/token`
 * (docs/cli.md#remote-mode). Undefined when neither variable is set.
 */
export function tokenFilePath(env: NodeJS.ProcessEnv): string | undefined {
  const base = env.XDG_CONFIG_HOME || (env.HOME ? join(env.HOME, '.config') : undefined);
  return base ? join(base, 'attune', 'token') : undefined;
}

/** The token `attune login` stored, if any; refused when others could read or replace the file. */
export function readTokenFile(env: NodeJS.ProcessEnv): string | undefined {
  const path = tokenFilePath(env);
  if (!path || !existsSync(path)) return undefined;
  assertPrivate(path, 'ATTUNE_TOKEN', 'holds the API token (attune login)');
  const token = readFileSync(path, 'utf8').trim();
  return token === '' ? undefined : token;
}
