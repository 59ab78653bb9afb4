#!/usr/bin/env node
import { processEnvironment } from '@attune/config';
import { disableCoreDumps } from '@attune/core';
import { main } from './program.js';

// First, before the configuration (and the key) is read: no crash of this process may write its memory to disk. What
// cannot be done is logged as a warning once a logger exists (the worker's start, the API's start).
disableCoreDumps();

main(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: processEnvironment(),
}).then(
  (code) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), 100).unref();
  },
  (error: unknown) => {
    const e = error as { name?: string; code?: string; message?: string };
    process.stderr.write(
      `attune: ${e?.code ? `${e.message} [${e.code}]` : `internal error (${e?.name ?? 'unknown'})`}\n`,
    );
    process.exitCode = 1;
  },
);
