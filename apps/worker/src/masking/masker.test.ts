import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { prng } from '../../test/support/prng.js';
import { MASK, SecretMasker } from './masker.js';

const SECRET = 'hunter2-"quoted"\\path';

/** Runs a Python snippet with `value` on stdin (never argv: it is a secret), returning its JSON output. */
function python(script: string, value: string): unknown {
  const prelude = 'import sys, json\nv = sys.stdin.buffer.read().decode("utf-8")\n';
  return JSON.parse(
    execFileSync('python3', ['-c', prelude + script], { input: Buffer.from(value, 'utf8') }).toString(),
  );
}

const hex4 = (unit: number, upper: boolean) => {
  const hex = unit.toString(16).padStart(4, '0');
  return `\\u${upper ? hex.toUpperCase() : hex}`;
};
const SHORT: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
/** As Python's json.dumps writes a string, without the quotes: everything outside printable ASCII as \uXXXX. */
const pythonJson = (s: string, upper = false) =>
  Array.from({ length: s.length }, (_, i) => {
    const c = s.charCodeAt(i);
    return SHORT[s[i] as string] ?? (c < 0x20 || c > 0x7e ? hex4(c, upper) : s[i]);
  }).join('');
const everyUnit = (s: string, upper = false) =>
  Array.from({ length: s.length }, (_, i) => hex4(s.charCodeAt(i), upper)).join('');
const lowerHex = (s: string) => s.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());
const rfc3986 = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const markup = (s: string, quot: string, apos: string) =>
  s
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', quot)
    .replaceAll("'", apos);

/** Every encoding of `value` the masker promises to catch, built here with Node's own encoders where there is one. */
function encodings(value: string): Array<[string, string]> {
  const bytes = Buffer.from(value);
  const b64 = bytes.toString('base64');
  return [
    ['raw', value],
    ['JSON', JSON.stringify(value).slice(1, -1)],
    ['JSON ASCII lowercase', pythonJson(value)],
    ['JSON ASCII uppercase', pythonJson(value, true)],
    ['JSON every unit lowercase', everyUnit(value)],
    ['JSON every unit uppercase', everyUnit(value, true)],
    ['encodeURIComponent', encodeURIComponent(value)],
    ['encodeURIComponent lowercase', lowerHex(encodeURIComponent(value))],
    ['RFC 3986', rfc3986(value)],
    ['RFC 3986 lowercase', lowerHex(rfc3986(value))],
    ['quote', rfc3986(value).replaceAll('%2F', '/')],
    ['quote lowercase', lowerHex(rfc3986(value).replaceAll('%2F', '/'))],
    ['form', rfc3986(value).replaceAll('%20', '+')],
    ['form lowercase', lowerHex(rfc3986(value).replaceAll('%20', '+'))],
    ['HTML minimal', markup(value, '"', "'")],
    ['HTML Python', markup(value, '&quot;', '&#x27;')],
    ['HTML Go', markup(value, '&#34;', '&#39;')],
    ['XML attribute', markup(value, '&quot;', '&apos;')],
    ['HTML &#39;', markup(value, '&quot;', '&#39;')],
    ['base64', b64],
    ['base64 unpadded', b64.replace(/=+$/, '')],
    ['base64url', bytes.toString('base64url')],
    ['base64url padded', b64.replaceAll('+', '-').replaceAll('/', '_')],
  ];
}

describe('masking (ported)', () => {
  const masker = new SecretMasker(
    [
      { ref: 's.a', value: SECRET },
      { ref: 's.b', value: { user: 'svc', password: 'structured-pass' } },
      { ref: 's.c', value: 'ab' },
    ],
    6,
  );

  it('masks the value as is, JSON-escaped and base64 in every variant', () => {
    const b64 = Buffer.from(SECRET).toString('base64');
    const text = [
      `raw ${SECRET} end`,
      `json ${JSON.stringify({ v: SECRET })}`,
      `b64 ${b64} unpadded ${b64.replace(/=+$/, '')} url ${Buffer.from(SECRET).toString('base64url')}`,
    ].join('\n');
    const masked = masker.mask(text);
    expect(masked).toBe(['raw *** end', 'json {"v":"***"}', 'b64 *** unpadded *** url ***'].join('\n'));
  });

  it('masks structured secrets whole and each string inside them', () => {
    expect(masker.mask('{"user":"svc","password":"structured-pass"}')).toBe('***');
    expect(masker.mask('pw=structured-pass')).toBe('pw=***');
    expect(masker.unmasked.map((u) => u.ref).sort()).toEqual(['s.b', 's.c']); // 'svc' and 'ab' are too short
  });
});

