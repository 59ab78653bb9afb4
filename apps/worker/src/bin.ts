#!/usr/bin/env node
import { processEnvironment } from '@attune/config';
import { disableCoreDumps } from '@attune/core';
import { main } from './cli.js';

// First, before the configuration (and the key) is read: no crash of this process may write its memory to disk. What
// cannot be done is logged as a warning once a logger exists (the worker's start, the API's start).
disableCoreDumps();

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
