import { describe, expect, it } from 'vitest';
import { assignSessions, assignWindows, windowStartOf } from '../../../engine/kernels/window-kernel.js';
import { numVec } from '../../../engine/kernels/vec.js';

const MIN = 60_000;

function times(ts: (number | null)[]) {
  const values = new Float64Array(ts.map((t) => t ?? 0));
  const valid = ts.some((t) => t === null) ? Uint8Array.from(ts.map((t) => (t === null ? 0 : 1))) : null;
  return numVec('timestamp', values, valid);
}

/** (row, start) pairs of an assignment. */
function pairs(a: { rows: Int32Array; starts: Float64Array; count: number }): [number, number][] {
  return Array.from({ length: a.count }, (_, i) => [a.rows[i]!, a.starts[i]!]);
}

describe('windowStartOf', () => {
  it('uses floorMod, so times before 1970 (and before the offset) land in the window that contains them', () => {
    expect(windowStartOf(-1, 1000, 0)).toBe(-1000);
    expect(windowStartOf(-1000, 1000, 0)).toBe(-1000);
    expect(windowStartOf(-1001, 1000, 0)).toBe(-2000);
    expect(windowStartOf(999, 1000, 0)).toBe(0);
    expect(windowStartOf(5, 1000, 300)).toBe(-700);
    expect(windowStartOf(300, 1000, 300)).toBe(300);
    expect(windowStartOf(299, 1000, -700)).toBe(-700);
    // 1900-01-01T00:00:00.001Z: far before the epoch, still exact.
    expect(windowStartOf(-2_208_988_799_999, 3_600_000, 0)).toBe(-2_208_988_800_000);
  });
});

describe('assignWindows', () => {
  it('tumbling: one window per row, [start, end), nulls get none', () => {
    const a = assignWindows(times([0, 59_999, 60_000, -1, null, -60_000]), MIN, MIN, 0);
    expect(pairs(a)).toEqual([
      [0, 0],
      [1, 0],
      [2, 60_000],
      [3, -60_000],
      [5, -60_000],
    ]);
  });

  it('tumbling with a start offset', () => {
    const a = assignWindows(times([0, 17 * MIN, 17 * MIN - 1, -50 * MIN]), 60 * MIN, 60 * MIN, 17 * MIN);
    expect(pairs(a).map(([, s]) => s / MIN)).toEqual([-43, 17, -43, -103]);
  });

  it('sliding with the size a multiple of the slide: every candidate window', () => {
    const a = assignWindows(times([7 * MIN, -1]), 30 * MIN, 10 * MIN, 0);
    expect(pairs(a).map(([r, s]) => [r, s / MIN])).toEqual([
      [0, 0],
      [0, -10],
      [0, -20],
      [1, -10],
      [1, -20],
      [1, -30],
    ]);
  });

  it('sliding with the size not a multiple of the slide: only windows with start ≤ t < end', () => {
    // 10 min every 3 min: t = 7 min is in [6,16), [3,13) and [0,10), not in [-3,7).
    const a = assignWindows(times([7 * MIN, 9 * MIN + 59_999, -MIN]), 10 * MIN, 3 * MIN, 0);
    const byRow = (r: number) => pairs(a).filter(([x]) => x === r).map(([, s]) => s / MIN);
    expect(byRow(0)).toEqual([6, 3, 0]);
    expect(byRow(1)).toEqual([9, 6, 3, 0]);
    expect(byRow(2)).toEqual([-3, -6, -9]);
    for (const [r, s] of pairs(a)) {
      const t = [7 * MIN, 9 * MIN + 59_999, -MIN][r]!;
      expect(s <= t && t < s + 10 * MIN).toBe(true);
    }
  });

  it('reads only the selected rows when given a selection', () => {
    const a = assignWindows(times([0, MIN, 2 * MIN, null]), MIN, MIN, 0, Int32Array.of(2, 3, 0));
    expect(pairs(a)).toEqual([
      [2, 2 * MIN],
      [0, 0],
    ]);
  });
});

describe('assignSessions', () => {
  it('opens [t, t + gap) per row with a constant gap; rows without a time are dropped', () => {
    const a = assignSessions(times([5, null, -10]), 100);
    expect(a.count).toBe(2);
    expect([...a.rows.subarray(0, 2)]).toEqual([0, 2]);
    expect([...a.starts.subarray(0, 2)]).toEqual([5, -10]);
    expect([...a.ends.subarray(0, 2)]).toEqual([105, 90]);
  });

  it('drops rows whose per-row gap is null, NaN, zero or negative', () => {
    const gaps = Float64Array.of(10, 0, -5, NaN, 20, 30);
    const gapValid = Uint8Array.of(1, 1, 1, 1, 1, 0);
    const a = assignSessions(times([0, 1, 2, 3, 4, 5]), gaps, gapValid);
    expect(a.count).toBe(2);
    expect([...a.rows.subarray(0, 2)]).toEqual([0, 4]);
    expect([...a.ends.subarray(0, 2)]).toEqual([10, 24]);
  });

  it('a non-positive constant gap opens no session', () => {
    expect(assignSessions(times([1, 2]), 0).count).toBe(0);
  });
});

describe('window starts without `%`', () => {
  it('equal floorMod by `%` for random and boundary times, offsets, slides, and fractional milliseconds', () => {
    let seed = 3;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const slides = [1, 7, 1000, 60_000, 3_600_000, 86_400_000, 604_800_000];
    const ts: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const slide = slides[i % slides.length]!;
      const base = Math.floor((rnd() - 0.5) * 2 ** 44);
      const k = Math.floor(base / slide) * slide;
      // Random times, exact multiples, one ms either side, and fractions of a ms.
      ts.push(base, k, k - 1, k + 1, k - 0.25, base + 0.5);
    }
    for (const slide of slides) {
      for (const startMs of [0, 300, -700, 59_999]) {
        const want = ts.map((t) => {
          let r = (t - startMs) % slide;
          if (r < 0) r += slide;
          return t - r;
        });
        const got = assignWindows(times(ts), slide, slide, startMs);
        expect(got.count).toBe(ts.length);
        let bad = 0;
        for (let i = 0; i < ts.length; i++) if (got.starts[i] !== want[i] || windowStartOf(ts[i]!, slide, startMs) !== want[i]) bad++;
        expect(bad).toBe(0);
      }
    }
  });
});
