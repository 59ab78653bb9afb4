import { describe, expect, it } from 'vitest';
import { parseIsoTime } from './time.js';

describe('parseIsoTime', () => {
  it('reads ISO 8601 times with a zone, to the millisecond', () => {
    expect(parseIsoTime('2027-01-31T09:00:00Z')?.toISOString()).toBe('2027-01-31T09:00:00.000Z');
    expect(parseIsoTime('2027-01-31T09:00Z')?.toISOString()).toBe('2027-01-31T09:00:00.000Z');
    expect(parseIsoTime('2027-01-31T09:00:00.123456789Z')?.toISOString()).toBe('2027-01-31T09:00:00.123Z');
    expect(parseIsoTime('2027-01-31T09:00:00+02:00')?.toISOString()).toBe('2027-01-31T07:00:00.000Z');
    expect(parseIsoTime('2027-01-31T09:00:00-12:00')?.toISOString()).toBe('2027-01-31T21:00:00.000Z');
    expect(parseIsoTime('2027-01-01T00:30:00+14:00')?.toISOString()).toBe('2026-12-31T10:30:00.000Z');
    expect(parseIsoTime('2028-02-29T00:00:00Z')?.toISOString()).toBe('2028-02-29T00:00:00.000Z');
    expect(parseIsoTime('0050-06-01T00:00:00Z')?.getUTCFullYear()).toBe(50);
  });

  it('reads a bare date as midnight UTC only when asked', () => {
    expect(parseIsoTime('2027-01-31', { dateOnly: true })?.toISOString()).toBe('2027-01-31T00:00:00.000Z');
    expect(parseIsoTime('2027-01-31')).toBeNull();
  });

  it('refuses days that do not exist and times out of range, instead of moving them', () => {
    for (const bad of [
      '2027-02-30T00:00:00Z',
      '2027-02-29T00:00:00Z',
      '2027-04-31T12:00Z',
      '2027-13-01T00:00:00Z',
      '2027-00-10T00:00:00Z',
      '2027-01-00T00:00:00Z',
      '2027-01-31T24:00:00Z',
      '2027-01-31T23:60:00Z',
      '2027-01-31T23:59:60Z',
      '2027-01-31T09:00:00+15:00',
      '2027-01-31T09:00:00+14:30',
      '2027-01-31T09:00:00+02:60',
    ])
      expect(parseIsoTime(bad), bad).toBeNull();
    for (const bad of ['2027-02-30', '2027-02-29', '2027-11-31'])
      expect(parseIsoTime(bad, { dateOnly: true }), bad).toBeNull();
  });

  it('refuses every other shape', () => {
    for (const bad of [
      '',
      '2027-01-31T09:00:00',
      '2027-01-31 09:00:00Z',
      '2027-01-31t09:00:00z',
      '2027-1-31T09:00:00Z',
      '+02027-01-31T09:00:00Z',
      '2027-01-31T09:00:00.1234567890Z',
      '2027-01-31T09:00:00Z\n',
      'tomorrow',
      '1738300800',
    ])
      expect(parseIsoTime(bad, { dateOnly: true }), JSON.stringify(bad)).toBeNull();
  });
});
