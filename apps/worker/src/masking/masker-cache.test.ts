import { describe, expect, it } from 'vitest';
import { MaskerCache } from './masker-cache.js';

const secrets = (...values: unknown[]) => values.map((value, i) => ({ ref: `p.s${i}`, value }));

describe('MaskerCache', () => {
  it('reuses the masker of the same refs, values and minimum, and builds another for any difference', () => {
    const cache = new MaskerCache();
    const first = cache.get(secrets('first-secret-value', { user: 'svc', password: 'nested-password' }), 6);
    expect(cache.get(secrets('first-secret-value', { user: 'svc', password: 'nested-password' }), 6)).toBe(
      first,
    );
    // Another value at the same ref (a secret purged and created again): masked, not the old masker.
    const rotated = cache.get(secrets('other-secret-value', { user: 'svc', password: 'nested-password' }), 6);
    expect(rotated).not.toBe(first);
    expect(rotated.mask('x other-secret-value y')).toBe('x *** y');
    expect(first.mask('x other-secret-value y')).toBe('x other-secret-value y');
    // Another ref (its warnings name refs), another minimum, a boundary moved between ref and value: others.
    expect(cache.get([{ ref: 'q.s0', value: 'first-secret-value' }], 6)).not.toBe(
      cache.get([{ ref: 'p.s0', value: 'first-secret-value' }], 6),
    );
    expect(cache.get(secrets('first-secret-value'), 7)).not.toBe(cache.get(secrets('first-secret-value'), 6));
    expect(cache.get([{ ref: 'ab', value: 'cdefgh-secret' }], 6)).not.toBe(
      cache.get([{ ref: 'abc', value: 'defgh-secret' }], 6),
    );
    // A string and the JSON of the same text are different values.
    expect(cache.get(secrets('123456789'), 6)).not.toBe(cache.get(secrets(123456789), 6));
  });

  it('keeps at most 64 maskers, least recently used out first, and none past ten minutes', () => {
    let now = 0;
    const cache = new MaskerCache({ now: () => now });
    const kept = cache.get(secrets('kept-secret-value'), 6);
    const fillers = [];
    for (let i = 0; i < 100; i++) {
      fillers.push(cache.get(secrets(`filler-secret-value-${i}`), 6));
      expect(cache.get(secrets('kept-secret-value'), 6)).toBe(kept); // used again: stays
    }
    expect(cache.size).toBe(64);
    // The least recently used went first: the last fillers are kept, the first ones were evicted.
    expect(cache.get(secrets('filler-secret-value-99'), 6)).toBe(fillers[99]);
    expect(cache.get(secrets('filler-secret-value-0'), 6)).not.toBe(fillers[0]);
    now = 10 * 60_000 + 1;
    expect(cache.get(secrets('kept-secret-value'), 6)).not.toBe(kept);
  });

  it('drops what expired even when it is never asked for again, and does not keep large maskers', () => {
    let now = 0;
    const cache = new MaskerCache({ now: () => now });
    cache.get(secrets('deleted-secret-value'), 6);
    cache.get(secrets('other-secret-value'), 6);
    expect(cache.size).toBe(2);
    now = 10 * 60_000;
    cache.dropExpired();
    expect(cache.size).toBe(0);
    // A certificate bundle's forms run to millions of characters: built for its execution, not kept.
    const bundle = Array.from({ length: 40 }, (_, i) => `line-${i}-${'B'.repeat(1500)}`).join('\n');
    const large = cache.get(secrets(bundle), 6);
    expect(large.formsLength).toBeGreaterThan(64 * 1024);
    expect(cache.size).toBe(0);
    expect(cache.get(secrets(bundle), 6)).not.toBe(large);
    expect(large.mask(`x ${bundle} y`)).toBe('x *** y');
    cache.get(secrets('small-secret-value'), 6);
    cache.clear();
    expect(cache.size).toBe(0);
  });

  it('does not cache a value without JSON text, and still masks it', () => {
    const cache = new MaskerCache();
    const deep: unknown[] = [];
    let level = deep;
    for (let i = 0; i < 20_000; i++) {
      const next: unknown[] = [];
      level.push(next);
      level = next;
    }
    level.push('deeply-nested-secret');
    const a = cache.get([{ ref: 'p.deep', value: deep }], 6);
    expect(cache.get([{ ref: 'p.deep', value: deep }], 6)).not.toBe(a);
    expect(a.mask('a deeply-nested-secret b')).toBe('a *** b');
    expect(cache.size).toBe(0);
  });
});
