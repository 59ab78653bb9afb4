import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { procStatFields } from './proc.js';

const HAS_PROC = procStatFields('/proc/self/stat') !== undefined;
const NAME = 'a) b (c';

/** The command name the kernel gives `pid` (its program's file name once exec'd), or '' when it is gone. */
function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

describe('procStatFields', () => {
  it.skipIf(!HAS_PROC)(
    'reads the fields after the command name, even one with spaces and parentheses',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'attune-proc-'));
      const program = join(dir, NAME);
      copyFileSync('/bin/sleep', program);
      const child = spawn(program, ['30'], { stdio: 'ignore' });
      try {
        const pid = child.pid as number;
        for (let i = 0; i < 250 && commOf(pid) !== NAME; i++) await new Promise((r) => setTimeout(r, 20));
        expect(commOf(pid)).toBe(NAME);
        const fields = procStatFields(`/proc/${pid}/stat`);
        expect(fields?.[0]).toMatch(/^[RS]$/); // state
        expect(fields?.[1]).toBe(String(process.pid)); // ppid
        expect(fields?.[19]).toMatch(/^\d+$/); // start time
      } finally {
        child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('is undefined for a process that is not there', () => {
    expect(procStatFields(`/proc/${2 ** 30}/stat`)).toBeUndefined();
  });
});
