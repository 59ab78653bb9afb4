/**
 * The values a secret stands for and the forms each value can take in an action's output (docs/worker.md#output-capture-masking-result).
 *
 * A form is a string that, found anywhere in output, gives the value away: the value as is, and the value passed
 * through the escapings programs apply when they print data (JSON, URL, HTML/XML, base64, shells). Every form the
 * GitHub Actions runner masks is here (`ValueEncoders`: base64 and its shifts, `\"`, `''`, Newtonsoft JSON,
 * `Uri.EscapeDataString`, `SecurityElement.Escape`, trimmed quotes, the PowerShell `&` sections), plus the
 * variants it misses: other JSON, URL and HTML dialects, hex case, and base64 at any byte offset.
 */

/** A value a secret stands for: its text, and what it was in the secret, which decides whether it is reported. */
export interface SecretValue {
  readonly text: string;
  /** `string` for strings and compact JSON, `number` for number leaves as JSON text, `boolean` for `true`/`false`. */
  readonly kind: 'string' | 'number' | 'boolean';
}

/**
 * The values of one secret: a string is itself; any other JSON value gives its compact JSON, every string leaf,
 * every number leaf as its JSON text and every boolean leaf. Deduplicated. Walks the value without recursion, so
 * a deeply nested secret cannot overflow the stack (its compact JSON is then left out: `JSON.stringify` cannot
 * produce it either).
 */
export function secretValues(value: unknown): SecretValue[] {
  if (typeof value === 'string') return [{ text: value, kind: 'string' }];
  const values = new Map<string, SecretValue['kind']>();
  const add = (text: string, kind: SecretValue['kind']) => {
    if (!values.has(text)) values.set(text, kind);
  };
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    // Too deep or not JSON (a cycle, a bigint): the leaves below are still masked.
  }
  if (json !== undefined) add(json, 'string');
  const pending: unknown[] = [value];
  const seen = new Set<object>();
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item === 'string') add(item, 'string');
    else if (typeof item === 'number') {
      if (Number.isFinite(item)) add(JSON.stringify(item), 'number');
    } else if (typeof item === 'bigint') add(item.toString(), 'number');
    else if (typeof item === 'boolean') add(String(item), 'boolean');
    else if (item !== null && typeof item === 'object' && !seen.has(item)) {
      seen.add(item);
      // Reversed onto the stack, so that leaves come out in document order.
      const children = Array.isArray(item) ? item : Object.values(item);
      for (let i = children.length - 1; i >= 0; i--) pending.push(children[i]);
    }
  }
  return [...values].map(([text, kind]) => ({ text, kind }));
}

/**
 * The strings masked for one value, the value first: for a multi-line value, each line of at least `minLength`
 * code points and the whole value with every line break as LF and as CRLF (programs and terminals rewrite line
 * breaks, and print a secret line by line); the value without surrounding quotes (the runner's `TrimDoubleQuotes`);
 * and, when the value holds a lone surrogate, the value as it reaches the child and comes back from UTF-8 (each
 * lone surrogate as U+FFFD). Derived strings shorter than `minLength` are dropped silently: only the secret's own
 * values are reported as too short.
 */
export function valueVariants(value: string, minLength: number): string[] {
  const variants = new Set<string>([value]);
  const add = (text: string) => {
    if (text.length > 0 && codePointLength(text) >= minLength) variants.add(text);
  };
  if (value.includes('\n') || value.includes('\r')) {
    const lines = splitLines(value);
    for (const line of lines) add(line);
    add(lines.join('\n'));
    add(lines.join('\r\n'));
  }
  const unquoted = trimQuotes(value);
  if (unquoted !== value) add(unquoted);
  for (const text of [...variants]) {
    const wellFormed = toWellFormed(text);
    if (wellFormed !== text) add(wellFormed);
  }
  return [...variants];
}

