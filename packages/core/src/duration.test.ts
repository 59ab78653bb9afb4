import { describe, expect, it } from 'vitest';
import { formatDuration, MAX_DURATION_MS, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it('reads a whole number and a unit', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('12h')).toBe(43_200_000);
    expect(parseDuration('30d')).toBe(2_592_000_000);
    expect(parseDuration('2w')).toBe(1_209_600_000);
    expect(parseDuration('0d')).toBe(0);
  });

  it('refuses anything else', () => {
    for (const bad of ['', '30', 'd', '1.5d', '-1d', ' 1d', '1d ', '1D', '1y', '1d2h', '1e3d', '0x10d'])
      expect(parseDuration(bad), bad).toBeNull();
  });

  it('refuses durations longer than 100 years', () => {
    expect(parseDuration('36500d')).toBe(MAX_DURATION_MS);
    expect(parseDuration('36501d')).toBeNull();
    expect(parseDuration('999999999w')).toBeNull();
  });

  it('writes a duration back in the largest exact unit, which reads as the same milliseconds', () => {
    expect(formatDuration(604_800_000)).toBe('1w');
    expect(formatDuration(90_000)).toBe('90s');
    expect(formatDuration(2 * 86_400_000)).toBe('2d');
    expect(formatDuration(0)).toBe('0s');
    for (const text of ['36500d', '11575d', '999999999s', '59m', '25h', '3w'])
      expect(parseDuration(formatDuration(parseDuration(text) as number))).toBe(parseDuration(text));
  });
});
