import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { prng } from '../../test/support/prng.js';
import { codePointLength, formsOf, secretValues, valueVariants } from './forms.js';

/** Runs a Python snippet with `value` on stdin (never argv: it is a secret), returning its JSON output. */
function python(script: string, value: string): unknown {
  const prelude = 'import sys, json\nv = sys.stdin.buffer.read().decode("utf-8")\n';
  return JSON.parse(
    execFileSync('python3', ['-c', prelude + script], { input: Buffer.from(value, 'utf8') }).toString(),
  );
}

const TRICKY = `p@ss wörd/"<&>'~*(!)+=;😀\t`;

describe('secretValues', () => {
  it('is the string itself for a string', () => {
    expect(secretValues('a"b')).toEqual([{ text: 'a"b', kind: 'string' }]);
  });

  it('is the compact JSON and every leaf for structured data, in document order, deduplicated', () => {
    const value = {
      user: 'svc',
      password: 'pw-1',
      n: [1234567890, 1.5, true, null, { again: 'pw-1' }],
      f: false,
    };
    expect(secretValues(value)).toEqual([
      { text: JSON.stringify(value), kind: 'string' },
      { text: 'svc', kind: 'string' },
      { text: 'pw-1', kind: 'string' },
      { text: '1234567890', kind: 'number' },
      { text: '1.5', kind: 'number' },
      { text: 'true', kind: 'boolean' },
      { text: 'false', kind: 'boolean' },
    ]);
  });

  it('handles a number secret and a deeply nested one without overflowing the stack', () => {
    expect(secretValues(1234567890)).toEqual([{ text: '1234567890', kind: 'string' }]);
    let deep: unknown = 'bottom-secret';
    for (let i = 0; i < 100_000; i++) deep = { d: deep };
    // JSON.stringify cannot serialise it; the leaf is still a value.
    expect(secretValues(deep).map((v) => v.text)).toContain('bottom-secret');
    const cyclic: Record<string, unknown> = { pw: 'cyclic-secret' };
    cyclic.self = cyclic;
    expect(secretValues(cyclic)).toEqual([{ text: 'cyclic-secret', kind: 'string' }]);
  });
});

describe('valueVariants', () => {
  it('adds long lines and the value with LF and CRLF line breaks, not short lines', () => {
    const value = 'first-line-long\r\nab\rthird-line-long\nlast-line-long';
    expect(valueVariants(value, 6)).toEqual([
      value,
      'first-line-long',
      'third-line-long',
      'last-line-long',
      'first-line-long\nab\nthird-line-long\nlast-line-long',
      'first-line-long\r\nab\r\nthird-line-long\r\nlast-line-long',
    ]);
  });

  it('adds the value without surrounding quotes', () => {
    expect(valueVariants('"quoted-secret"', 6)).toEqual(['"quoted-secret"', 'quoted-secret']);
    expect(valueVariants("'ab'", 6)).toEqual(["'ab'"]);
  });

  it('adds the well-formed value when it holds a lone surrogate', () => {
    expect(valueVariants('abc\ud800defg', 6)).toEqual(['abc\ud800defg', 'abc\ufffddefg']);
  });
});

describe('codePointLength', () => {
  it('counts code points, a lone surrogate as one', () => {
    expect(codePointLength('a😀b')).toBe(3);
    expect(codePointLength('\ud800x\udc00')).toBe(3);
    expect(codePointLength('')).toBe(0);
  });
});