/**
 * Every form of one value, deduplicated, the value itself first. The caller drops forms shorter than its minimum:
 * a base64 slice of a short value can be only a few characters.
 */
export function formsOf(value: string): string[] {
  const forms = new Set<string>([value]);
  jsonForms(value, forms);
  urlForms(value, forms);
  markupForms(value, forms);
  base64Forms(value, forms);
  runnerForms(value, forms);
  forms.delete('');
  return [...forms];
}

/** Length in code points, as a user counts characters (a lone surrogate counts as one). */
export function codePointLength(text: string): number {
  let count = text.length;
  for (let i = 0; i < text.length - 1; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        count--;
        i++;
      }
    }
  }
  return count;
}

function splitLines(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x0a && c !== 0x0d) continue;
    lines.push(text.slice(start, i));
    if (c === 0x0d && text.charCodeAt(i + 1) === 0x0a) i++;
    start = i + 1;
  }
  lines.push(text.slice(start));
  return lines;
}

function trimQuotes(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && (text[start] === '"' || text[start] === "'")) start++;
  while (end > start && (text[end - 1] === '"' || text[end - 1] === "'")) end--;
  return text.slice(start, end);
}

/** `String.prototype.toWellFormed`, which the ES2023 lib does not declare. */
function toWellFormed(text: string): string {
  let out: string[] | undefined;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
    }
    out ??= [];
    out.push(text.slice(from, i), '\ufffd');
    from = i + 1;
  }
  if (!out) return text;
  out.push(text.slice(from));
  return out.join('');
}

// --- JSON ---------------------------------------------------------------------------------------------------------

/** The two-character escapes every JSON serialiser uses, by the code of the character escaped. */
const SHORT_ESCAPES = new Map(
  Object.entries({
    '\b': '\\b',
    '\t': '\\t',
    '\n': '\\n',
    '\f': '\\f',
    '\r': '\\r',
    '"': '\\"',
    '\\': '\\\\',
  }).map(([ch, escaped]) => [ch.charCodeAt(0), escaped]),
);

interface JsonDialect {
  /** Escape every UTF-16 unit as `\uXXXX`. */
  readonly all?: boolean;
  /** Escape everything outside printable ASCII (0x20–0x7e) as `\uXXXX`, as Python's `json.dumps` does. */
  readonly ascii?: boolean;
  /** Hex digits of `\uXXXX` in uppercase. */
  readonly upper?: boolean;
  /** Further characters escaped as `\uXXXX`. */
  readonly extra?: ReadonlySet<number>;
  /** `/` as `\/` (PHP's `json_encode`). */
  readonly slash?: boolean;
}

const GO_HTML_SAFE = new Set([0x3c, 0x3e, 0x26, 0x2028, 0x2029]);
const NEWTONSOFT = new Set([0x85, 0x2028, 0x2029]);

/** The value escaped as inside a JSON string, in the dialects of common serialisers. */
function jsonForms(value: string, forms: Set<string>): void {
  forms.add(JSON.stringify(value).slice(1, -1));
  for (const upper of [false, true]) {
    forms.add(jsonEscape(value, { ascii: true, upper }));
    forms.add(jsonEscape(value, { all: true, upper }));
  }
  forms.add(jsonEscape(value, { extra: GO_HTML_SAFE }));
  forms.add(jsonEscape(value, { extra: NEWTONSOFT }));
  forms.add(jsonEscape(value, { ascii: true, slash: true }));
}

function jsonEscape(value: string, dialect: JsonDialect): string {
  const parts: string[] = [];
  let from = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    let escaped: string | undefined;
    if (dialect.all) escaped = unicodeEscape(c, dialect.upper);
    else if (c === 0x2f && dialect.slash) escaped = '\\/';
    else if (c < 0x20 || c === 0x22 || c === 0x5c)
      escaped = SHORT_ESCAPES.get(c) ?? unicodeEscape(c, dialect.upper);
    else if ((dialect.ascii && c > 0x7e) || dialect.extra?.has(c)) escaped = unicodeEscape(c, dialect.upper);
    if (escaped === undefined) continue;
    parts.push(value.slice(from, i), escaped);
    from = i + 1;
  }
  parts.push(value.slice(from));
  return parts.join('');
}

