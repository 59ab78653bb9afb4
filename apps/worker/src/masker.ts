/**
 * Masks secret values in action output before anything is stored or logged (docs/worker.md#masking).
 *
 * Every resolved secret value of at least `minLength` characters is replaced by `***` in each of its forms: as is,
 * JSON-escaped (as it appears inside a JSON string), and base64 (standard, padded and unpadded, and URL-safe). For
 * a structured secret, its compact JSON and each string inside it count as values too. Shorter values are not
 * masked — masking `1` or `yes` garbles every log — and are reported instead.
 */
export const MASK = '***';

/** A value too short to mask, reported as a warning naming its ref. */
export interface UnmaskedSecret {
  readonly ref: string;
  readonly length: number;
}

/** The masker of one execution. Holds that execution's values only. */
export class SecretMasker {
  readonly #pattern: RegExp | undefined;
  /** Length in characters of the longest form masked: how far an occurrence can reach past a cut. */
  readonly longestForm: number;
  /** Values not masked because they are shorter than the minimum. */
  readonly unmasked: readonly UnmaskedSecret[];

  constructor(secrets: ReadonlyArray<{ ref: string; value: unknown }>, minLength: number) {
    const forms = new Set<string>();
    const unmasked: UnmaskedSecret[] = [];
    for (const { ref, value } of secrets) {
      const strings = typeof value === 'string' ? [value] : [JSON.stringify(value), ...stringLeaves(value)];
      for (const text of strings) {
        if ([...text].length < minLength) {
          if (text.length > 0) unmasked.push({ ref, length: [...text].length });
          continue;
        }
        for (const form of formsOf(text)) forms.add(form);
      }
    }
    const sorted = [...forms].sort((a, b) => b.length - a.length);
    this.#pattern = sorted.length ? new RegExp(sorted.map(escapeRegExp).join('|'), 'g') : undefined;
    this.longestForm = sorted[0]?.length ?? 0;
    this.unmasked = unmasked;
  }

  /** Replaces every occurrence of every form by {@link MASK}. */
  mask(text: string): string {
    return this.#pattern ? text.replace(this.#pattern, MASK) : text;
  }

  /**
   * Cuts `text` to about `limit` characters and masks it, never keeping part of a secret: the cut is moved past any
   * occurrence that starts before it. `text` must extend at least {@link SecretMasker.longestForm} characters past
   * `limit` when it is longer than `limit`, so that every such occurrence is whole.
   */
  maskAndCut(text: string, limit: number): string {
    if (text.length <= limit) return this.mask(text);
    let cut = limit;
    if (this.#pattern) {
      this.#pattern.lastIndex = 0;
      for (let m = this.#pattern.exec(text); m !== null && m.index < limit; m = this.#pattern.exec(text)) {
        cut = Math.max(cut, m.index + m[0].length);
      }
      this.#pattern.lastIndex = 0;
    }
    return this.mask(text.slice(0, cut));
  }
}

function formsOf(text: string): string[] {
  const forms = [text];
  const escaped = JSON.stringify(text).slice(1, -1);
  if (escaped !== text) forms.push(escaped);
  const base64 = Buffer.from(text, 'utf8').toString('base64');
  forms.push(base64, base64.replace(/=+$/, ''), Buffer.from(text, 'utf8').toString('base64url'));
  return forms;
}

function stringLeaves(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringLeaves);
  if (value && typeof value === 'object') return Object.values(value).flatMap(stringLeaves);
  return [];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
