/**
 * Finds every occurrence of a set of literal patterns in a text, in one left-to-right pass whose cost grows with
 * the text, not with the number or size of the patterns (a 64 KiB secret yields megabytes of pattern text, which
 * no RegExp alternation accepts).
 *
 * Each pattern is anchored on its first A characters, A = min(16, shortest pattern). A rolling hash of the A
 * characters at each text position is looked up in a bitmap first (almost every position stops there) and then in
 * a map from anchor hash to the patterns with that anchor, longest first, each compared character by character.
 * Memory is the patterns themselves, a fixed 128 KiB bitmap, one map entry per distinct anchor and a few integers
 * per pattern; nothing per text character.
 *
 * Verification stops as soon as a pattern cannot extend the masked union, and each pattern keeps what its last
 * comparison learnt, as in Knuth–Morris–Pratt, so a repetitive secret in repetitive text (`aaaa…b` in a run of
 * `a`) costs time linear in the text, not text times pattern. The KMP border table (4 bytes a pattern character)
 * is built only for a pattern that half-matches or overlaps itself in the text.
 */
export class PatternMatcher {
  /** Length of the longest pattern, 0 when there is none. */
  readonly longest: number;
  /** Length of the shortest pattern, 0 when there is none. */
  readonly shortest: number;
  /** Number of distinct patterns. */
  readonly size: number;
  /** The patterns' total length in characters: what this matcher holds, beside its fixed bitmap. */
  readonly totalLength: number;
  readonly #patterns: string[];
  readonly #anchor: number;
  /** BASE^(anchor - 1) mod 2^32: the weight of the character leaving the window. */
  readonly #outWeight: number;
  readonly #bitmap = new Uint32Array(1 << (BITMAP_BITS - 5));
  /** Anchor hash to pattern indices, longest first (the patterns are sorted so). */
  readonly #buckets = new Map<number, number[]>();
  /** Border table of each pattern (see {@link borderTable}), built when first needed. */
  readonly #borders: (Int32Array | undefined)[];
  /** Per pattern, valid in the scan numbered #stateScan: next possible start, and how much is matched there. */
  readonly #resumeAt: Int32Array;
  readonly #resumeLength: Int32Array;
  readonly #stateScan: Int32Array;
  /** Per pattern, valid in the scan numbered #foundScan: start of its last occurrence. */
  readonly #foundAt: Int32Array;
  readonly #foundScan: Int32Array;
  #scan = 0;

