import { describe, expect, it } from 'vitest';
import { storableText, storableValue } from './storable.js';

describe('storable output', () => {
  it('replaces NULs and unpaired surrogates, and keeps pairs and everything else', () => {
    expect(storableText('a\0b')).toBe('a\uFFFDb');
    expect(storableText('x\uD800y\uDC00z')).toBe('x\uFFFDy\uFFFDz');
    expect(storableText('𝄞 ok')).toBe('𝄞 ok');
    const text = 'plain text, no change';
    expect(storableText(text)).toBe(text);
  });

  it('cleans strings and keys at any depth, and leaves the rest of the value as it was', () => {
    expect(storableValue({ 'k\0': ['v\0', 1, true, null, { deep: '\uD83D' }] })).toEqual({
      'k\uFFFD': ['v\uFFFD', 1, true, null, { deep: '\uFFFD' }],
    });
    let deep: unknown = 'x\0';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    let out = storableValue(deep);
    for (let i = 0; i < 100_000; i++) out = (out as unknown[])[0];
    expect(out).toBe('x\uFFFD');
  });
});
