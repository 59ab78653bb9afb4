/** Where a value holds what cannot be stored, and what it is. */
export interface Unstorable {
  /** Dotted path to the offending string or key inside the value (empty for the value itself). */
  readonly path: string;
  readonly problem: string;
}

/** Deepest nesting accepted in parameters and pack metadata. */
export const MAX_NESTING = 32;

/**
 * Finds what a JSON-like value may not hold, without recursion: nesting deeper than {@link MAX_NESTING} levels, and
 * text the database and an action's stdin cannot carry (a NUL, an unpaired UTF-16 surrogate) in a string or a key.
 * Never returns the offending text itself.
 */
export function findUnstorable(value: unknown): Unstorable | undefined {
  const stack: Array<[unknown, number, readonly string[]]> = [[value, 0, []]];
  while (stack.length > 0) {
    const [v, depth, path] = stack.pop() as [unknown, number, readonly string[]];
    if (depth > MAX_NESTING)
      return { path: path.join('.'), problem: `nests deeper than ${MAX_NESTING} levels` };
    if (typeof v === 'string') {
      const problem = textProblem(v);
      if (problem) return { path: path.join('.'), problem };
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => {
        stack.push([item, depth + 1, [...path, String(i)]]);
      });
    } else if (v && typeof v === 'object') {
      for (const [key, item] of Object.entries(v)) {
        const problem = textProblem(key);
        if (problem) return { path: path.join('.'), problem: `has a key that ${problem}` };
        stack.push([item, depth + 1, [...path, key]]);
      }
    }
  }
  return undefined;
}

function textProblem(text: string): string | undefined {
  if (text.includes('\0')) return 'holds a NUL character';
  if (!(text as string & { isWellFormed(): boolean }).isWellFormed())
    return 'holds an unpaired UTF-16 surrogate';
  return undefined;
}
