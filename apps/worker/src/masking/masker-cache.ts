import { createHash } from 'node:crypto';
import { SecretMasker } from './masker.js';

/** Maskers kept (each holds its forms and a 128 KiB bitmap: at most ~9 MiB). */
const MAX_ENTRIES = 64;
/** How long a masker is reused: the forms of a rotated or deleted secret are not kept past it. */
const TTL_MS = 10 * 60_000;

/**
 * The maskers of recent executions, reused by the next execution with exactly the same secrets (refs and values)
 * and minimum length — an action run again, typically — instead of deriving every form and building the matcher
 * again (about a millisecond of CPU on the path to the action's start).
 *
 * Keyed by a SHA-256 of the refs, the values and the minimum, never by ref and version alone: a secret purged and
 * created again restarts at version 1 with another value, which must be masked. A masker is synchronous and keeps
 * no output between calls, so executions can share one. Bounded (least recently used out first) and short-lived; it
 * lives in the worker's memory, which already holds the data keys and which no action can read (docs/worker.md#security-model).
 */
export class MaskerCache {
  readonly #entries = new Map<string, { masker: SecretMasker; until: number }>();
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** How many maskers are kept now. */
  get size(): number {
    return this.#entries.size;
  }

  /** The masker of these secrets: a kept one, or a new one (then kept). */
  get(secrets: ReadonlyArray<{ ref: string; value: unknown }>, minLength: number): SecretMasker {
    const key = cacheKey(secrets, minLength);
    if (key === undefined) return new SecretMasker(secrets, minLength);
    const now = this.#now();
    const kept = this.#entries.get(key);
    this.#entries.delete(key);
    if (kept && kept.until > now) {
      this.#entries.set(key, kept);
      return kept.masker;
    }
    const masker = new SecretMasker(secrets, minLength);
    this.#entries.set(key, { masker, until: now + TTL_MS });
    for (const [oldest] of this.#entries) {
      if (this.#entries.size <= MAX_ENTRIES) break;
      this.#entries.delete(oldest);
    }
    return masker;
  }
}

/** The key of a list of secrets, or undefined when a value has no JSON text (it is then not cached). */
function cacheKey(
  secrets: ReadonlyArray<{ ref: string; value: unknown }>,
  minLength: number,
): string | undefined {
  const hash = createHash('sha256').update(String(minLength));
  for (const { ref, value } of secrets) {
    let text: string;
    try {
      text = typeof value === 'string' ? `s${value}` : `j${JSON.stringify(value)}`;
    } catch {
      return undefined;
    }
    // Length-prefixed, so that no two lists of refs and values give one input.
    hash.update(`${ref.length}:${ref}${text.length}:`).update(text);
  }
  return hash.digest('base64');
}