describe('formsOf', () => {
  const forms = new Set(formsOf(TRICKY));
  const lowerHex = (s: string) => s.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());
  const strict = (s: string) =>
    encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const hex4 = (c: number, upper: boolean) => {
    const hex = c.toString(16).padStart(4, '0');
    return `\\u${upper ? hex.toUpperCase() : hex}`;
  };
  const SHORT: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
  /** Python's json.dumps inside the quotes: short escapes, anything outside printable ASCII as \uXXXX. */
  const pythonAscii = (s: string, upper: boolean) =>
    Array.from({ length: s.length }, (_, i) => {
      const c = s.charCodeAt(i);
      const ch = s[i] as string;
      return SHORT[ch] ?? (c < 0x20 || c > 0x7e ? hex4(c, upper) : ch);
    }).join('');
  const everyUnit = (s: string, upper: boolean) =>
    Array.from({ length: s.length }, (_, i) => hex4(s.charCodeAt(i), upper)).join('');

  it.each([
    ['raw', TRICKY],
    ['JSON minimal', JSON.stringify(TRICKY).slice(1, -1)],
    ['JSON ASCII, lowercase hex', pythonAscii(TRICKY, false)],
    ['JSON ASCII, uppercase hex', pythonAscii(TRICKY, true)],
    ['JSON every unit escaped, lowercase', everyUnit(TRICKY, false)],
    ['JSON every unit escaped, uppercase', everyUnit(TRICKY, true)],
    ['encodeURIComponent', encodeURIComponent(TRICKY)],
    ['encodeURIComponent, lowercase hex', lowerHex(encodeURIComponent(TRICKY))],
    ['encodeURI', encodeURI(TRICKY)],
    ['RFC 3986', strict(TRICKY)],
    ['RFC 3986, lowercase hex', lowerHex(strict(TRICKY))],
    ['path (/ kept)', strict(TRICKY).replaceAll('%2F', '/')],
    ['form (space as +)', strict(TRICKY).replaceAll('%20', '+')],
    ['form, lowercase hex', lowerHex(strict(TRICKY).replaceAll('%20', '+'))],
    ['URLSearchParams', new URLSearchParams({ v: TRICKY }).toString().slice(2)],
    ['HTML minimal', TRICKY.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')],
    [
      'HTML Python',
      TRICKY.replaceAll('&', '&amp;')
        .replaceAll('<', '&lt;')
        .replaceAll('>', '&gt;')
        .replaceAll('"', '&quot;')
        .replaceAll("'", '&#x27;'),
    ],
    [
      'HTML Go',
      TRICKY.replaceAll('&', '&amp;')
        .replaceAll('<', '&lt;')
        .replaceAll('>', '&gt;')
        .replaceAll('"', '&#34;')
        .replaceAll("'", '&#39;'),
    ],
    [
      'XML attribute',
      TRICKY.replaceAll('&', '&amp;')
        .replaceAll('<', '&lt;')
        .replaceAll('>', '&gt;')
        .replaceAll('"', '&quot;')
        .replaceAll("'", '&apos;'),
    ],
    [
      'HTML &quot; &#39;',
      TRICKY.replaceAll('&', '&amp;')
        .replaceAll('<', '&lt;')
        .replaceAll('>', '&gt;')
        .replaceAll('"', '&quot;')
        .replaceAll("'", '&#39;'),
    ],
    ['base64', Buffer.from(TRICKY).toString('base64')],
    ['base64 unpadded', Buffer.from(TRICKY).toString('base64').replace(/=+$/, '')],
    ['base64url', Buffer.from(TRICKY).toString('base64url')],
    ['base64url padded', Buffer.from(TRICKY).toString('base64').replaceAll('+', '-').replaceAll('/', '_')],
    ['command-line escape', TRICKY.replaceAll('"', '\\"')],
    ['expression escape', TRICKY.replaceAll("'", "''")],
    ['sh single-quote escape', TRICKY.replaceAll("'", "'\\''")],
    ['sh double-quoted quote', TRICKY.replaceAll("'", `'"'"'`)],
  ])('include %s', (_name, form) => {
    expect(forms.has(form)).toBe(true);
  });

  it('includes what Python writes (json.dumps, urllib.parse.quote/quote_plus, html.escape, base64)', () => {
    const fromPython = python(
      [
        'import base64, html, urllib.parse as u',
        'b = v.encode("utf-8")',
        'out = [json.dumps(v)[1:-1], json.dumps(v, ensure_ascii=False)[1:-1], u.quote(v, safe=""), u.quote(v),',
        '  u.quote_plus(v), html.escape(v), html.escape(v, quote=False), base64.b64encode(b).decode(),',
        '  base64.urlsafe_b64encode(b).decode(), base64.b64encode(b).decode().rstrip("=")]',
        'sys.stdout.write(json.dumps(out))',
      ].join('\n'),
      TRICKY,
    ) as string[];
    for (const form of fromPython) expect([...forms]).toContain(form);
  });

  it('includes the PowerShell sections of a value with &', () => {
    expect(formsOf('secretpart1&secretpart2&secretpart3')).toEqual(
      expect.arrayContaining(['secretpart1&secretpart2&', 'secretpart3']),
    );
    expect(formsOf('secretpart1&+secretpart2&secretpart3')).toEqual(
      expect.arrayContaining(['secretpart1&+', 'ecretpart2&secretpart3']),
    );
  });

  it('includes the Go (HTML-safe), Newtonsoft and PHP JSON dialects', () => {
    const value = 'a<b>&c\u2028d\u0085e/f';
    const all = formsOf(value);
    expect(all).toContain('a\\u003cb\\u003e\\u0026c\\u2028d\u0085e/f');
    expect(all).toContain('a<b>&c\\u2028d\\u0085e/f');
    expect(all).toContain('a<b>&c\\u2028d\\u0085e\\/f');
  });

  it('base64 at any offset: exactly the characters fixed by the value alone, in both alphabets', () => {
    const random = prng(7);
    for (const value of ['s3cr3t!', 's3cr3t!x', 's3cr3t!xy', 'wörd😀']) {
      const bytes = Buffer.from(value);
      const all = formsOf(value);
      for (let k = 0; k <= 2; k++) {
        for (const alphabet of ['base64', 'base64url'] as const) {
          // The characters that stay the same whatever bytes surround the value, found by trying many.
          const encodings = Array.from({ length: 200 }, (_, trial) => {
            const around = (n: number) =>
              Buffer.from(
                Array.from({ length: n }, () => (trial < 2 ? trial * 255 : Math.floor(random() * 256))),
              );
            // A suffix that makes whole 3-byte groups: no padding, which would be stable too.
            return Buffer.concat([around(k), bytes, around(6 - ((k + bytes.length) % 3))]).toString(alphabet);
          });
          const first = encodings[0] as string;
          const stable = [...first].map((ch, j) => encodings.every((e) => e[j] === ch));
          const from = stable.indexOf(true);
          const to = stable.lastIndexOf(true) + 1;
          expect(stable.slice(from, to).every(Boolean)).toBe(true);
          expect(all).toContain(first.slice(from, to));
        }
      }
    }
  });

  it('includes the lines of a long value base64-wrapped at 64 and 76 columns', () => {
    const value = 'x'.repeat(30) + 'y'.repeat(30) + 'z'.repeat(30);
    const wrapped = Buffer.from(value).toString('base64');
    const all = formsOf(value);
    for (const width of [64, 76]) {
      for (let i = 0; i < wrapped.length; i += width) expect(all).toContain(wrapped.slice(i, i + width));
    }
  });

  it('never throws on a lone surrogate', () => {
    expect(() => formsOf('abc\ud800def')).not.toThrow();
    expect(formsOf('abc\ud800def')).toContain('abc\ud800def');
  });

  it('deduplicates and never yields an empty form', () => {
    const plain = formsOf('plainvalue');
    expect(new Set(plain).size).toBe(plain.length);
    expect(formsOf('')).toEqual([]);
  });
});
