/** What the kernel says of a process in /proc, read the same way by every package that needs it. */
import { readFileSync } from 'node:fs';

/**
 * The fields of a /proc `stat` file (`/proc/<pid>/stat`, `/proc/<pid>/task/<tid>/stat`) after the command name,
 * which may hold spaces and parentheses: state, ppid, pgrp, session, … — index 0 is field 3 of proc(5), so the start
 * time (field 22) is index 19. Undefined when it cannot be read (the process is gone, or there is no /proc).
 */
export function procStatFields(path: string): string[] | undefined {
  try {
    const stat = readFileSync(path, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}
