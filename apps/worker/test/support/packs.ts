/** Test support: pack folders written by tests. */
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One action of a test pack: its script is `code`, or a copy of the file `copy`. */
export interface TestAction {
  readonly runner: 'python' | 'shell';
  readonly file: string;
  readonly code?: string;
  readonly copy?: string;
  readonly timeout?: number;
  /** More metadata, as YAML lines (parameters, secrets, network). */
  readonly extra?: string;
}

/**
 * Writes `<root>/<ref>` with a pack.yaml and, per action, its metadata and script (0755). `root` must be readable
 * by the actions' identity ({@link readablePackRoot}). Returns the pack folder.
 */
export function writeTestPack(
  root: string,
  ref: string,
  actions: Record<string, TestAction>,
  /** More pack.yaml, as YAML lines (e.g. `secrets_policy: declared`). */
  packExtra = '',
): string {
  const dir = join(root, ref);
  mkdirSync(join(dir, 'actions'), { recursive: true });
  writeFileSync(join(dir, 'pack.yaml'), `ref: ${ref}\nlabel: ${ref}\nversion: 1.0.0\n${packExtra}`);
  for (const [name, a] of Object.entries(actions)) {
    writeFileSync(
      join(dir, 'actions', `${name}.yaml`),
      `name: ${name}\nrunner_type: ${a.runner}\nentry_point: ${a.file}\ntimeout: ${a.timeout ?? 60}\n${a.extra ?? ''}`,
    );
    const script = join(dir, 'actions', a.file);
    if (a.copy) copyFileSync(a.copy, script);
    else if (a.code !== undefined) writeFileSync(script, a.code);
    chmodSync(script, 0o755);
  }
  return dir;
}
