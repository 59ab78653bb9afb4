const DAY_MS = 86_400_000;

/** Milliseconds per unit of {@link parseDuration}. */
const UNITS: Readonly<Record<string, number>> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: DAY_MS,
  w: 7 * DAY_MS,
};

/** The longest duration accepted: 100 years (a longer one is a typo, and would overflow a timestamp). */
export const MAX_DURATION_MS = 100 * 365 * DAY_MS;

/**
 * Parses a duration written as a whole number and a unit — `90s`, `15m`, `12h`, `30d`, `2w` — into milliseconds
 * (`secrets.expiry_grace`, `--expires-in`, `--expiring`, `?expiring=`). Returns null for anything else, including `0`
 * without a unit, fractions, negatives and spaces: the caller says what was expected.
 */
export function parseDuration(text: string): number | null {
  const match = /^(\d{1,9})([smhdw])$/.exec(text);
  if (!match) return null;
  const ms = Number(match[1]) * (UNITS[match[2] as string] as number);
  return ms > MAX_DURATION_MS ? null : ms;
}

/** What {@link parseDuration} accepts, for error messages. */
export const DURATION_HINT = 'a whole number and a unit: s, m, h, d or w (e.g. 30d)';

/**
 * A duration in the largest unit that holds it exactly (`604800000` → `1w`, `90000` → `90s`): what
 * {@link parseDuration} reads back as the same milliseconds. Whole seconds only (a fraction is rounded up).
 */
export function formatDuration(ms: number): string {
  const seconds = Math.ceil(ms / 1000);
  for (const unit of ['w', 'd', 'h', 'm'] as const) {
    const size = (UNITS[unit] as number) / 1000;
    if (seconds > 0 && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}
