import { printable } from './printable.js';

/** Prints rows as aligned columns under a header; `(none)` when there are none. Cells are made printable. */
export function table(out: (t: string) => unknown, head: string[], cells: string[][]): void {
  const rows = cells.map((r) => r.map((c) => printable(c).replaceAll('\n', '\\n').replaceAll('\t', ' ')));
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  out(
    head
      .map((h, i) => h.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd(),
  );
  for (const r of rows)
    out(
      r
        .map((c, i) => c.padEnd(widths[i] as number))
        .join('  ')
        .trimEnd(),
    );
  if (rows.length === 0) out('(none)');
}

/** A time as ISO 8601 to the second. */
export function iso(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}
