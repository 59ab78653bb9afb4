import { describe, expect, it } from 'vitest';
import { SecretMasker } from './masker.js';
import { OutputCapture } from './output-capture.js';

const SECRET = 'hunter2-"quoted"\\path';

describe('OutputCapture (ported from masker.test.ts)', () => {
  const masker = new SecretMasker(
    [
      { ref: 's.a', value: SECRET },
      { ref: 's.b', value: { user: 'svc', password: 'structured-pass' } },
      { ref: 's.c', value: 'ab' },
    ],
    6,
  );

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

describe('OutputCapture at the truncation point', () => {
  const masker = new SecretMasker([{ ref: 's', value: SECRET }], 6);

  it('keeps no part of a secret escaped as \\uXXXX throughout, wherever the cap falls', () => {
    const escaped = [...SECRET].map((ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
    const cap = 256;
    const notice = (total: number) =>
      `\n[attune: output truncated: ${total} bytes written, the first ${cap} kept]\n`;
    for (let offset = -3; offset < escaped.length + 4; offset++) {
      // The literal's content starts `offset` characters before the cap.
      const prefix = `${'x'.repeat(cap - 6 - offset)}{"k":"`;
      const text = `${prefix}${escaped}"}${'y'.repeat(20_000)}`;
      const capture = new OutputCapture(cap, masker.longestForm);
      for (let i = 0; i < text.length; i += 100) capture.push(Buffer.from(text.slice(i, i + 100)));
      const contentEnd = prefix.length + escaped.length;
      const expected =
        offset <= 0 ? text.slice(0, cap) : `${prefix}***${text.slice(contentEnd, Math.max(cap, contentEnd))}`;
      expect({ offset, out: capture.finish(masker) }).toEqual({
        offset,
        out: expected + notice(text.length),
      });
    }
  });

  it('cuts at the cap and notes the truncation', () => {
    const capture = new OutputCapture(10, masker.longestForm);
    capture.push(Buffer.from(`0123456789${'z'.repeat(500)}`));
    expect(capture.finish(masker)).toBe(
      '0123456789\n[attune: output truncated: 510 bytes written, the first 10 kept]\n',
    );
  });
});
