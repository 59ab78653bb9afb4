import type { SecretMasker } from './masker.js';

/**
 * Collects one output stream of an action with bounded memory: at most `cap` bytes plus a margin as long as the
 * longest masked form (so a secret that straddles the cap is still seen whole and masked). Everything past that is
 * counted and dropped; the child is never blocked, since the stream keeps being read.
 */
export class OutputCapture {
  readonly #chunks: Buffer[] = [];
  readonly #keep: number;
  #kept = 0;
  /** Bytes the action wrote to this stream, kept or not. */
  total = 0;

  /**
   * @param cap bytes kept (10 MiB by default, `worker.output_cap_bytes`)
   * @param longestForm the masker's longest form in characters; 4 bytes each are kept past the cap
   */
  constructor(
    readonly cap: number,
    longestForm: number,
  ) {
    this.#keep = cap + 4 * longestForm;
  }

  /** Takes a chunk. */
  push(chunk: Buffer): void {
    this.total += chunk.length;
    const room = this.#keep - this.#kept;
    if (room <= 0) return;
    const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
    this.#chunks.push(part);
    this.#kept += part.length;
  }

  /** Whether the stream went past the cap. */
  get truncated(): boolean {
    return this.total > this.cap;
  }

  /**
   * The text as the action wrote it (what was kept), NOT masked: only for parsing the result, which is then masked
   * as data. Never store or log it.
   */
  text(): string {
    return Buffer.concat(this.#chunks).toString('utf8');
  }

  /** The masked text, cut at the cap with a notice when the stream was longer. */
  finish(masker: SecretMasker): string {
    const bytes = Buffer.concat(this.#chunks);
    const text = bytes.toString('utf8');
    if (!this.truncated) return masker.mask(text);
    // The cut is placed in characters at the cap's byte offset; the margin past it holds any straddling secret.
    const limit = bytes.subarray(0, this.cap).toString('utf8').length;
    return `${masker.maskAndCut(text, limit)}\n[attune: output truncated: ${this.total} bytes written, the first ${this.cap} kept]\n`;
  }
}
