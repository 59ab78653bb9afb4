import { z } from 'zod';
import { configSchema } from './schema.js';

/** The schema under its defaults and optionals. */
function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  while (s instanceof z.ZodDefault || s instanceof z.ZodPrefault || s instanceof z.ZodOptional)
    s = s.unwrap() as z.ZodType;
  return s;
}

/** The keys the schema knows in the mapping at `path` (`[]`: the sections; a number: a list's items). */
export function knownKeysAt(path: readonly (string | number)[]): string[] {
  let schema = unwrap(configSchema);
  for (const segment of path) {
    if (schema instanceof z.ZodArray && typeof segment === 'number')
      schema = unwrap(schema.element as z.ZodType);
    else if (schema instanceof z.ZodObject && typeof segment === 'string') {
      const next = (schema.shape as Record<string, z.ZodType | undefined>)[segment];
      if (next === undefined) return [];
      schema = unwrap(next);
    } else return [];
  }
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

/** Every `section.key` an `ATTUNE__SECTION__KEY` variable can set. */
export function settingKeys(): string[] {
  return knownKeysAt([]).flatMap((section) => knownKeysAt([section]).map((key) => `${section}.${key}`));
}

/**
 * The candidate closest to `name` when it is a near miss — a typo: at most 2 edits (1 for names under 6
 * characters, none under 3, or every short name would "mean" another).
 */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  const limit = Math.min(2, Math.floor(name.length / 3));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Insertions, deletions, substitutions and swaps of neighbours (`wroker` is 1 from `worker`). */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => rows[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        row[j] = Math.min(row[j] as number, at(i - 2, j - 2) + 1);
    }
  }
  return at(a.length, b.length);
}
