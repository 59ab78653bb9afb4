import { statSync } from 'node:fs';
import { dirname, parse } from 'node:path';
import type { ActionIdentity } from './identity.js';

/**
 * Why `identity` (with no supplementary groups, as actions run) cannot read the file at `path`, or undefined when it
 * can: every folder above it must be searchable, the file readable. Judged from the mode bits, as the kernel does
 * for a process without capabilities (ACLs and security modules aside), so that the worker can tell the operator
 * which folder to open up instead of letting the action fail with a bare "Permission denied".
 */
export function readProblem(path: string, identity: ActionIdentity): string | undefined {
  const folders: string[] = [];
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    folders.unshift(dir);
    if (dir === parse(dir).root) break;
  }
  for (const folder of folders) {
    const problem = lacks(folder, identity, 1, 'search (x)');
    if (problem) return problem;
  }
  return lacks(path, identity, 4, 'read (r)');
}

function lacks(path: string, identity: ActionIdentity, bit: 1 | 4, what: string): string | undefined {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(path);
  } catch (error) {
    return `${path} cannot be examined (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
  }
  const shift = stat.uid === identity.uid ? 6 : stat.gid === identity.gid ? 3 : 0;
  if ((stat.mode >> shift) & bit) return undefined;
  return `${path} (mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')}, owner uid ${stat.uid}) does not let it ${what}`;
}
