import { MASK, type SecretMasker } from './masker.js';

/**
 * Rewrites, in JSON text, every number whose digits hold a secret into the string `"***"` — before the text is
 * parsed. Masking the parsed value is too late for a number: JSON.parse rounds 98765432109876543210 to
 * 98765432109876540000, which no longer contains the secret but still gives away most of it. Numbers are found by
 * a linear scan that skips strings; the text is otherwise unchanged (and may be invalid JSON: then so is the
 * result, and the caller parses nothing).
 */
export function maskJsonNumbers(text: string, masker: SecretMasker): string {
  const parts: string[] = [];
  let last = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // Skip the string, escapes included.
      i++;
      while (i < text.length) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i += 2;
        else if (d === 0x22) {
          i++;
          break;
        } else i++;
      }
      continue;
    }
    if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      let end = i + 1;
      while (end < text.length && isNumberChar(text.charCodeAt(end))) end++;
      const token = text.slice(i, end);
      if (masker.mask(token) !== token) {
        parts.push(text.slice(last, i), `"${MASK}"`);
        last = end;
      }
      i = end;
      continue;
    }
    i++;
  }
  if (last === 0) return text;
  parts.push(text.slice(last));
  return parts.join('');
}

function isNumberChar(c: number): boolean {
  // digits, '.', 'e', 'E', '+', '-'
  return (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d;
}
