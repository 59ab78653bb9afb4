import { AttuneError } from '@attune/core';

/** Where a setting was given: a line of the configuration file, or an environment variable. */
export type SettingSource = { readonly file: string; readonly line: number } | { readonly env: string };

/** `/etc/attune/attune.yaml:12` or `environment variable ATTUNE__WORKER__CONCURRENCY`. */
export function describeSource(source: SettingSource): string {
  return 'env' in source ? `environment variable ${source.env}` : `${source.file}:${source.line}`;
}

/** How the configuration file is chosen, for messages (docs/worker.md#configuration). */
export const CONFIG_FILE_OPTIONS = '--config FILE or ATTUNE_CONFIG; ./attune.yaml is read when present';

/**
 * What to do about a setting that is absent: where settings are read from (docs/worker.md#configuration), and the
 * environment variable that sets this one, if any. Appended to the errors of missing settings.
 */
export function missingSettingHint(envVar?: string): string {
  const file = `set it in the configuration file (${CONFIG_FILE_OPTIONS})`;
  return envVar === undefined ? file : `${file} or with ${envVar}`;
}

/** What a {@link ConfigError} may add to its key and problem. */
export interface ConfigErrorDetails {
  /** Where the setting at fault was given, when it was given in one place. */
  readonly source?: SettingSource | undefined;
  /** What to do, e.g. {@link missingSettingHint} or `did you mean worker.concurrency?`. */
  readonly hint?: string | undefined;
}

/**
 * A configuration problem: names the key, what is wrong and, when known, where the setting was given (file:line or
 * environment variable); never echoes a value. Message: `Configuration <key>: <problem>[ (in <source>)][; <hint>]`.
 */
export class ConfigError extends AttuneError {
  /** The config key at fault, e.g. `worker.output_cap_bytes`. */
  readonly key: string;
  /** Where the setting at fault was given; undefined when it was not given (a missing setting) or not in one place. */
  readonly source: SettingSource | undefined;
  readonly #problem: string;
  readonly #hint: string | undefined;

  constructor(key: string, problem: string, details: ConfigErrorDetails = {}) {
    const { source, hint } = details;
    super({
      code: 'ATTUNE_CONFIG',
      category: 'invalid',
      message:
        `Configuration ${key}: ${problem}` +
        (source ? ` (in ${describeSource(source)})` : '') +
        (hint ? `; ${hint}` : ''),
      field: key,
    });
    this.key = key;
    this.source = source;
    this.#problem = problem;
    this.#hint = hint;
  }

  /** The same error, saying where the setting was given. */
  at(source: SettingSource): ConfigError {
    return new ConfigError(this.key, this.#problem, { source, hint: this.#hint });
  }
}
