/** ISO 8601 with a date, a time (minutes; seconds and up to 9 fraction digits optional) and a zone. */
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|([+-])(\d{2}):(\d{2}))$/;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Days in a month of the proleptic Gregorian calendar. */
function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Whether year, month and day name a day that exists (no 2027-02-30, which `Date` would move to March). */
function realDay(year: number, month: number, day: number): boolean {
  return month >= 1 && month <= 12 && day >= 1 && day <= daysIn(year, month);
}

/**
 * Parses a time written as ISO 8601 with a zone (`2027-01-31T09:00:00Z`, `2027-01-31T09:00+02:00`), or, with
 * `dateOnly`, also a bare date (`2027-01-31`: midnight UTC). Strict where `new Date` is lenient: a day that does not
 * exist, an hour over 23, a minute or second over 59 (no leap second), a zone over ±14:00, a missing zone, or any
 * other shape is null. The fraction is kept to the millisecond.
 */
export function parseIsoTime(text: string, options: { dateOnly?: boolean } = {}): Date | null {
  const date = options.dateOnly ? DATE_ONLY.exec(text) : null;
  if (date) {
    const [y, m, d] = [Number(date[1]), Number(date[2]), Number(date[3])];
    return realDay(y, m, d) ? new Date(Date.UTC(y, m - 1, d)) : null;
  }
  const t = DATE_TIME.exec(text);
  if (!t) return null;
  const [y, mo, d, h, mi] = [1, 2, 3, 4, 5].map((i) => Number(t[i]));
  const s = t[6] === undefined ? 0 : Number(t[6]);
  const ms = t[7] === undefined ? 0 : Math.floor(Number(`0${t[7]}`) * 1000);
  const [oh, om] = t[8] === 'Z' ? [0, 0] : [Number(t[10]), Number(t[11])];
  if (!realDay(y as number, mo as number, d as number)) return null;
  if ((h as number) > 23 || (mi as number) > 59 || s > 59 || oh > 14 || om > 59 || (oh === 14 && om > 0))
    return null;
  const offsetMs = (t[9] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  const utc = Date.UTC(y as number, (mo as number) - 1, d as number, h as number, mi as number, s, ms);
  // Date.UTC reads years 0–99 as 1900–1999: set the year as written.
  const at = new Date(utc);
  at.setUTCFullYear(y as number, (mo as number) - 1, d as number);
  return new Date(at.getTime() - offsetMs);
}
