import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  coreDumpLimit,
  coreDumpsWarnings,
  corePattern,
  crashCollector,
  disableCoreDumps,
} from './core-dumps.js';

const START = coreDumpLimit();
const CAN_LOWER = START !== undefined && START.hard > 0;

describe('core dumps', () => {
  it("reads a process's RLIMIT_CORE from /proc, and nothing for a process that is not there", () => {
    expect(START).toEqual({ soft: expect.any(Number), hard: expect.any(Number) });
    expect(coreDumpLimit(process.pid)).toEqual(START);
    expect(coreDumpLimit(2 ** 30)).toBeUndefined();
  });

  // One test, in this order: it lowers this test process's own limit, as the worker and the API do at start.
  it.skipIf(!CAN_LOWER)(
    'turns them off, soft and hard, for this process and every child it starts, and says what to install where it cannot',
    () => {
      const missing = disableCoreDumps(['/nonexistent/prlimit']);
      expect(missing).toEqual({
        off: false,
        reason: 'prlimit is not installed (Debian/Ubuntu package util-linux)',
      });
      expect(coreDumpLimit()).toEqual(START);
      const [warning, ...more] = coreDumpsWarnings(missing, 'the API', 'core');
      expect(warning).toMatch(
        /^core dumps could not be turned off \(prlimit is not installed .*\): a crash of the API could write .* LimitCORE=0\)$/,
      );
      expect(more).toEqual([]);

      expect(disableCoreDumps()).toEqual({ off: true });
      expect(coreDumpLimit()).toEqual({ soft: 0, hard: 0 });
      expect(readFileSync('/proc/self/coredump_filter', 'utf8').trim()).toMatch(/^0+$/);
      // A child inherits both and cannot raise the limit again.
      const child = spawnSync(
        '/bin/sh',
        [
          '-c',
          'ulimit -c; ulimit -Hc; cat /proc/self/coredump_filter; ulimit -c unlimited 2>/dev/null || echo refused',
        ],
        { encoding: 'utf8' },
      );
      expect(child.stdout).toBe('0\n0\n00000000\nrefused\n');
      // Once off, nothing more to do.
      expect(disableCoreDumps(['/nonexistent/prlimit'])).toEqual({ off: true });
    },
  );

  it('warns of a crash collector, which the limit does not bind, unless it keeps nothing', () => {
    const off = { off: true } as const;
    expect(corePattern()).toEqual(expect.any(String));
    for (const quiet of [
      'core',
      '%e.core',
      '/var/crash/core.%e.%p',
      undefined,
      '|/bin/false',
      '|/usr/bin/false',
    ])
      expect({ quiet, warnings: coreDumpsWarnings(off, 'the API', quiet) }).toEqual({ quiet, warnings: [] });
    for (const [pattern, collector] of [
      ['|/usr/share/apport/apport -p%p -s%s -c%c -d%d -P%P -u%u -g%g -- %E', '/usr/share/apport/apport'],
      [
        '|/lib/systemd/systemd-coredump %P %u %g %s %t 9223372036854775808 %h',
        '/lib/systemd/systemd-coredump',
      ],
      ['|/usr/lib/systemd/systemd-coredump %P %u %g %s %t %c %h %d', '/usr/lib/systemd/systemd-coredump'],
      ['@/run/systemd/coredump', '/run/systemd/coredump'],
      ['@@/run/systemd/io.systemd.Coredump', '@/run/systemd/io.systemd.Coredump'],
      ['| /opt/collect', '/opt/collect'],
    ] as const) {
      const [warning, ...more] = coreDumpsWarnings(off, 'this worker or of an action', pattern);
      expect(warning).toContain(
        `kernel.core_pattern hands crashes to ${collector}, which the core limit does not bind`,
      );
      expect(warning).toMatch(
        /a crash of this worker or of an action could leave secrets on disk\. .*\|\/bin\/false/,
      );
      expect(more).toEqual([]);
    }
    expect(crashCollector('core')).toBeUndefined();
    expect(crashCollector(undefined)).toBeUndefined();
    expect(crashCollector('|')).toBe('');
    expect(coreDumpsWarnings(off, 'x', '|')[0]).toMatch(
      /^kernel\.core_pattern hands crashes to a collector, /,
    );
    expect(coreDumpsWarnings({ off: false, reason: 'r' }, 'x', '|/opt/collect')).toEqual([
      expect.stringMatching(/^core dumps could not be turned off \(r\)/),
      expect.stringMatching(/^kernel\.core_pattern hands crashes to \/opt\/collect, /),
    ]);
  });
});
