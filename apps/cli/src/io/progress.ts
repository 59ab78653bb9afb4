import type { CliIo } from './cli-io.js';

/**
 * A progress bar on stderr, for a person at a terminal (nothing otherwise, and never with --json): `label
 * [#####     ] done/total`, redrawn in place, finished with a newline.
 */
export function progressBar(
  io: CliIo,
  label: string,
  enabled: boolean,
): { update(done: number, total: number): void; end(): void } {
  const shown = enabled && io.stderr.isTTY === true;
  let drawn = false;
  return {
    update(done, total) {
      if (!shown) return;
      const width = 30;
      const filled = total > 0 ? Math.min(width, Math.round((done / total) * width)) : 0;
      const bar =
        total > 0 ? `[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total}` : `${done}`;
      io.stderr.write(`\r${label} ${bar}`);
      drawn = true;
    },
    end() {
      if (drawn) io.stderr.write('\n');
    },
  };
}
