import { describe, expect, it } from 'vitest';
import { prng } from '../../test/support/prng.js';
import { PatternMatcher } from './matcher.js';

/** The reference: every occurrence of every pattern at every position, then the union, adjacent ones merged. */
function naive(patterns: readonly string[], text: string): number[] {
  const covered = new Uint8Array(text.length + 1);
  const starts = new Uint8Array(text.length + 1);
  for (const p of patterns) {
    if (p.length === 0) continue;
    for (let i = 0; i + p.length <= text.length; i++) {
      if (text.slice(i, i + p.length) !== p) continue;
      starts[i] = 1;
      covered.fill(1, i, i + p.length);
    }
  }
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (!covered[i]) continue;
    let j = i;
    while (j < text.length && covered[j]) j++;
    out.push(i, j);
    i = j - 1;
  }
  return out;
}

describe('PatternMatcher', () => {
  it('finds the union of all occurrences, overlapping and adjacent ones merged', () => {
    const m = new PatternMatcher(['abcdef', 'defghi', 'xyz123']);
    expect(m.find('..abcdefghi..')).toEqual([2, 11]);
    expect(m.find('abcdefxyz123 abcdef')).toEqual([0, 12, 13, 19]);
    expect(m.find('no match here')).toEqual([]);
    expect(m.find('')).toEqual([]);
  });

  it('takes the longest pattern at a position and reaches past a shorter overlapping one', () => {
    const m = new PatternMatcher(['secret', 'secret-long-form', 'long-form-tail!!']);
    expect(m.find('a secret-long-form-tail!! b')).toEqual([2, 25]);
  });

  it('reports sizes and the first occurrence only when asked', () => {
    const m = new PatternMatcher(['abcdef', 'abcdef', '', 'xyzxyzxyz']);
    expect([m.size, m.shortest, m.longest]).toEqual([2, 6, 9]);
    expect(m.find('abcdef abcdef', true)).toEqual([0, 6]);
    expect(m.test('..xyzxyzxyz')).toBe(true);
    expect(m.test('..xyzxyzxy')).toBe(false);
    expect(new PatternMatcher([]).find('anything')).toEqual([]);
  });

  it('handles patterns of one character and text shorter than the anchor', () => {
    expect(new PatternMatcher(['a']).find('banana')).toEqual([1, 2, 3, 4, 5, 6]);
    expect(new PatternMatcher(['abcdefghijklmnopqrstuvwxyz']).find('abc')).toEqual([]);
  });

  it('matches the naive reference on random texts over small alphabets', () => {
    for (let seed = 1; seed <= 3000; seed++) {
      const random = prng(seed);
      const alphabet = 'abcd'.slice(0, 1 + Math.floor(random() * 4));
      const pick = (n: number) =>
        Array.from({ length: n }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
      const patterns = Array.from({ length: 1 + Math.floor(random() * 6) }, () => {
        // Some periodic patterns, long enough to exercise the KMP state (anchor + 8 and more).
        if (random() < 0.3) return pick(1 + Math.floor(random() * 3)).repeat(2 + Math.floor(random() * 15));
        return pick(1 + Math.floor(random() * 10));
      });
      if (random() < 0.3) patterns.push(`${patterns[0]}${pick(2)}`);
      const text =
        random() < 0.3
          ? (patterns[0] as string).repeat(1 + Math.floor(random() * 8)) + pick(Math.floor(random() * 40))
          : pick(Math.floor(random() * 300));
      const m = new PatternMatcher(patterns);
      const expected = naive(patterns, text);
      const context = { seed, patterns, text };
      expect({ ...context, found: m.find(text) }).toEqual({ ...context, found: expected });
      expect({ ...context, any: m.test(text) }).toEqual({ ...context, any: expected.length > 0 });
      // The matcher keeps state between scans: a second scan must give the same answer.
      expect(m.find(text)).toEqual(expected);
    }
  });

  it('matches the naive reference for periodic patterns that half-match periodic text', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const random = prng(seed);
      const unit = ['a', 'ab', 'aab', 'abc'][Math.floor(random() * 4)] as string;
      const patterns = [
        `${unit.repeat(10 + Math.floor(random() * 30))}x`,
        unit.repeat(5 + Math.floor(random() * 30)),
        `${unit.repeat(3 + Math.floor(random() * 20))}x${unit.repeat(3)}`,
      ];
      const parts: string[] = [];
      while (parts.join('').length < 600) {
        parts.push(unit.repeat(Math.floor(random() * 60)), random() < 0.5 ? 'x' : 'y');
      }
      const text = parts.join('');
      const expected = naive(patterns, text);
      expect({ seed, found: new PatternMatcher(patterns).find(text) }).toEqual({ seed, found: expected });
    }
  });

  it('scales: a pattern of 64 Ki characters, and a long periodic one in periodic text', () => {
    const random = prng(42);
    const big = Array.from({ length: 65_536 }, () =>
      String.fromCharCode(33 + Math.floor(random() * 90)),
    ).join('');
    const m = new PatternMatcher([big, big.slice(100, 400)]);
    const text = `head ${big} middle ${big.slice(100, 400)} tail`;
    expect(m.find(text)).toEqual([5, 5 + big.length, 5 + big.length + 8, 5 + big.length + 8 + 300]);
    // 'a' * 65535 + 'b' in a megabyte of 'a': linear thanks to the KMP state, not 64 Ki comparisons a position.
    const periodic = new PatternMatcher([`${'a'.repeat(65_535)}b`, 'a'.repeat(65_536)]);
    const run = 'a'.repeat(1 << 20);
    expect(periodic.find(run)).toEqual([0, run.length]);
    expect(periodic.find(`${run}b`)).toEqual([0, run.length + 1]);
  });
});
