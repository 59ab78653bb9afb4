/** Test support: the API's logger, its lines kept so that tests can say what was (and was not) logged. */
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@attune/core';

/** A logger as the API makes one (`attune-api`, level info), writing each line into `lines`. */
export function capturingApiLogger(lines: string[]): Logger {
  return createLogger({
    name: 'attune-api',
    level: 'info',
    destination: new Writable({
      write(chunk, _e, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  });
}