function unicodeEscape(unit: number, upper = false): string {
  const hex = unit.toString(16).padStart(4, '0');
  return `\\u${upper ? hex.toUpperCase() : hex}`;
}

// --- URL ----------------------------------------------------------------------------------------------------------

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UNRESERVED = `${ALNUM}-._~`;

/** Percent-encoders by the bytes they leave alone; `plus` writes a space as `+` (form encoding). */
const URL_DIALECTS = [
  { safe: UNRESERVED }, // RFC 3986, Uri.EscapeDataString, Python quote(v, safe='')
  { safe: `${UNRESERVED}!*'()` }, // encodeURIComponent
  { safe: `${UNRESERVED}!*'();,/?:@&=+$#` }, // encodeURI
  { safe: `${UNRESERVED}/` }, // Python quote(v)
  { safe: `${UNRESERVED}$&+:=@` }, // Go url.PathEscape
  { safe: UNRESERVED, plus: true }, // Python quote_plus, Go url.QueryEscape
  { safe: `${ALNUM}*-._`, plus: true }, // URLSearchParams (WHATWG form encoding)
].map(({ safe, plus }) => {
  const keep = new Uint8Array(128);
  for (let i = 0; i < safe.length; i++) keep[safe.charCodeAt(i)] = 1;
  return { keep, plus: plus === true };
});

