import { BASE_CHILD_ENV } from '@attune/config';

/** Context variables every action gets. */
export interface ExecutionContextEnv {
  readonly ATTUNE_EXECUTION_ID: string;
  readonly ATTUNE_ACTION: string;
  readonly ATTUNE_PACK: string;
}

const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

/**
 * Builds an action's whole environment from an allowlist — never from a copy of the worker's: the base variables
 * (PATH, HOME, LANG, LC_*, TZ, TMPDIR) and the operator's passthrough list from the worker's environment, then the
 * execution context, then the secrets. The worker's DATABASE_URL, encryption key and broker URL cannot reach it:
 * they are neither allowlisted nor accepted in the passthrough list (`@attune/config`, passthrough.ts).
 */
export function buildChildEnv(options: {
  parentEnv: Readonly<Record<string, string | undefined>>;
  passthrough: readonly string[];
  context: ExecutionContextEnv;
  secrets: Readonly<Record<string, string>>;
}): Record<string, string> {
  const env: Record<string, string> = {};
  const { parentEnv } = options;
  for (const name of [...BASE_CHILD_ENV, ...options.passthrough]) {
    const value = parentEnv[name];
    if (value !== undefined) env[name] = value;
  }
  for (const [name, value] of Object.entries(parentEnv)) {
    if (name.startsWith('LC_') && value !== undefined) env[name] = value;
  }
  env.PATH ??= DEFAULT_PATH;
  Object.assign(env, options.context, options.secrets);
  return env;
}
