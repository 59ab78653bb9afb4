import { codePointLength, formsOf, secretValues, valueVariants } from './forms.js';
import { PatternMatcher } from './matcher.js';

/**
 * Masks secret values in action output before anything is stored or logged (docs/worker.md#output-capture-masking-result).
 *
 * Every value of at least `minLength` code points (see {@link secretValues}, {@link valueVariants}) is masked in
 * each of its forms ({@link formsOf}): raw, JSON-, URL-, HTML/XML-escaped, base64 at any offset, and the runner's
 * own escapings. Shorter values are not masked (masking `1` or `yes` garbles every log) and are reported instead.
 *
 * Replacement takes the union of every occurrence of every form at every position, so two overlapping secrets are
 * both masked whole. Besides the fixed forms, every stretch of text that reads as the inside of a JSON string and
 * holds an escape is decoded, and masked if the decoded text holds a secret: this catches a secret printed with any
 * mix of escaped and plain characters (`s\u006b_l\u0049ve`), which no list of forms can.
 */

/** What replaces every masked stretch of output. */
export const MASK = '***';

/** A value too short to mask, reported as a warning naming its ref. */
export interface UnmaskedSecret {
  readonly ref: string;
  /** Length in code points. */
  readonly length: number;
}

/**
 * Levels of JSON strings inside JSON strings decoded and masked exactly (a JSON document logged as a string inside
 * a JSON log line is two). At the next level an escaped stretch is only checked for the fixed forms, and masked
 * whole if its decoding still holds a backslash, since what that encodes is no longer looked at. The constant
 * bounds the recursion and the work: at most MAX_DEPTH + 2 passes over the text.
 */
const MAX_DEPTH = 3;

/** Masked stretches of one text, ascending and disjoint: what replaces [starts[i], ends[i]) is texts[i]. */
interface Replacements {
  readonly starts: number[];
  readonly ends: number[];
  readonly texts: string[];
}

/** The masker of one execution. Holds that execution's values only. */
export class SecretMasker {
  readonly #matcher: PatternMatcher;
  /** Length in characters of the longest form masked: how far an occurrence can reach past a cut. */
  readonly longestForm: number;
  /** The forms' total length in characters: how much this masker holds (its matcher may add 4 bytes a character). */
  readonly formsLength: number;
  /** Values not masked because they are shorter than the minimum. */
  readonly unmasked: readonly UnmaskedSecret[];

  constructor(secrets: ReadonlyArray<{ ref: string; value: unknown }>, minLength: number) {
    const forms = new Set<string>();
    const unmasked: UnmaskedSecret[] = [];
    for (const { ref, value } of secrets) {
      const reported = new Set<string>();
      for (const { text, kind } of secretValues(value)) {
        const length = codePointLength(text);
        if (length < minLength) {
          if (kind !== 'boolean' && length > 0 && !reported.has(text)) {
            reported.add(text);
            unmasked.push({ ref, length });
          }
          continue;
        }
        for (const variant of valueVariants(text, minLength)) {
          for (const form of formsOf(variant)) if (codePointLength(form) >= minLength) forms.add(form);
        }
      }
    }
    this.#matcher = new PatternMatcher(forms);
    this.longestForm = this.#matcher.longest;
    this.formsLength = this.#matcher.totalLength;
    this.unmasked = unmasked;
  }

