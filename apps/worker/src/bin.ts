#!/usr/bin/env node
import { processEnvironment } from '@attune/config';
import { main } from './cli.js';

main(process.argv.slice(2), processEnvironment()).then(
  (code) => {
    process.exitCode = code;
    // Everything is closed by now; a stray timer or socket must not keep a finished process alive.
    setTimeout(() => process.exit(code), 100).unref();
  },
  (error: unknown) => {
    const e = error as { name?: string; code?: string; message?: string };
    // Operational errors carry a code and a message written for the operator; anything else is reported by class.
    process.stderr.write(
      `attune-worker: ${e?.code ? `${e.message} [${e.code}]` : `internal error (${e?.name ?? 'unknown'})`}\n`,
    );
    process.exitCode = 1;
  },
);
