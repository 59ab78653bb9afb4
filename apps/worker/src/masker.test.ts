import { describe, expect, it } from 'vitest';
import { SecretMasker } from './masker.js';
import { OutputCapture } from './output-capture.js';

const SECRET = 'hunter2-"quoted"\\path';

describe('masking', () => {
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

  it('masks an occurrence split across stream chunks', () => {
    const capture = new OutputCapture(1024, masker.longestForm);
    const line = `before ${SECRET} after`;
    for (let split = 1; split < line.length; split++) {
      const c = new OutputCapture(1024, masker.longestForm);
      c.push(Buffer.from(line.slice(0, split)));
      c.push(Buffer.from(line.slice(split)));
      expect(c.finish(masker)).toBe('before *** after');
    }
    for (const byte of Buffer.from(line)) capture.push(Buffer.from([byte]));
    expect(capture.finish(masker)).toBe('before *** after');
  });

  it('never keeps part of a secret at the truncation point, wherever it falls', () => {
    for (let offset = 0; offset < 40; offset++) {
      const capture = new OutputCapture(64, masker.longestForm);
      const text = `${'x'.repeat(40 + offset)}${SECRET}${'y'.repeat(5000)}`;
      for (let i = 0; i < text.length; i += 7) capture.push(Buffer.from(text.slice(i, i + 7)));
      const out = capture.finish(masker);
      expect(capture.truncated).toBe(true);
      expect(out).toContain('[attune: output truncated: ');
      for (let len = 4; len <= SECRET.length; len++) expect(out).not.toContain(SECRET.slice(0, len));
    }
  });

  it('keeps memory bounded whatever is written', () => {
    const capture = new OutputCapture(1000, masker.longestForm);
    for (let i = 0; i < 10_000; i++) capture.push(Buffer.alloc(1000, 0x61));
    expect(capture.total).toBe(10_000_000);
    expect(capture.finish(masker).length).toBeLessThan(1000 + 4 * masker.longestForm + 200);
  });
});
