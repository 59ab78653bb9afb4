/**
 * What the core-dump tests need to know of the host and of hostile.coredump (test/fixtures/coredump.py): the kernel's
 * core_pattern, whether a control can show a dump being written here, the report the fixture prints, and the fixture
 * run bare (outside any worker) for that control.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { coreDumpLimit, corePattern, crashCollector } from '@attune/core';

const FIXTURE = fileURLToPath(new URL('../fixtures/coredump.py', import.meta.url));

/** The host's core_pattern: a file name (written by the kernel), or a collector it hands crashes to (`|…`, `@…`). */
export const CORE_PATTERN = corePattern() ?? '';
export const COLLECTOR = crashCollector(CORE_PATTERN) !== undefined;
/**
 * Whether a control can show a core dump being written: a file name in the crashing process's folder, and this
 * process may allow core dumps.
 */
export const CORE_CONTROL = !COLLECTOR && !CORE_PATTERN.includes('/') && (coreDumpLimit()?.hard ?? 0) > 0;

/** What hostile.coredump prints. */
export interface CoreDumpReport {
  soft: number;
  hard: number;
  raise_hard: string;
  raise_soft: string;
  limit_after: number[];
  signal: number | null;
  dumped: boolean;
  created: string[];
}

/** hostile.coredump run bare from this process, in a folder of its own: its report and what the folder held after. */
export function crashBare(): { report: CoreDumpReport; files: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'attune-core-control-'));
  try {
    const run = spawnSync('python3', [FIXTURE], { cwd: dir, input: '', encoding: 'utf8' });
    return { report: JSON.parse(run.stdout) as CoreDumpReport, files: readdirSync(dir) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
