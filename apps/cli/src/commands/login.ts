import { rmSync } from 'node:fs';
import { isTokenFormat, tokenFilePath, writeTokenFile } from '@attune/config';
import { UsageError } from '../args.js';
import { RemoteBackend } from '../backend/remote.js';
import { readSecret } from '../io/read-secret.js';
import type { CommandContext } from './context.js';

/**
 * `attune login`: checks a token against the API (ATTUNE_API_URL) and keeps it, with that API's address, readable by
 * this user only, where remote mode finds it when ATTUNE_TOKEN is not set (`$XDG_CONFIG_HOME/attune/token`); it is
 * never sent to another API. The token is read from stdin or a hidden prompt, never argv.
 */
export async function loginCommand(ctx: CommandContext): Promise<number> {
  if (ctx.args.positionals.length > 0)
    throw new UsageError('expected: login (the token on stdin or at the prompt)');
  if (!(ctx.backend instanceof RemoteBackend))
    throw new UsageError('attune login needs ATTUNE_API_URL (or cli.api_url): the API to log in to');
  if (!tokenFilePath(ctx.io.env))
    throw new UsageError('neither XDG_CONFIG_HOME nor HOME is set: nowhere to keep the token');
  const token = (await readSecret(ctx.io, 'API token: ')).trim();
  if (token === '') throw new UsageError('no token was given (stdin was empty)');
  // Checked before it is sent anywhere: a pasted line that is not a token (never shown) goes nowhere.
  if (!isTokenFormat(token))
    throw new UsageError(
      'that is not an Attune API token (attune_ and letters, digits, - or _); nothing was sent',
    );
  await ctx.backend.checkToken(token);
  const path = writeTokenFile(ctx.io.env, ctx.backend.apiUrl, token);
  if (ctx.json) ctx.out(JSON.stringify({ api_url: ctx.backend.apiUrl, token_file: path }));
  else ctx.out(`logged in to ${ctx.backend.apiUrl}; the token is kept in ${path} (attune logout removes it)`);
  return 0;
}

/** `attune logout`: removes the token `attune login` kept. */
export async function logoutCommand(ctx: CommandContext): Promise<number> {
  if (ctx.args.positionals.length > 0) throw new UsageError('expected: logout');
  const path = tokenFilePath(ctx.io.env);
  const existed = path !== undefined && rmSyncIfThere(path);
  if (ctx.json) ctx.out(JSON.stringify({ token_file: path ?? null, removed: existed }));
  else ctx.out(existed ? `removed ${path}` : 'no token was kept (nothing to remove)');
  return 0;
}

function rmSyncIfThere(path: string): boolean {
  try {
    rmSync(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