  constructor(patterns: Iterable<string>) {
    const unique = [...new Set(patterns)].filter((p) => p.length > 0).sort((a, b) => b.length - a.length);
    this.#patterns = unique;
    this.size = unique.length;
    this.longest = unique[0]?.length ?? 0;
    this.shortest = unique[unique.length - 1]?.length ?? 0;
    this.totalLength = unique.reduce((sum, p) => sum + p.length, 0);
    this.#anchor = Math.min(ANCHOR_MAX, this.shortest);
    let weight = 1;
    for (let i = 1; i < this.#anchor; i++) weight = Math.imul(weight, BASE);
    this.#outWeight = weight;
    for (let index = 0; index < unique.length; index++) {
      const hash = hashOf(unique[index] as string, this.#anchor);
      const slot = bitmapSlot(hash);
      this.#bitmap[slot >>> 5] = (this.#bitmap[slot >>> 5] as number) | (1 << (slot & 31));
      const bucket = this.#buckets.get(hash);
      if (bucket) bucket.push(index);
      else this.#buckets.set(hash, [index]);
    }
    this.#borders = new Array(unique.length).fill(undefined);
    this.#resumeAt = new Int32Array(unique.length);
    this.#resumeLength = new Int32Array(unique.length);
    this.#stateScan = new Int32Array(unique.length);
    this.#foundAt = new Int32Array(unique.length);
    this.#foundScan = new Int32Array(unique.length);
  }

  /**
   * The union of all occurrences of all patterns in `text`, overlapping and adjacent ones merged, as a flat list
   * `[start0, end0, start1, end1, …]` (ends exclusive, ascending). With `firstOnly`, stops at the first occurrence.
   */
  find(text: string, firstOnly = false): number[] {
    const out: number[] = [];
    const n = text.length;
    const anchor = this.#anchor;
    if (this.size === 0 || n < this.shortest) return out;
    const scan = this.#nextScan();
    const patterns = this.#patterns;
    const bitmap = this.#bitmap;
    const buckets = this.#buckets;
    const outWeight = this.#outWeight;
    let hash = 0;
    for (let i = 0; i < anchor; i++) hash = (Math.imul(hash, BASE) + text.charCodeAt(i)) | 0;
    let start = -1;
    let end = -1;
    const last = n - anchor;
    for (let i = 0; ; i++) {
      const slot = bitmapSlot(hash);
      if (((bitmap[slot >>> 5] as number) & (1 << (slot & 31))) !== 0) {
        const bucket = buckets.get(hash);
        if (bucket) {
          for (let b = 0; b < bucket.length; b++) {
            const index = bucket[b] as number;
            const length = (patterns[index] as string).length;
            const stop = i + length;
            // Longest first: once a pattern cannot reach past the union, no shorter one can.
            if (stop <= end) break;
            if (stop > n || !this.#verify(text, index, i, length, scan)) continue;
            if (i <= end) end = stop;
            else {
              if (start >= 0) out.push(start, end);
              start = i;
              end = stop;
            }
            if (firstOnly) {
              out.push(start, end);
              return out;
            }
            break;
          }
        }
      }
      if (i >= last) break;
      hash =
        (Math.imul((hash - Math.imul(text.charCodeAt(i), outWeight)) | 0, BASE) +
          text.charCodeAt(i + anchor)) |
        0;
    }
    if (start >= 0) out.push(start, end);
    return out;
  }

  /** Whether any pattern occurs in `text`. */
  test(text: string): boolean {
    return this.find(text, true).length > 0;
  }

  /**
   * Whether pattern `index` occurs at `at`. Candidates of one pattern come in ascending `at`; what a previous
   * comparison learnt is kept as in Knuth–Morris–Pratt: after `k` characters matched at `p`, no occurrence starts
   * strictly between `p` and the next shift allowed by the pattern's borders, and the border is already matched
   * there. So a pattern that keeps half-matching periodic text is compared in linear total time, not `k` per
   * position. The border table is built only for a pattern that needs it: a long partial match, or an occurrence
   * overlapping its previous one.
   */
  #verify(text: string, index: number, at: number, length: number, scan: number): boolean {
    const pattern = this.#patterns[index] as string;
    let k = 0;
    const borders = this.#borders[index];
    if (borders && this.#stateScan[index] === scan) {
      let resume = this.#resumeAt[index] as number;
      let known = this.#resumeLength[index] as number;
      while (resume < at && known > 0) {
        const next = borders[known] as number;
        resume += known - next;
        known = next;
      }
      if (resume > at) return false;
      if (resume === at) k = known;
    }
    while (k < length && text.charCodeAt(at + k) === pattern.charCodeAt(k)) k++;
    const found = k === length;
    let table = borders;
    if (!table) {
      const overlapping =
        found && this.#foundScan[index] === scan && at < (this.#foundAt[index] as number) + length;
      if (k >= this.#anchor + LONG_PARTIAL || overlapping) {
        table = borderTable(pattern);
        this.#borders[index] = table;
      }
    }
    if (table && k > 0) {
      const border = table[k] as number;
      this.#resumeAt[index] = at + k - border;
      this.#resumeLength[index] = border;
      this.#stateScan[index] = scan;
    } else this.#stateScan[index] = 0;
    if (found) {
      this.#foundAt[index] = at;
      this.#foundScan[index] = scan;
    }
    return found;
  }

  #nextScan(): number {
    if (this.#scan === 0x7fffffff) {
      this.#scan = 0;
      this.#stateScan.fill(0);
      this.#foundScan.fill(0);
    }
    return ++this.#scan;
  }
}

const ANCHOR_MAX = 16;
/** A partial match this far past the anchor makes a pattern keep KMP state: shorter ones cost little to redo. */
const LONG_PARTIAL = 8;
const BITMAP_BITS = 20;
/** Odd multiplier of the polynomial rolling hash (mod 2^32). Its quality only affects speed: matches are verified. */
const BASE = 0x01000193;

function hashOf(text: string, length: number): number {
  let hash = 0;
  for (let i = 0; i < length; i++) hash = (Math.imul(hash, BASE) + text.charCodeAt(i)) | 0;
  return hash;
}

/** Spreads a hash over the bitmap: the top bits of a Fibonacci multiplication mix all input bits. */
function bitmapSlot(hash: number): number {
  return Math.imul(hash, 0x9e3779b1) >>> (32 - BITMAP_BITS);
}

/**
 * KMP border table: entry k (0 < k <= length) is the length of the longest proper prefix of pattern[0, k) that is
 * also its suffix; entry 0 is -1.
 */
function borderTable(pattern: string): Int32Array {
  const border = new Int32Array(pattern.length + 1);
  border[0] = -1;
  let k = -1;
  for (let i = 0; i < pattern.length; i++) {
    while (k >= 0 && pattern.charCodeAt(k) !== pattern.charCodeAt(i)) k = border[k] as number;
    k++;
    border[i + 1] = k;
  }
  return border;
}
