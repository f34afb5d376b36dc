import { describe, expect, it } from 'vitest';
import {
  cheapest,
  initialPlacement,
  MAP_MAX_RATIO,
  MOVE_BACK_RATIO,
  observeRoute,
  RECENT_BATCHES,
  recordBatch,
  SETTLE_THRESHOLDS,
  settle,
  settledPlacement,
  STATE_RATIO,
  worthWorkers,
  type PlacementState,
  type SideCost,
  type Timed,
} from '../../../engine/workers/placement-policy.js';

const limits = { thresholdRows: 100, minRowNs: 50 };
/** Enough warm rows on a side for `worthWorkers` / `settle` to decide. */
const enough = limits.thresholdRows * SETTLE_THRESHOLDS;

function side(recent: Timed[], rows = enough, batches = recent.length + 1): SideCost {
  return { recent, rows, batches };
}
function state(inline: SideCost, workers: SideCost = side([], 0, 0)): PlacementState {
  return { inline, workers, settled: false };
}
const t = (ns: number, stateRows = 1000): Timed => ({ ns, stateRows });

describe('placement policy: the constants the rules below are written against', () => {
  it('has the values the placement tests and benchmarks were tuned with', () => {
    expect({ SETTLE_THRESHOLDS, MOVE_BACK_RATIO, RECENT_BATCHES, STATE_RATIO, MAP_MAX_RATIO }).toEqual({
      SETTLE_THRESHOLDS: 4,
      MOVE_BACK_RATIO: 1.1,
      RECENT_BATCHES: 2,
      STATE_RATIO: 1.25,
      MAP_MAX_RATIO: 0.1,
    });
  });
});

describe('cheapest', () => {
  it('is null for no batches and the lowest cost (the first of equals) otherwise', () => {
    expect(cheapest([])).toBeNull();
    const a = t(40, 1);
    const b = t(40, 2);
    expect(cheapest([t(50), a, b])).toBe(a);
  });
});

describe('worthWorkers', () => {
  it('always moves when nothing is timed (minRowNs 0 or below)', () => {
    expect(worthWorkers(initialPlacement(), { thresholdRows: 100, minRowNs: 0 })).toBe(true);
    expect(worthWorkers(initialPlacement(), { thresholdRows: 100, minRowNs: -1 })).toBe(true);
  });
  it('waits for SETTLE_THRESHOLDS × thresholdRows warm inline rows', () => {
    expect(worthWorkers(state(side([t(1000)], enough - 1)), limits)).toBe(false);
    expect(worthWorkers(state(side([t(1000)], enough)), limits)).toBe(true);
  });
  it('moves when the cheaper recent inline batch costs at least minRowNs per row', () => {
    expect(worthWorkers(state(side([t(80), t(limits.minRowNs)])), limits)).toBe(true);
    expect(worthWorkers(state(side([t(80), t(limits.minRowNs - 0.001)])), limits)).toBe(false);
  });
  it('does not move without a timed batch, whatever the rows', () => {
    expect(worthWorkers(state(side([], enough * 10)), limits)).toBe(false);
  });
});

describe('settle', () => {
  const inline = side([t(100), t(90)]);
  it('waits until SETTLE_THRESHOLDS × thresholdRows warm worker rows are timed (and at least one row)', () => {
    expect(settle(state(inline, side([t(500)], enough - 1)), limits)).toEqual({ kind: 'wait' });
    expect(settle(state(inline, side([t(500)], 0)), { thresholdRows: 0, minRowNs: 50 })).toEqual({ kind: 'wait' });
    expect(settle(state(inline, side([t(500)], enough)), limits).kind).toBe('compared');
  });
  it('settles unmeasured (the workers stay) when a side has no timed batch', () => {
    expect(settle(state(side([]), side([t(500)])), limits)).toEqual({ kind: 'unmeasured' });
    expect(settle(state(inline, side([])), limits)).toEqual({ kind: 'unmeasured' });
  });
  it('moves back at MOVE_BACK_RATIO × the inline cost per row or more, judging each side by its cheapest recent batch', () => {
    // Inline cheapest 90: the workers' cheapest must reach 99.
    const at = 90 * MOVE_BACK_RATIO;
    expect(settle(state(inline, side([t(500), t(at)])), limits)).toEqual({
      kind: 'compared',
      inlineNsPerRow: 90,
      workerNsPerRow: at,
      comparable: true,
      moveBack: true,
    });
    const below = settle(state(inline, side([t(500), t(at - 0.01)])), limits);
    expect(below).toMatchObject({ kind: 'compared', comparable: true, moveBack: false });
  });
  it('compares only states within STATE_RATIO of each other in size (else the workers stay)', () => {
    const inl = side([t(10, 1000)]);
    expect(settle(state(inl, side([t(1000, 1250)])), limits)).toMatchObject({ comparable: true, moveBack: true });
    expect(settle(state(inl, side([t(1000, 1251)])), limits)).toMatchObject({ comparable: false, moveBack: false });
    // Either way round, and an empty state counts as one row.
    expect(settle(state(side([t(10, 1251)]), side([t(1000, 1000)])), limits)).toMatchObject({ comparable: false });
    expect(settle(state(side([t(10, 0)]), side([t(1000, 1)])), limits)).toMatchObject({ comparable: true, moveBack: true });
    expect(settle(state(side([t(10, 0)]), side([t(1000, 2)])), limits)).toMatchObject({ comparable: false });
  });
  it('uses the sizes of the cheapest batches, not the latest', () => {
    // Workers' cheapest (200) was over 5000 rows: not comparable with the inline 1000, though the latest is.
    const d = settle(state(side([t(100, 1000)]), side([t(200, 5000), t(300, 1000)])), limits);
    expect(d).toMatchObject({ workerNsPerRow: 200, comparable: false, moveBack: false });
  });
});