describe('forms', () => {
  const TRICKY = `p@ss wörd/"<&>'~*(!)+=;😀\\end`;
  const masker = new SecretMasker([{ ref: 't', value: TRICKY }], 6);

  it.each(encodings(TRICKY))('masks the %s form', (_name, form) => {
    expect(masker.mask(`[${form}]`)).toBe('[***]');
  });

  it('masks what Python prints (json.dumps, urllib.parse, html.escape, base64)', () => {
    const printed = python(
      [
        'import base64, html, re, urllib.parse as u',
        'b = v.encode("utf-8")',
        'out = [json.dumps(v), json.dumps(v, ensure_ascii=False), u.quote(v, safe=""), u.quote(v), u.quote_plus(v),',
        '  html.escape(v), base64.b64encode(b).decode(), base64.urlsafe_b64encode(b).decode(),',
        '  u.quote(v, safe="").lower(), re.sub(r"\\\\u[0-9a-f]{4}", lambda m: "\\\\u" + m.group(0)[2:].upper(), json.dumps(v))]',
        'sys.stdout.write(json.dumps(out))',
      ].join('\n'),
      TRICKY,
    ) as string[];
    expect(printed.map((p) => masker.mask(`<${p}>`))).toEqual([
      '<"***">',
      '<"***">',
      ...Array.from({ length: 7 }, () => '<***>'),
      '<"***">',
    ]);
  });

  it('masks a number leaf of a structured secret, and a number secret, by their JSON text', () => {
    const m = new SecretMasker(
      [
        { ref: 'acct', value: { bank: 'x', account: 1234567890 } },
        { ref: 'pin', value: 987654321 },
      ],
      6,
    );
    expect(m.mask('account 1234567890, pin 987654321.')).toBe('account ***, pin ***.');
  });

  it('masks a multi-line secret printed with LF, with CRLF, and line by line', () => {
    const value = 'line-one-secret\nab\r\nline-three-secret';
    const m = new SecretMasker([{ ref: 'ml', value }], 6);
    expect(m.mask(`<${value}>`)).toBe('<***>');
    expect(m.mask(`<${value.replace(/\r\n/g, '\n')}>`)).toBe('<***>');
    expect(m.mask(`<${value.replace(/\r?\n/g, '\r\n')}>`)).toBe('<***>');
    expect(m.mask('> line-one-secret\n> ab\n> line-three-secret\n')).toBe('> ***\n> ab\n> ***\n');
    expect(m.mask(JSON.stringify({ v: value }))).toBe('{"v":"***"}');
    expect(m.mask(`b64 ${Buffer.from('line-three-secret').toString('base64')}`)).toBe('b64 ***');
    // A line under the minimum is simply not masked on its own, and not reported.
    expect(m.unmasked).toEqual([]);
  });

  it('masks a secret with a lone surrogate as it comes back from the child (U+FFFD), without throwing', () => {
    const m = new SecretMasker([{ ref: 'ls', value: 'abc\ud800defgh' }], 6);
    expect(m.mask('1 abc\ud800defgh 2 abc\ufffddefgh 3')).toBe('1 *** 2 *** 3');
    expect(m.mask(`u ${encodeURIComponent('abc\ufffddefgh')}`)).toBe('u ***');
  });

  it('masks the runner forms: \\" escaping, doubled quotes, trimmed quotes, PowerShell sections', () => {
    const m = new SecretMasker(
      [
        { ref: 'q', value: `"it's-quoted"` },
        { ref: 'ps', value: 'secretpart1&secretpart2&secretpart3' },
      ],
      6,
    );
    expect(m.mask(`a \\"it's-quoted\\" b "it''s-quoted" c it's-quoted d`)).toBe('a *** b *** c *** d');
    expect(m.mask('x secretpart1&secretpart2& y secretpart3 z')).toBe('x *** y *** z');
  });
});

