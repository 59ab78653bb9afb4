import { AttuneError } from '@attune/core';

/** A configuration problem: names the key and what is wrong, never echoes a value. */
export class ConfigError extends AttuneError {
  /** The config key at fault, e.g. `worker.output_cap_bytes`. */
  readonly key: string;

  constructor(key: string, problem: string) {
    super({
      code: 'ATTUNE_CONFIG',
      category: 'invalid',
      message: `Configuration ${key}: ${problem}`,
      field: key,
    });
    this.key = key;
  }
}
