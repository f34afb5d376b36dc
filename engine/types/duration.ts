/** Raised for a duration string sluice cannot read. */
export class DurationError extends Error {
  override readonly name = 'DurationError';
}

const UNIT_MS: Record<string, number> = {
  ms: 1,
  millisecond: 1,
  milliseconds: 1,
  msec: 1,
  msecs: 1,
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
  w: 604_800_000,
  week: 604_800_000,
  weeks: 604_800_000,
};

const MONTHS = new Set(['mo', 'month', 'months', 'mon', 'mons', 'y', 'year', 'years', 'yr', 'yrs']);

/** A duration as users write it (`'10 seconds'`, `'1 hour 30 minutes'`) or a number of milliseconds. */
export type Duration = string | number;

/**
 * Parses a duration into milliseconds, Spark's interval syntax: one or more `<number> <unit>` pairs, an optional
 * leading `interval`. A day is always 24 hours; months and years are refused because they have no fixed length.
 *
 * @example
 * parseDuration('5 minutes'); // 300000
 * parseDuration('1 hour 30 minutes'); // 5400000
 */
export function parseDuration(d: Duration, what = 'duration'): number {
  if (typeof d === 'number') {
    if (!Number.isFinite(d)) throw new DurationError(`The ${what} must be a finite number of milliseconds, got ${d}.`);
    return d;
  }
  const text = d.trim().toLowerCase().replace(/^interval\s+/, '');
  const re = /(-?\d+(?:\.\d+)?)\s*([a-z]+)/g;
  let total = 0;
  let consumed = 0;
  let pairs = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const between = text.slice(consumed, m.index);
    if (between.trim() !== '') break;
    const unit = m[2]!;
    if (MONTHS.has(unit)) {
      throw new DurationError(
        `The ${what} '${d}' uses ${unit}, which has no fixed length. Use days instead, e.g. '30 days'.`,
      );
    }
    const ms = UNIT_MS[unit];
    if (ms === undefined) {
      throw new DurationError(
        `The ${what} '${d}' has an unknown unit '${unit}'. Use milliseconds, seconds, minutes, hours, days or weeks, ` +
          `e.g. '10 seconds'.`,
      );
    }
    total += Number(m[1]) * ms;
    consumed = m.index + m[0].length;
    pairs++;
  }
  if (pairs === 0 || text.slice(consumed).trim() !== '') {
    throw new DurationError(
      `Cannot read the ${what} '${d}'. Write a number and a unit, e.g. '250 milliseconds', '10 seconds', '5 minutes', ` +
        `'1 hour' or '2 days'.`,
    );
  }
  return Math.round(total);
}

/**
 * Formats milliseconds the way sluice prints durations in `explain()` and specs.
 *
 * @example
 * formatDuration(300000); // '5 minutes'
 * formatDuration(1500); // '1500 milliseconds'
 */
export function formatDuration(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1000, 'second'],
  ];
  for (const [size, name] of units) {
    if (ms !== 0 && ms % size === 0) {
      const n = ms / size;
      return `${n} ${name}${Math.abs(n) === 1 ? '' : 's'}`;
    }
  }
  return `${ms} millisecond${ms === 1 ? '' : 's'}`;
}
