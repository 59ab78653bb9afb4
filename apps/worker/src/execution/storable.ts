/**
 * What PostgreSQL cannot store: a NUL in `text` (SQLSTATE 22021), and in `jsonb` a `\u0000` escape (22P05) or an
 * unpaired surrogate (22P02). An action can print any of them; each is replaced by U+FFFD before the execution is
 * stored, so its output is kept instead of the whole outcome being refused.
 */
const UNSTORABLE = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** `text` with NULs and unpaired surrogates replaced by U+FFFD. */
export function storableText(text: string): string {
  UNSTORABLE.lastIndex = 0;
  return UNSTORABLE.test(text) ? text.replace(UNSTORABLE, '\uFFFD') : text;
}

/**
 * A copy of parsed JSON whose strings and keys are {@link storableText}. Iterative, so that any depth of nesting
 * an action prints is fine.
 */
export function storableValue(value: unknown): unknown {
  const root: { value: unknown } = { value: undefined };
  const stack: Array<{ from: unknown; into: Record<string, unknown> | unknown[]; key: string | number }> = [
    { from: value, into: root as unknown as Record<string, unknown>, key: 'value' },
  ];
  while (stack.length > 0) {
    const { from, into, key } = stack.pop() as (typeof stack)[number];
    let copy: unknown;
    if (typeof from === 'string') copy = storableText(from);
    else if (Array.isArray(from)) {
      const list: unknown[] = new Array(from.length);
      for (let i = 0; i < from.length; i++) stack.push({ from: from[i], into: list, key: i });
      copy = list;
    } else if (from !== null && typeof from === 'object') {
      const object: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(from)) stack.push({ from: v, into: object, key: storableText(k) });
      copy = object;
    } else copy = from;
    (into as Record<string | number, unknown>)[key] = copy;
  }
  return root.value;
}
