import type { ApiConfig } from '@attune/config';
import type { Actor, Logger } from '@attune/core';
import type { Parsed } from '../args.js';
import type { Backend } from '../backend/services.js';
import type { CliIo } from '../io/cli-io.js';

/** What a command gets: its arguments, where to write, the configuration, who runs it, and the services. */
export interface CommandContext {
  /** The command's name (`key`, `run`…). */
  readonly command: string;
  readonly args: Parsed;
  readonly io: CliIo;
  /** `--json`: machine-readable output on stdout. */
  readonly json: boolean;
  /** The API's view of the configuration (`attune api`); the other commands use the CLI's, through the backend. */
  apiConfig(): ApiConfig;
  readonly logger: Logger;
  /** The operating-system user running the CLI. */
  readonly actor: Actor;
  /** The database itself (local mode) or the HTTP API (remote mode, `ATTUNE_API_URL`). */
  readonly backend: Backend;
  /** A line on stdout. */
  out(text: string): void;
  /** A line of progress on stderr, for a person at a terminal (never with --json). */
  progress(text: string): void;
}