  /** Replaces every occurrence of every form by {@link MASK}, and re-encodes escaped JSON text that holds one. */
  mask(text: string): string {
    if (text.length < this.#matcher.shortest || this.#matcher.size === 0) return text;
    return render(text, this.#replacements(text, 0, false), text.length);
  }

  /**
   * Cuts `text` to about `limit` characters and masks it, never keeping part of a secret: the cut is moved past any
   * occurrence that starts before it, escaped JSON text included. `text` must extend at least
   * {@link SecretMasker.longestForm} characters past `limit` when it is longer than `limit`, so that every such
   * occurrence is whole.
   *
   * Escaped JSON text that runs into the end of `text` is cut off where the output was truncated, so what follows
   * it is unknown. It is decoded up to its last complete escape; if that holds a secret, or still holds a
   * backslash (a nested encoding whose rest is cut off could hide the start of a secret), everything from its start
   * to the end is replaced by one {@link MASK}. Masking the whole tail loses some output, but only when a long
   * escaped string crosses the truncation point, and keeps no partial secret whatever the escaping.
   */
  maskAndCut(text: string, limit: number): string {
    if (text.length <= limit) return this.mask(text);
    const replacements = this.#replacements(text, 0, true);
    let cut = limit;
    const { starts, ends } = replacements;
    for (let i = 0; i < starts.length && (starts[i] as number) < limit; i++) {
      if ((ends[i] as number) > cut) cut = ends[i] as number;
    }
    return render(text, replacements, cut);
  }

  /**
   * Masks parsed JSON data (the action's `result`): returns a deep copy in which every string and every object key
   * is masked with {@link SecretMasker.mask}, and every number whose JSON text holds a masked form is the string
   * {@link MASK}. Keys that become equal once masked are all kept, the later ones suffixed ` (2)`, ` (3)` …
   * Booleans and null are kept. Iterative: any nesting depth and size fit in memory, not on the stack. Throws a
   * TypeError on a cycle, which parsed JSON cannot have.
   */
  maskValue(value: unknown): unknown {
    const stack: CopyFrame[] = [];
    const root = this.#copyNode(value, stack);
    while (stack.length > 0) {
      const frame = stack[stack.length - 1] as CopyFrame;
      if (frame.next >= frame.length) {
        stack.pop();
        frame.path.delete(frame.source);
        continue;
      }
      const i = frame.next++;
      if (frame.kind === 'array') {
        frame.target.push(this.#copyNode(frame.source[i], stack));
      } else {
        const key = frame.keys[i] as string;
        const copy = this.#copyNode(frame.source[key], stack);
        const name = frame.names[i] as string;
        // A key named __proto__ (JSON.parse makes it an own property) must not set the copy's prototype.
        if (name === '__proto__')
          Object.defineProperty(frame.target, name, {
            value: copy,
            enumerable: true,
            writable: true,
            configurable: true,
          });
        else frame.target[name] = copy;
      }
    }
    return root;
  }

  /** A leaf masked, or an empty container whose frame is pushed to be filled. */
  #copyNode(node: unknown, stack: CopyFrame[]): unknown {
    if (typeof node === 'string') return this.mask(node);
    if (typeof node === 'number' || typeof node === 'bigint') {
      const text = typeof node === 'number' ? JSON.stringify(node) : node.toString();
      return this.mask(text) === text ? node : MASK;
    }
    if (node === null || typeof node !== 'object') return node;
    // The containers being copied, from the root down: shared by all frames of one call.
    const path = stack[0]?.path ?? new Set<object>();
    if (path.has(node)) throw new TypeError('maskValue: the value contains a cycle');
    path.add(node);
    if (Array.isArray(node)) {
      const target: unknown[] = [];
      stack.push({ kind: 'array', source: node, target, next: 0, length: node.length, path });
      return target;
    }
    const source = node as Record<string, unknown>;
    const keys = Object.keys(source);
    const target: Record<string, unknown> = {};
    stack.push({
      kind: 'object',
      source,
      target,
      keys,
      names: this.#maskKeys(keys),
      next: 0,
      length: keys.length,
      path,
    });
    return target;
  }

  /** Masked keys, made unique again by suffixing ` (n)` to every later one that collides. */
  #maskKeys(keys: readonly string[]): readonly string[] {
    const masked = keys.map((key) => this.mask(key));
    // Keys of one object are distinct, so they can only collide if one was masked.
    if (masked.every((name, i) => name === keys[i])) return keys;
    const names: string[] = [];
    const used = new Set<string>();
    const nextSuffix = new Map<string, number>();
    for (const maskedKey of masked) {
      let name = maskedKey;
      if (used.has(name)) {
        let n = nextSuffix.get(maskedKey) ?? 2;
        while (used.has(`${maskedKey} (${n})`)) n++;
        nextSuffix.set(maskedKey, n + 1);
        name = `${maskedKey} (${n})`;
      }
      used.add(name);
      names.push(name);
    }
    return names;
  }

  /**
   * The stretches of `text` to replace: occurrences of the forms (by {@link MASK}) and escaped JSON text holding a
   * secret (by its masked, re-encoded content). `truncated` says that `text` was cut off at its end.
   */
  #replacements(text: string, depth: number, truncated: boolean): Replacements {
    const matcher = this.#matcher;
    const plain = matcher.find(text);
    const escaped: Replacements = { starts: [], ends: [], texts: [] };
    // A stretch shorter than the shortest form cannot decode to one, so short texts skip the scan.
    if (matcher.size > 0 && text.length >= matcher.shortest && text.includes('\\')) {
      const runs = escapedRuns(text);
      for (let r = 0; r < runs.length; r += 3) {
        const start = runs[r] as number;
        const end = runs[r + 1] as number;
        const open = runs[r + 2] === 1;
        if (end - start < matcher.shortest) continue;
        const decoded = JSON.parse(`"${text.slice(start, end)}"`) as string;
        let replacement: string | undefined;
        if (open && truncated) {
          // Cut off by the truncation: see maskAndCut. The whole tail goes.
          if (decoded.includes('\\') || matcher.test(decoded)) {
            escaped.starts.push(start);
            escaped.ends.push(text.length);
            escaped.texts.push(MASK);
          }
          continue;
        }
        if (depth >= MAX_DEPTH) {
          if (decoded.includes('\\') || matcher.test(decoded)) replacement = MASK;
        } else {
          const masked = render(decoded, this.#replacements(decoded, depth + 1, false), decoded.length);
          if (masked !== decoded) {
            replacement = JSON.stringify(masked).slice(1, -1);
            // Re-encoding can write a form the input did not hold (a secret containing `\n` as two characters,
            // printed as `\u000a`): then the stretch is masked whole.
            if (matcher.test(replacement)) replacement = MASK;
          }
        }
        if (replacement === undefined) continue;
        escaped.starts.push(start);
        escaped.ends.push(end);
        escaped.texts.push(replacement);
      }
    }
    return combine(plain, escaped);
  }
}

/** One container being copied by maskValue: its source, its copy, and the next child to copy. */
interface FrameBase {
  readonly length: number;
  readonly path: Set<object>;
  next: number;
}

interface ArrayFrame extends FrameBase {
  readonly kind: 'array';
  readonly source: readonly unknown[];
  readonly target: unknown[];
}

interface ObjectFrame extends FrameBase {
  readonly kind: 'object';
  readonly source: Readonly<Record<string, unknown>>;
  readonly target: Record<string, unknown>;
  readonly keys: readonly string[];
  /** The masked keys the copy uses, in the order of `keys`. */
  readonly names: readonly string[];
}

type CopyFrame = ArrayFrame | ObjectFrame;

/**
 * Merges the union of form occurrences (`plain`, flat start/end pairs, already merged) with the escaped stretches
 * (disjoint, ascending). An occurrence wholly inside an escaped stretch is dropped, since the stretch is replaced
 * by a re-encoding checked to hold no form; any other overlap makes one stretch replaced by {@link MASK}, and
 * stretches replaced by {@link MASK} that touch are merged.
 */
function combine(plain: readonly number[], escaped: Replacements): Replacements {
  const out: Replacements = { starts: [], ends: [], texts: [] };
  let p = 0;
  let e = 0;
  let start = -1;
  let end = -1;
  let replacement = MASK;
  while (p < plain.length || e < escaped.starts.length) {
    const plainStart = p < plain.length ? (plain[p] as number) : Number.POSITIVE_INFINITY;
    const escapedStart = e < escaped.starts.length ? (escaped.starts[e] as number) : Number.POSITIVE_INFINITY;
    // On a tie the escaped stretch goes first, so that an occurrence starting with it can fall inside it.
    const takeEscaped = escapedStart <= plainStart;
    const nextStart = takeEscaped ? escapedStart : plainStart;
    const nextEnd = takeEscaped ? (escaped.ends[e] as number) : (plain[p + 1] as number);
    const nextText = takeEscaped ? (escaped.texts[e] as string) : MASK;
    if (takeEscaped) e++;
    else p += 2;
    if (start >= 0 && nextStart < end) {
      if (replacement !== MASK && !takeEscaped && nextEnd <= end) continue;
      replacement = MASK;
      end = Math.max(end, nextEnd);
      continue;
    }
    if (start >= 0 && nextStart === end && replacement === MASK && nextText === MASK) {
      end = nextEnd;
      continue;
    }
    if (start >= 0) {
      out.starts.push(start);
      out.ends.push(end);
      out.texts.push(replacement);
    }
    start = nextStart;
    end = nextEnd;
    replacement = nextText;
  }
  if (start >= 0) {
    out.starts.push(start);
    out.ends.push(end);
    out.texts.push(replacement);
  }
  return out;
}

/** `text` up to `cut` with the replacements that start before `cut` applied (they end by `cut`). */
function render(text: string, replacements: Replacements, cut: number): string {
  const { starts, ends, texts } = replacements;
  if (starts.length === 0) return cut >= text.length ? text : text.slice(0, cut);
  const parts: string[] = [];
  let at = 0;
  for (let i = 0; i < starts.length && (starts[i] as number) < cut; i++) {
    parts.push(text.slice(at, starts[i]), texts[i] as string);
    at = ends[i] as number;
  }
  if (at < cut) parts.push(text.slice(at, cut));
  return parts.join('');
}

/**
 * The stretches of `text` that read as the inside of a JSON string and hold at least one escape, as flat triples
 * `[start, end, open]`. A stretch is ended by an unescaped `"`, a raw control character (JSON strings cannot hold
 * one: a raw newline ends a literal), or an invalid escape (`\x`); every such boundary is also a start, so a stray
 * or missing quote cannot shift which stretches are decoded. `end` is after the last complete escape; `open` is 1
 * when the stretch runs into the end of `text` (possibly through an escape cut short). A linear scan over char
 * codes: a RegExp over a multi-megabyte literal overflows V8's backtracking stack.
 */
function escapedRuns(text: string): number[] {
  const runs: number[] = [];
  const n = text.length;
  let start = 0;
  let hasEscape = false;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE || c < 0x20) {
      if (hasEscape) runs.push(start, i, 0);
      start = i + 1;
      hasEscape = false;
      i++;
      continue;
    }
    if (c !== BACKSLASH) {
      i++;
      continue;
    }
    const length = escapeLength(text, i);
    if (length > 0) {
      hasEscape = true;
      i += length;
      continue;
    }
    if (length < 0) {
      if (hasEscape) runs.push(start, i, 1);
      return runs;
    }
    if (hasEscape) runs.push(start, i, 0);
    start = i + 1;
    hasEscape = false;
    i++;
  }
  if (hasEscape) runs.push(start, n, 1);
  return runs;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** Characters that may follow a backslash in a JSON string, `u` aside. */
const SIMPLE_ESCAPES = new Set([...'"\\/bfnrt'].map((ch) => ch.charCodeAt(0)));

/** Length of the escape at `at` (a backslash): 2 or 6 if valid, 0 if invalid, -1 if cut short by the end. */
function escapeLength(text: string, at: number): number {
  if (at + 1 >= text.length) return -1;
  const next = text.charCodeAt(at + 1);
  if (SIMPLE_ESCAPES.has(next)) return 2;
  if (next !== 0x75) return 0;
  for (let k = 2; k < 6; k++) {
    if (at + k >= text.length) return -1;
    const h = text.charCodeAt(at + k);
    const isHex = (h >= 0x30 && h <= 0x39) || (h >= 0x41 && h <= 0x46) || (h >= 0x61 && h <= 0x66);
    if (!isHex) return 0;
  }
  return 6;
}