const HEX_UPPER = Array.from({ length: 256 }, (_, b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`);
const HEX_LOWER = HEX_UPPER.map((h) => h.toLowerCase());

/**
 * The value percent-encoded from its UTF-8 bytes. A lone surrogate is encoded as U+FFFD (what Node sends the child)
 * instead of throwing as `encodeURIComponent` does.
 */
function urlForms(value: string, forms: Set<string>): void {
  const bytes = Buffer.from(value, 'utf8');
  for (const { keep, plus } of URL_DIALECTS) {
    for (const table of [HEX_UPPER, HEX_LOWER]) {
      const parts: string[] = [];
      let from = 0;
      for (let i = 0; i < bytes.length; i++) {
        const b = bytes[i] as number;
        if (b < 128 && keep[b]) continue;
        parts.push(bytes.toString('latin1', from, i), b === 0x20 && plus ? '+' : (table[b] as string));
        from = i + 1;
      }
      parts.push(bytes.toString('latin1', from));
      forms.add(parts.join(''));
    }
  }
}

// --- HTML and XML -------------------------------------------------------------------------------------------------

/** `&`, `<`, `>` always; the quotes as each escaper writes them (undefined: left alone). */
const MARKUP_DIALECTS: ReadonlyArray<{ quot?: string; apos?: string }> = [
  {}, // minimal: XML text, Go xml.EscapeText without quotes
  { quot: '&quot;', apos: '&#x27;' }, // Python html.escape
  { quot: '&#34;', apos: '&#39;' }, // Go html.EscapeString, html/template
  { quot: '&quot;', apos: '&apos;' }, // XML attribute, .NET SecurityElement.Escape
  { quot: '&quot;', apos: '&#39;' }, // PHP htmlspecialchars(ENT_QUOTES), Ruby CGI.escapeHTML, lodash escape
];

function markupForms(value: string, forms: Set<string>): void {
  for (const { quot, apos } of MARKUP_DIALECTS) {
    const parts: string[] = [];
    let from = 0;
    for (let i = 0; i < value.length; i++) {
      const escaped = markupEscape(value.charCodeAt(i), quot, apos);
      if (escaped === undefined) continue;
      parts.push(value.slice(from, i), escaped);
      from = i + 1;
    }
    parts.push(value.slice(from));
    forms.add(parts.join(''));
  }
}

function markupEscape(c: number, quot: string | undefined, apos: string | undefined): string | undefined {
  switch (c) {
    case 0x26:
      return '&amp;';
    case 0x3c:
      return '&lt;';
    case 0x3e:
      return '&gt;';
    case 0x22:
      return quot;
    case 0x27:
      return apos;
    default:
      return undefined;
  }
}

// --- base64 -------------------------------------------------------------------------------------------------------

/**
 * The value's UTF-8 bytes in base64, standard and URL-safe, padded and not; and "at any offset": inside a longer
 * byte string (`user:password` in an HTTP Basic header) the characters around the value also depend on its
 * neighbours, so for each byte offset k in {0, 1, 2} (mod 3) only the characters j with ceil(8k/6) <= j and
 * 6j + 6 <= 8(k + n) are fixed by the value alone. They are read off the encoding of k zero bytes, the value and
 * two zero bytes. Also the runner's shifts (the value without its first 1 or 2 bytes, encoded alone) and the
 * lines of the standard encoding wrapped at 76 (coreutils `base64`, MIME) and 64 (PEM, `openssl base64`).
 */
function base64Forms(value: string, forms: Set<string>): void {
  const bytes = Buffer.from(value, 'utf8');
  const n = bytes.length;
  for (const encoded of [bytes.toString('base64'), bytes.toString('base64url')]) {
    const bare = withoutPadding(encoded);
    forms.add(bare);
    forms.add(bare.padEnd(Math.ceil(bare.length / 4) * 4, '='));
  }
  for (let k = 0; k <= 2; k++) {
    const framed = Buffer.concat([Buffer.alloc(k), bytes, Buffer.alloc(2)]);
    const from = Math.ceil((8 * k) / 6);
    const to = Math.floor((8 * (k + n)) / 6);
    if (to <= from) continue;
    forms.add(framed.toString('base64').slice(from, to));
    forms.add(framed.toString('base64url').slice(from, to));
  }
  for (let shift = 1; shift <= 2 && shift < n; shift++) {
    const encoded = bytes.subarray(shift).toString('base64');
    forms.add(encoded);
    forms.add(withoutPadding(encoded));
    forms.add(bytes.subarray(shift).toString('base64url'));
  }
  const standard = bytes.toString('base64');
  for (const width of [64, 76]) {
    if (standard.length <= width) continue;
    for (let i = 0; i < standard.length; i += width) forms.add(standard.slice(i, i + width));
  }
}

function withoutPadding(base64: string): string {
  let end = base64.length;
  while (end > 0 && base64.charCodeAt(end - 1) === 0x3d) end--;
  return base64.slice(0, end);
}

// --- the runner's own escapings -----------------------------------------------------------------------------------

/**
 * `CommandLineArgumentEscape` (`"` as `\"`), `ExpressionStringEscape` (`'` as `''`), and the two sections
 * PowerShell prints separately when a value with `&` is run as a command (`PowerShellPreAmpersandEscape`,
 * `PowerShellPostAmpersandEscape`). Also POSIX sh's single-quote escapes, which the runner misses: `'\''` (as the
 * dotenv delivery file and `set -x` write them) and `'"'"'`.
 */
function runnerForms(value: string, forms: Set<string>): void {
  forms.add(value.replaceAll('"', '\\"'));
  forms.add(value.replaceAll("'", "''"));
  if (value.includes("'")) {
    forms.add(value.replaceAll("'", "'\\''"));
    forms.add(value.replaceAll("'", `'"'"'`));
  }
  if (!value.includes('&')) return;
  const plus = value.indexOf('&+');
  const last = value.lastIndexOf('&');
  forms.add(plus >= 0 ? value.slice(0, plus + 2) : value.slice(0, last + 1));
  forms.add(plus >= 0 ? value.slice(plus + 3) : value.slice(last + 1));
}