describe('base64 inside longer data', () => {
  const cases = ['correct horse battery staple', 'correct horse battery stapl', 'correct horse battery stap'];

  it.each(cases)(
    'masks the stable characters of "%s" after prefixes of 0..5 bytes, both alphabets',
    (value) => {
      const m = new SecretMasker([{ ref: 'b', value }], 6);
      const n = Buffer.byteLength(value);
      for (let p = 0; p <= 5; p++) {
        for (const alphabet of ['base64', 'base64url'] as const) {
          // 0xff around the value: the characters it shares with them differ from every form of the value alone.
          const data = Buffer.concat([Buffer.alloc(p, 0xff), Buffer.from(value), Buffer.alloc(2, 0xff)]);
          const encoded = data.toString(alphabet);
          const from = Math.ceil((8 * p) / 6);
          const to = Math.floor((8 * (p + n)) / 6);
          expect({ p, alphabet, out: m.mask(encoded) }).toEqual({
            p,
            alphabet,
            out: `${encoded.slice(0, from)}***${encoded.slice(to)}`,
          });
        }
      }
    },
  );

  it('masks the password in an HTTP Basic header', () => {
    const m = new SecretMasker(
      [
        { ref: 'user', value: 'svc' },
        { ref: 'pw', value: 'Tr0ub4dor&3-horse' },
      ],
      6,
    );
    const header = Buffer.from('svc:Tr0ub4dor&3-horse').toString('base64');
    // 'svc:' is 4 bytes: the password starts 1 byte into a 3-byte group, so its characters start at index 4 + 2.
    expect(m.mask(`Authorization: Basic ${header}`)).toBe(`Authorization: Basic ${header.slice(0, 6)}***`);
    // Followed by a newline (`echo user:pass | base64`): the characters it shares with the password stay.
    const withNewline = Buffer.from('svc:Tr0ub4dor&3-horse\n').toString('base64');
    const to = Math.floor((8 * (4 + 17)) / 6);
    expect(m.mask(withNewline)).toBe(`${withNewline.slice(0, 6)}***${withNewline.slice(to)}`);
    expect(withNewline.slice(to).length).toBe(4);
  });
});

describe('the union of occurrences', () => {
  const m = new SecretMasker(
    [
      { ref: 'a', value: 'abcdefgh12' },
      { ref: 'b', value: '12345678xyz' },
      { ref: 'c', value: 'outer-inner-outer' },
      { ref: 'd', value: 'inner-' },
    ],
    6,
  );

  it('masks two overlapping secrets whole: no tail of the second survives', () => {
    expect(m.mask('<abcdefgh12345678xyz>')).toBe('<***>');
    expect(m.mask('<abcdefgh1212345678xyz>')).toBe('<***>'); // adjacent: one mask
    expect(m.mask('<outer-inner-outer>')).toBe('<***>'); // nested
    expect(m.mask('<abcdefgh12 12345678xyz>')).toBe('<*** ***>');
  });
});

describe('large secrets', () => {
  const random = prng(64);
  const ascii = Array.from({ length: 65_536 }, () =>
    String.fromCharCode(32 + Math.floor(random() * 95)),
  ).join('');
  const code = [0xe9, 0x4e2d, 0x1f600, 0x3b1, 0x10348];
  let nonAscii = '';
  while (Buffer.byteLength(nonAscii) < 65_536) {
    nonAscii += String.fromCodePoint((code[Math.floor(random() * 5)] as number) + Math.floor(random() * 16));
  }

  for (const [label, value] of [
    ['64 KiB of random ASCII', ascii],
    ['64 KiB of non-ASCII', nonAscii],
  ] as const) {
    it(`masks a secret of ${label}, raw and in each form`, () => {
      const m = new SecretMasker([{ ref: 'big', value }], 6);
      for (const [name, form] of encodings(value)) {
        expect({ name, out: m.mask(`<${form}>`) }).toEqual({ name, out: '<***>' });
      }
      const inside = Buffer.concat([Buffer.from('user:'), Buffer.from(value)]).toString('base64');
      // 'user:' is 5 bytes: the value's own characters start at ceil(8 * 5 / 6) = 7.
      expect(m.mask(inside)).toBe(`${inside.slice(0, 7)}***`);
    });
  }
});

