#!/usr/bin/env node
import { main } from './cli.js';

main(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // A bug, not an operational error: report the class only, never a value that may sit in the error.
    process.stderr.write(
      `attune-crypto: internal error (${error instanceof Error ? error.name : 'unknown'})\n`,
    );
    process.exitCode = 70;
  },
);
