import { createHash } from 'node:crypto';
import { SecretMasker } from './masker.js';

/** Maskers kept at most. */
const MAX_ENTRIES = 64;
/**
 * The largest masker kept, in characters of forms (a set of ordinary secrets holds a few thousand): a larger one — a
 * 64 KiB certificate bundle has millions — is built for each execution and freed with it. With the matcher's lazily
 * built border tables (4 bytes a character) and its 128 KiB bitmap, a kept masker holds at most ~512 KiB: the cache
 * at most ~32 MiB, whatever actions print.
 */
const MAX_FORMS_LENGTH = 64 * 1024;
/** How long a masker is kept: the forms of a rotated or deleted secret are not held past it. */
const TTL_MS = 10 * 60_000;

/**
 * The maskers of recent executions, reused by the next execution with exactly the same secrets (refs and values)
 * and minimum length — an action run again, typically — instead of deriving every form and building the matcher
 * again (about a millisecond of CPU on the path to the action's start).
 *
 * Keyed by a SHA-256 of the minimum, the refs and the values (each length-prefixed, strings as UTF-16 so that no two
 * texts share an input), never by ref and version alone: a secret purged and created again restarts at version 1
 * with another value, which must be masked. A masker is synchronous and keeps no output between calls, so
 * executions can share one. Bounded in entries and in size (large maskers are not kept), and short-lived: expired
 * entries are dropped on every use and by a timer while any is kept. It lives in the worker's memory, which already
 * holds the data keys and which no action can read (docs/worker.md#security-model).
 */
export class MaskerCache {
  readonly #entries = new Map<string, { masker: SecretMasker; until: number }>();
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** How many maskers are kept now. */
  get size(): number {
    return this.#entries.size;
  }

  /** The masker of these secrets: a kept one, or a new one (then kept, unless it is large). */
  get(secrets: ReadonlyArray<{ ref: string; value: unknown }>, minLength: number): SecretMasker {
    const now = this.#now();
    this.dropExpired(now);
    const key = cacheKey(secrets, minLength);
    if (key === undefined) return new SecretMasker(secrets, minLength);
    const kept = this.#entries.get(key);
    if (kept) {
      // Most recently used last: the first entry is the one to evict.
      this.#entries.delete(key);
      this.#entries.set(key, kept);
      return kept.masker;
    }
    const masker = new SecretMasker(secrets, minLength);
    if (masker.formsLength > MAX_FORMS_LENGTH) return masker;
    this.#entries.set(key, { masker, until: now + TTL_MS });
    for (const [oldest] of this.#entries) {
      if (this.#entries.size <= MAX_ENTRIES) break;
      this.#entries.delete(oldest);
    }
    this.#timer ??= setInterval(() => this.dropExpired(this.#now()), 60_000).unref();
    return masker;
  }

  /** Drops the maskers kept past their time (and stops the timer when none is left). */
  dropExpired(now: number = this.#now()): void {
    for (const [key, entry] of this.#entries) if (entry.until <= now) this.#entries.delete(key);
    if (this.#entries.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Drops every masker (the worker stopping). */
  clear(): void {
    this.#entries.clear();
    this.dropExpired();
  }
}

/** The key of a list of secrets, or undefined when a value has no JSON text (it is then not cached). */
function cacheKey(
  secrets: ReadonlyArray<{ ref: string; value: unknown }>,
  minLength: number,
): string | undefined {
  const hash = createHash('sha256').update(`${minLength}:`);
  for (const { ref, value } of secrets) {
    let text: string;
    try {
      text = typeof value === 'string' ? `s${value}` : `j${JSON.stringify(value)}`;
    } catch {
      return undefined;
    }
    // Length-prefixed (in UTF-16 code units, as hashed), so that no two lists of refs and values give one input.
    hash
      .update(`${ref.length}:${text.length}:`)
      .update(Buffer.from(ref, 'utf16le'))
      .update(Buffer.from(text, 'utf16le'));
  }
  return hash.digest('base64');
}