describe('JSON string literals', () => {
  const VALUE = 'sk_live_Zq8"x\\y-ü😀-token';
  const m = new SecretMasker([{ ref: 'k', value: VALUE }], 6);

  /** The value written inside a JSON string with a random mix of plain characters and \uXXXX escapes. */
  function mixture(random: () => number): string {
    return Array.from({ length: VALUE.length }, (_, i) => {
      const c = VALUE.charCodeAt(i);
      if (random() < 0.5) {
        const hex = [...c.toString(16).padStart(4, '0')].map((h) => (random() < 0.5 ? h : h.toUpperCase()));
        return `\\u${hex.join('')}`;
      }
      if (c === 0x22) return '\\"';
      if (c === 0x5c) return random() < 0.5 ? '\\\\' : '\\u005c';
      return VALUE[i];
    }).join('');
  }

  it('never lets the secret through a random mix of escaped and raw characters (200 trials)', () => {
    const random = prng(2024);
    for (let trial = 0; trial < 200; trial++) {
      const literal = mixture(random);
      expect(JSON.parse(`"${literal}"`)).toBe(VALUE);
      expect({ trial, out: m.mask(`{"token":"${literal}","n":1}`) }).toEqual({
        trial,
        out: '{"token":"***","n":1}',
      });
      expect({ trial, out: m.mask(`log: key=${literal} done`) }).toEqual({ trial, out: 'log: key=*** done' });
    }
  });

  it('keeps JSON valid and the rest of a string that holds a secret', () => {
    const random = prng(5);
    const text = `{"msg":"before \\n ${mixture(random)} after\\t","path":"C:\\\\x"}`;
    const out = m.mask(text);
    expect(out).toBe('{"msg":"before \\n *** after\\t","path":"C:\\\\x"}');
    expect(JSON.parse(out)).toEqual({ msg: 'before \n *** after\t', path: 'C:\\x' });
  });

  it('masks a secret in a JSON string inside a JSON string', () => {
    const random = prng(6);
    const inner = JSON.stringify({ token: JSON.parse(`"${mixture(random)}"`), other: 'v\\w' });
    const outer = JSON.stringify({ payload: inner.replace('sk_live', '\\u0073k_live') });
    const out = m.mask(outer);
    expect(JSON.parse(JSON.parse(out).payload)).toEqual({ token: MASK, other: 'v\\w' });
  });

  it('masks a secret under more levels of JSON strings than are decoded exactly', () => {
    const random = prng(8);
    const wrap = (levels: number) => {
      let text = `{"token":"${mixture(random)}"}`;
      for (let level = 0; level < levels; level++) text = JSON.stringify({ level, inner: text });
      return text;
    };
    const unwrap = (text: string, levels: number) => {
      let value: { level: number; inner: string } = JSON.parse(text);
      for (let level = 1; level < levels; level++) value = JSON.parse(value.inner);
      return value.inner;
    };
    // Two levels around the literal: decoded exactly, the token alone is masked.
    expect(JSON.parse(unwrap(m.mask(wrap(2)), 2))).toEqual({ token: MASK });
    // Six levels: past the exact depth, the innermost string that still holds an escape is masked whole.
    expect(unwrap(m.mask(wrap(6)), 4)).toBe(MASK);
    // Escapes without a secret are left alone at any depth.
    const clean = JSON.stringify(JSON.stringify({ path: 'C:\\dir' }));
    expect(m.mask(clean)).toBe(clean);
  });

  it('is not fooled by a stray quote, an invalid escape or a raw control character next to the literal', () => {
    const random = prng(7);
    const literal = mixture(random);
    expect(m.mask(`" "${literal}" end`)).toBe('" "***" end');
    expect(m.mask(`"${literal}\\x"`)).toBe('"***\\x"');
    expect(m.mask(`"${literal}\t"`)).toBe('"***\t"');
  });

  it('masks only the secret when a fixed form of it sits inside a longer escaped string', () => {
    const plain = new SecretMasker([{ ref: 's', value: SECRET }], 6);
    const text = JSON.stringify({ msg: `a\n ${SECRET} b` });
    expect(plain.mask(text)).toBe('{"msg":"a\\n *** b"}');
  });

  it('leaves escaped text without a secret exactly as it was', () => {
    const text = 'C:\\new\\table "a\\nb\\u00e9" \\ \\u12 "\\"';
    expect(m.mask(text)).toBe(text);
  });

  it('masks the whole stretch when an occurrence crosses its boundary or re-encoding would write a form', () => {
    const two = new SecretMasker(
      [
        { ref: 'a', value: 'topsecret1' },
        { ref: 'b', value: 'zz"qq-other' },
        { ref: 'c', value: 'ab\\ncdefg' }, // a backslash and an n, not a newline
        { ref: 'd', value: '"qq-other1' },
      ],
      6,
    );
    expect(two.mask('"t\\u006fpsecret1 zz"qq-other!')).toBe('"***!');
    // Decoded, `\u000a` is a newline; re-encoded it is `\n`, which would spell secret c.
    expect(two.mask('"ab\\u000acdefg topsecret\\u0031"')).toBe('"***"');
    expect(two.mask('"ab\\u000acdefg"')).toBe('"ab\\u000acdefg"');
    // A stretch masked whole and an occurrence right after it make one mask.
    expect(two.mask('"ab\\u000acdefg topsecret\\u0031"qq-other1.')).toBe('"***.');
  });
});

