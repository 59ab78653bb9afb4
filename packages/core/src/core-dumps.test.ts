import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { coreDumpLimit, coreDumpsWarnings, corePattern, disableCoreDumps } from './core-dumps.js';

// These tests lower this test process's own limit, as the worker and the API do at start: in order, and once.
const START = coreDumpLimit();
const CAN_LOWER = START !== undefined && START.hard > 0;

describe('core dumps', () => {
  it("reads a process's RLIMIT_CORE from /proc, and nothing for a process that is not there", () => {
    expect(START).toEqual({ soft: expect.any(Number), hard: expect.any(Number) });
    expect(coreDumpLimit(process.pid)).toEqual(START);
    expect(coreDumpLimit(2 ** 30)).toBeUndefined();
  });

  it.skipIf(!CAN_LOWER)('says what to install when prlimit cannot be found, and changes nothing', () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const state = disableCoreDumps();
      expect(state).toEqual({
        off: false,
        reason: 'prlimit is not installed (Debian/Ubuntu package util-linux)',
      });
      const [warning, ...more] = coreDumpsWarnings(state, 'the API', 'core');
      expect(warning).toMatch(
        /^core dumps could not be turned off \(prlimit is not installed .*\): a crash of the API could write .* LimitCORE=0\)$/,
      );
      expect(more).toEqual([]);
    } finally {
      process.env.PATH = path;
    }
    expect(coreDumpLimit()).toEqual(START);
  });

  it.skipIf(!CAN_LOWER)('turns them off, soft and hard, for this process and every child it starts', () => {
    expect(disableCoreDumps()).toEqual({ off: true });
    expect(coreDumpLimit()).toEqual({ soft: 0, hard: 0 });
    // A child cannot raise it again.
    const child = spawnSync(
      '/bin/sh',
      ['-c', 'ulimit -c; ulimit -Hc; ulimit -c unlimited 2>/dev/null || echo refused'],
      {
        encoding: 'utf8',
      },
    );
    expect(child.stdout).toBe('0\n0\nrefused\n');
    // Once off, nothing more to do.
    expect(disableCoreDumps()).toEqual({ off: true });
  });

  it('warns of a crash collector that may keep memory whatever the limit, but not of systemd-coredump', () => {
    const off = { off: true } as const;
    expect(corePattern()).toEqual(expect.any(String));
    expect(coreDumpsWarnings(off, 'the API', 'core')).toEqual([]);
    expect(coreDumpsWarnings(off, 'the API', '/var/crash/core.%e.%p')).toEqual([]);
    expect(coreDumpsWarnings(off, 'the API', undefined)).toEqual([]);
    expect(
      coreDumpsWarnings(off, 'the API', '|/usr/lib/systemd/systemd-coredump %P %u %g %s %t %c %h'),
    ).toEqual([]);
    const [apport, ...more] = coreDumpsWarnings(
      off,
      'this worker or of an action',
      '|/usr/share/apport/apport -p%p -s%s -c%c -d%d -P%P -u%u -g%g -- %E',
    );
    expect(apport).toMatch(
      /^kernel\.core_pattern hands crashes to \/usr\/share\/apport\/apport, .* a crash of this worker or of an action could leave secrets on disk; .*systemctl disable --now apport/,
    );
    expect(more).toEqual([]);
    expect(coreDumpsWarnings({ off: false, reason: 'r' }, 'x', '| /opt/collect')).toEqual([
      expect.stringMatching(/^core dumps could not be turned off \(r\)/),
      expect.stringMatching(/^kernel\.core_pattern hands crashes to \/opt\/collect, /),
    ]);
  });
});