describe('settledPlacement', () => {
  it('marks the placement settled and keeps its costs', () => {
    const s = state(side([t(1)]), side([t(2)]));
    const after = settledPlacement(s);
    expect(after).toEqual({ ...s, settled: true });
    expect(s.settled).toBe(false);
  });
});

describe('recordBatch', () => {
  const m = (over: Partial<{ side: 'inline' | 'workers'; rows: number; elapsedMs: number; stateRows: number }> = {}) => ({
    side: 'inline' as const,
    rows: 200,
    elapsedMs: 0.01,
    stateRows: 77,
    ...over,
  });
  it('counts the first batch of a side as seen only (cold code; the move)', () => {
    const s = recordBatch(initialPlacement(), m(), limits);
    expect(s.inline).toEqual({ recent: [], rows: 0, batches: 1 });
    expect(s.workers).toEqual({ recent: [], rows: 0, batches: 0 });
  });
  it('keeps the later batches as ns per row with the state size, and adds their rows', () => {
    let s = recordBatch(initialPlacement(), m(), limits);
    s = recordBatch(s, m({ rows: 200, elapsedMs: 0.01 }), limits);
    expect(s.inline).toEqual({ recent: [{ ns: 50, stateRows: 77 }], rows: 200, batches: 2 });
  });
  it('keeps only the last RECENT_BATCHES batches, oldest first', () => {
    let s = initialPlacement();
    for (const ms of [1, 0.02, 0.03, 0.04]) s = recordBatch(s, m({ elapsedMs: ms }), limits);
    expect(s.inline.recent.map((r) => r.ns)).toEqual([150, 200]);
    expect(s.inline.rows).toBe(600);
  });
  it('books each batch on the side it ran on', () => {
    let s = recordBatch(initialPlacement(), m({ side: 'workers' }), limits);
    s = recordBatch(s, m({ side: 'workers' }), limits);
    expect(s.workers.batches).toBe(2);
    expect(s.workers.recent).toHaveLength(1);
    expect(s.inline).toEqual({ recent: [], rows: 0, batches: 0 });
  });
  it('ignores batches below thresholdRows (and empty ones with threshold 0), settled placements and minRowNs 0', () => {
    const s = initialPlacement();
    expect(recordBatch(s, m({ rows: 99 }), limits)).toBe(s);
    expect(recordBatch(s, m({ rows: 100 }), limits)).not.toBe(s);
    expect(recordBatch(s, m({ rows: 0 }), { thresholdRows: 0, minRowNs: 50 })).toBe(s);
    const settled = settledPlacement(s);
    expect(recordBatch(settled, m(), limits)).toBe(settled);
    expect(recordBatch(s, m(), { thresholdRows: 100, minRowNs: 0 })).toBe(s);
  });
  it('does not change the state it was given', () => {
    const s = recordBatch(recordBatch(initialPlacement(), m(), limits), m(), limits);
    const copy = structuredClone(s);
    recordBatch(s, m(), limits);
    expect(s).toEqual(copy);
  });
});

describe('observeRoute', () => {
  it('takes the first ratio as is, then smooths 0.7 old + 0.3 new', () => {
    const a = observeRoute({ route: 'map', ratio: 0 }, 5, 100);
    expect(a).toEqual({ route: 'map', ratio: 0.05 });
    const b = observeRoute(a, 10, 100);
    expect(b.ratio).toBeCloseTo(0.7 * 0.05 + 0.3 * 0.1, 12);
    expect(b.route).toBe('map');
  });
  it('switches to direct above MAP_MAX_RATIO, not at it', () => {
    expect(observeRoute({ route: 'map', ratio: 0 }, 10, 100)).toEqual({ route: 'map', ratio: MAP_MAX_RATIO });
    expect(observeRoute({ route: 'map', ratio: 0 }, 11, 100).route).toBe('direct');
  });
  it('stays direct for the run once switched, even when the ratio falls again', () => {
    let s = observeRoute({ route: 'map', ratio: 0 }, 50, 100);
    for (let i = 0; i < 20; i++) s = observeRoute(s, 0, 100);
    expect(s.ratio).toBeLessThan(MAP_MAX_RATIO);
    expect(s.route).toBe('direct');
  });
  it('a ratio of exactly 0 restarts the smoothing (as before any observation)', () => {
    expect(observeRoute({ route: 'map', ratio: 0 }, 0, 100)).toEqual({ route: 'map', ratio: 0 });
    expect(observeRoute({ route: 'map', ratio: 0 }, 8, 100).ratio).toBe(0.08);
  });
});