describe('maskAndCut', () => {
  const m = new SecretMasker([{ ref: 's', value: SECRET }], 6);
  const tail = 'y'.repeat(m.longestForm + 10);

  it('never keeps part of a secret, wherever the cut falls around it', () => {
    const text = `${'x'.repeat(40)}${SECRET}${tail}`;
    const end = 40 + SECRET.length;
    for (let limit = 30; limit <= end + 10; limit++) {
      const expected =
        limit <= 40 ? 'x'.repeat(limit) : `${'x'.repeat(40)}***${'y'.repeat(Math.max(0, limit - end))}`;
      expect({ limit, out: m.maskAndCut(text, limit) }).toEqual({ limit, out: expected });
    }
  });

  it('moves the cut past an escaped literal that holds a secret, wherever the cut falls in it', () => {
    const literal = 'pre \\u0068unter2-\\"quoted\\"\\u005cpath post';
    const text = `${'x'.repeat(40)}{"k":"${literal}"}${tail}`;
    const start = 40 + 6;
    const end = start + literal.length;
    for (let limit = start - 3; limit <= end + 5; limit++) {
      const expected =
        limit <= start
          ? text.slice(0, limit)
          : `${text.slice(0, start)}pre *** post${text.slice(end, Math.max(end, limit))}`;
      expect({ limit, out: m.maskAndCut(text, limit) }).toEqual({ limit, out: expected });
    }
  });

  it('masks the whole tail of a literal cut off by the end of the text when it holds a secret', () => {
    const text = `${'x'.repeat(10)}"\\u0068unter2-\\"quoted\\"\\\\path${'a'.repeat(m.longestForm + 10)}`;
    for (const limit of [12, 15, 40]) expect(m.maskAndCut(text, limit)).toBe(`${'x'.repeat(10)}"***`);
    // A cut before the literal's content keeps none of it.
    expect(m.maskAndCut(text, 11)).toBe(`${'x'.repeat(10)}"`);
  });

  it('masks the tail of a cut-off literal that still holds a backslash (a nested encoding may hide the rest)', () => {
    const text = `${'x'.repeat(10)}"ab\\\\u0068cd${'a'.repeat(m.longestForm + 10)}`;
    expect(m.maskAndCut(text, 15)).toBe(`${'x'.repeat(10)}"***`);
  });

  it('keeps a cut-off literal that holds no secret and no backslash, up to the limit', () => {
    const text = `${'x'.repeat(10)}"ab\\ncd${'a'.repeat(m.longestForm + 10)}`;
    expect(m.maskAndCut(text, 20)).toBe(text.slice(0, 20));
  });

  it('is mask() when the text fits', () => {
    expect(m.maskAndCut(`a ${SECRET} b`, 1000)).toBe('a *** b');
  });
});

