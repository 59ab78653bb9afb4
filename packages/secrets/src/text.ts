/**
 * Text that cannot travel: a NUL (no environment variable or argv string can carry it, PostgreSQL text cannot store
 * it) and unpaired UTF-16 surrogates (no UTF-8 form: stored or sent, they silently become U+FFFD). One rule for
 * secret values, execution parameters, pack metadata and what the worker hands a process.
 */

/** What is wrong with a piece of text. */
export type TextProblem = 'nul' | 'unpaired-surrogate';

/** Deepest nesting accepted in structured values, parameters and pack metadata. */
export const MAX_NESTING = 32;

/** What {@link findUnstorable} found, and where. */
export interface Unstorable {
  /** Dotted path to the offending string or key inside the value (empty for the value itself). */
  readonly path: string;
  readonly kind: TextProblem | 'too-deep';
  /** The problem in words (`holds a NUL character`), never quoting the text. */
  readonly problem: string;
}

const WORDS: Record<TextProblem, string> = {
  nul: 'holds a NUL character',
  'unpaired-surrogate': 'holds an unpaired UTF-16 surrogate',
};

/** What is wrong with `text`, if anything. */
export function textProblem(text: string): TextProblem | undefined {
  if (text.includes('\0')) return 'nul';
  // String.prototype.isWellFormed (Node 20; TypeScript's ES2023 library does not declare it yet).
  if (!(text as string & { isWellFormed(): boolean }).isWellFormed()) return 'unpaired-surrogate';
  return undefined;
}

/**
 * Finds what a JSON-like value may not hold, without recursion: nesting deeper than {@link MAX_NESTING} levels, and
 * a {@link textProblem} in a string or an object key. Never returns the offending text itself.
 */
export function findUnstorable(value: unknown): Unstorable | undefined {
  const stack: Array<[unknown, number, readonly string[]]> = [[value, 0, []]];
  while (stack.length > 0) {
    const [v, depth, path] = stack.pop() as [unknown, number, readonly string[]];
    if (depth > MAX_NESTING)
      return { path: path.join('.'), kind: 'too-deep', problem: `nests deeper than ${MAX_NESTING} levels` };
    if (typeof v === 'string') {
      const kind = textProblem(v);
      if (kind) return { path: path.join('.'), kind, problem: WORDS[kind] };
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => {
        stack.push([item, depth + 1, [...path, String(i)]]);
      });
    } else if (v && typeof v === 'object') {
      for (const [key, item] of Object.entries(v)) {
        const kind = textProblem(key);
        if (kind) return { path: path.join('.'), kind, problem: `has a key that ${WORDS[kind]}` };
        stack.push([item, depth + 1, [...path, key]]);
      }
    }
  }
  return undefined;
}