describe('maskValue', () => {
  const m = new SecretMasker(
    [
      { ref: 'k', value: 'super-secret' },
      { ref: 'n', value: { account: 1234567890 } },
    ],
    6,
  );

  it('masks strings, keys and numbers, keeps booleans and null, and copies', () => {
    const input = {
      a: 'x super-secret y',
      'super-secret': 1,
      list: [1234567890, 91234567890, 42, true, false, null, 's\\u0075per-secret'],
      nested: { deeper: ['super-secret'] },
    };
    const out = m.maskValue(input) as typeof input;
    expect(out).toEqual({
      a: 'x *** y',
      '***': 1,
      list: ['***', '***', 42, true, false, null, '***'],
      nested: { deeper: ['***'] },
    });
    expect(out).not.toBe(input);
    expect(out.nested).not.toBe(input.nested);
    expect(input.a).toBe('x super-secret y');
  });

  it('keeps every entry when masked keys collide', () => {
    const out = m.maskValue(
      // c3VwZXItc2VjcmV0 is super-secret in base64.
      JSON.parse(
        '{"super-secret":1,"***":2,"*** (2)":3,"c3VwZXItc2VjcmV0":4,"__proto__":{"super-secret":5}}',
      ),
    );
    expect(Object.entries(out as object)).toEqual([
      ['***', 1],
      ['*** (2)', 2],
      ['*** (2) (2)', 3],
      ['*** (3)', 4],
      ['__proto__', { '***': 5 }],
    ]);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
  });

  it('handles 100 000 levels of nesting', () => {
    let value: unknown = 'deep super-secret';
    for (let i = 0; i < 100_000; i++) value = i % 2 ? [value] : { d: value };
    let out = m.maskValue(value);
    let depth = 0;
    while (typeof out === 'object' && out !== null) {
      out = Array.isArray(out) ? out[0] : (out as { d: unknown }).d;
      depth++;
    }
    expect([depth, out]).toEqual([100_000, 'deep ***']);
  });

  it('handles an array and an object of a million elements', () => {
    const array = Array.from({ length: 1_000_000 }, (_, i) => (i % 1000 === 0 ? 'super-secret' : i));
    const out = m.maskValue(array) as unknown[];
    expect(out.length).toBe(1_000_000);
    expect([out[0], out[1], out[999_000], out[999_999]]).toEqual(['***', 1, '***', 999_999]);
    const object: Record<string, number> = {};
    for (let i = 0; i < 1_000_000; i++) object[`k${i}`] = i;
    expect(Object.keys(m.maskValue(object) as object).length).toBe(1_000_000);
  });

  it('copies a shared value twice and refuses a cycle', () => {
    const shared = { s: 'super-secret' };
    expect(m.maskValue({ a: shared, b: [shared] })).toEqual({ a: { s: '***' }, b: [{ s: '***' }] });
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = [cyclic];
    expect(() => m.maskValue(cyclic)).toThrow(TypeError);
  });

  it('returns leaves as they are, masked', () => {
    expect([m.maskValue('super-secret'), m.maskValue(1234567890), m.maskValue(null), m.maskValue(7)]).toEqual(
      ['***', '***', null, 7],
    );
  });
});

describe('reporting', () => {
  it('reports short strings and numbers once per ref, not booleans, lines or derived values', () => {
    const m = new SecretMasker(
      [
        { ref: 'a', value: { port: 5432, on: true, user: 'svc', again: 'svc', long: 'long-enough\nab' } },
        { ref: 'b', value: '' },
        { ref: 'c', value: '😀😀😀' },
      ],
      6,
    );
    expect(m.unmasked).toEqual([
      { ref: 'a', length: 4 },
      { ref: 'a', length: 3 },
      { ref: 'c', length: 3 },
    ]);
  });

  it('has no forms and changes nothing without secrets', () => {
    const m = new SecretMasker([], 6);
    expect([m.longestForm, m.mask('a\\u0041b'), m.maskAndCut('abcdef', 3)]).toEqual([0, 'a\\u0041b', 'abc']);
  });
});
