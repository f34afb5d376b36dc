/**
 * Where a stateful operator runs, decided from measured costs: pure functions over plain data (no clock, no pool, no
 * I/O), so each rule is tested on its own. `PartitionRunner` measures (wall time of whole batches, state size, the map
 * side's partial rows) and moves the state; this module only decides.
 *
 * The rules, for a streaming query (`minRowNs` > 0; with 0 nothing is timed and the first big input moves):
 * - **Move to the workers** (`worthWorkers`) once the warm inline batches hold `SETTLE_THRESHOLDS` × `thresholdRows`
 *   rows and the cheaper of the last `RECENT_BATCHES` of them cost at least `minRowNs` per row.
 * - **Move back** (`settle`) once as many warm worker rows are timed: when the workers' cheapest recent batch costs
 *   `MOVE_BACK_RATIO` × the inline one per row or more, over states within `STATE_RATIO` of each other in size.
 *   Either way the placement is then settled for the run.
 * - **Route** (`observeRoute`) of big inputs on the workers: pre-aggregate slices (`map`) while the smoothed ratio of
 *   partial rows to input rows stays at or below `MAP_MAX_RATIO`, then split rows by key (`direct`) for the run.
 * - **Bookkeeping** (`recordBatch`): each side keeps its rows and last `RECENT_BATCHES` batch costs, its first
 *   batch aside (cold code; the move).
 *
 * @module
 */

/** Worker batches timed (after the first) before a streaming operator settles: at least this many thresholds of rows. */
export const SETTLE_THRESHOLDS = 4;
/** How much more per row the workers must cost than the calling thread did to move back (run-to-run noise is ±10 %). */
export const MOVE_BACK_RATIO = 1.1;
/** Placement timing: the batches each side is judged by (the cheapest of them). */
export const RECENT_BATCHES = 2;
/** Placement timing: how much the state's size may differ between the batches compared. */
export const STATE_RATIO = 1.25;
/**
 * Above this many partial rows per input row, big inputs stop being pre-aggregated (see `observeRoute`).
 * Pre-aggregating aggregates every row twice (per slice, then the partials at their owner); it pays when the partials
 * are an order of magnitude fewer than the rows (a max per window: ~0). At q5's ~0.2 (counts per auction in sliding
 * windows), splitting rows by key here was 4–11 % faster with 10 % less CPU.
 */
export const MAP_MAX_RATIO = 0.1;

/** One timed batch: wall nanoseconds per input row, and the state's rows after it. */
export interface Timed {
  readonly ns: number;
  readonly stateRows: number;
}

/** What one placement (inline or workers) has measured. */
export interface SideCost {
  /** The last `RECENT_BATCHES` timed batches, oldest first. */
  readonly recent: readonly Timed[];
  /** Input rows of the timed batches (the first batch aside). */
  readonly rows: number;
  /** Batches seen (the first included). */
  readonly batches: number;
}

/** The placement's whole state: both sides' costs, and whether it is settled for the run. */
export interface PlacementState {
  readonly inline: SideCost;
  readonly workers: SideCost;
  readonly settled: boolean;
}

/** The run's placement settings (`parallelThresholdRows`, `parallelMinRowNs`). */
export interface PlacementLimits {
  readonly thresholdRows: number;
  /** Least cost per input row that makes moving pay (0: no timing, the first big input moves). */
  readonly minRowNs: number;
}

/** One finished batch as measured by the runner. */
export interface BatchMeasurement {
  readonly side: 'inline' | 'workers';
  /** Input rows of the batch. */
  readonly rows: number;
  /** Wall milliseconds from its first input to its state commit. */
  readonly elapsedMs: number;
  /** The state's rows after it. */
  readonly stateRows: number;
}

/** What `settle` decided. */
export type SettleDecision =
  /** Too few worker rows timed yet: ask again next batch. */
  | { readonly kind: 'wait' }
  /** Settled without a comparison (a side has no timed batch): the state stays on the workers. */
  | { readonly kind: 'unmeasured' }
  /** Settled by comparing the two sides' cheapest recent batches. */
  | {
      readonly kind: 'compared';
      readonly inlineNsPerRow: number;
      readonly workerNsPerRow: number;
      /** The two were timed over states within `STATE_RATIO` of each other (else the workers stay). */
      readonly comparable: boolean;
      readonly moveBack: boolean;
    };

/** How big inputs reach the owners, and the smoothed partial/input ratio it was chosen by. */
export interface RouteState {
  readonly route: 'map' | 'direct';
  /** 0 until the first observation. */
  readonly ratio: number;
}

/**
 * Nothing measured yet.
 *
 * @example
 * let placement = initialPlacement(); // { inline: { recent: [], rows: 0, batches: 0 }, workers: …, settled: false }
 */
export function initialPlacement(): PlacementState {
  const empty: SideCost = { recent: [], rows: 0, batches: 0 };
  return { inline: empty, workers: empty, settled: false };
}

/**
 * The cheapest of some timed batches (the first of equals), or null for none.
 *
 * @example
 * cheapest([{ ns: 50, stateRows: 1 }, { ns: 40, stateRows: 2 }]); // { ns: 40, stateRows: 2 }
 */
export function cheapest(batches: readonly Timed[]): Timed | null {
  let best: Timed | null = null;
  for (const t of batches) if (best === null || t.ns < best.ns) best = t;
  return best;
}

/**
 * Whether moving to the workers pays: with `minRowNs` > 0 the operator first runs inline until its warm batches hold
 * `SETTLE_THRESHOLDS` × `thresholdRows` rows, then moves only if the cheaper of its last batches cost at least
 * `minRowNs` per row, whole (absorb, finish and state commit: all of it runs on the workers after the move).
 *
 * @example
 * worthWorkers(placement, { thresholdRows: 10_000, minRowNs: 60 }); // false until 40,000 warm inline rows are timed
 */
export function worthWorkers(state: PlacementState, limits: PlacementLimits): boolean {
  if (limits.minRowNs <= 0) return true;
  // Enough warm inline batches to compare the workers against later (see `settle`).
  if (state.inline.rows < limits.thresholdRows * SETTLE_THRESHOLDS) return false;
  const last = cheapest(state.inline.recent);
  return last !== null && last.ns >= limits.minRowNs;
}

/**
 * Whether state on the workers should come back to the calling thread, once enough worker batches are timed: when
 * they cost `MOVE_BACK_RATIO` times as much per row as the last inline batches did, or more (the hand-off outweighs
 * the second core). Each side is judged by the cheaper of its last `RECENT_BATCHES` batches (one slow batch is
 * noise). The two must be timed over states of about the same size (within `STATE_RATIO`): while a state grows (a
 * stream's first windows, new keys) its batches cost more per row, and an inline batch over the smaller state
 * earlier would make the workers look worse than they are; such a comparison keeps the workers. Any decision other
 * than `wait` settles the placement for the run (`settledPlacement`).
 *
 * @example
 * const d = settle(placement, limits);
 * if (d.kind !== 'wait') placement = settledPlacement(placement);
 * if (d.kind === 'compared' && d.moveBack) await runner.toLocal();
 */
export function settle(state: PlacementState, limits: PlacementLimits): SettleDecision {
  const { inline, workers } = state;
  if (workers.rows === 0 || workers.rows < limits.thresholdRows * SETTLE_THRESHOLDS) return { kind: 'wait' };
  const a = cheapest(inline.recent);
  const b = cheapest(workers.recent);
  if (a === null || b === null) return { kind: 'unmeasured' };
  const sizes = [Math.max(1, a.stateRows), Math.max(1, b.stateRows)];
  const comparable = Math.max(...sizes) <= STATE_RATIO * Math.min(...sizes);
  const moveBack = comparable && b.ns >= a.ns * MOVE_BACK_RATIO;
  return { kind: 'compared', inlineNsPerRow: a.ns, workerNsPerRow: b.ns, comparable, moveBack };
}

/**
 * The same placement, settled for the run: no more timing, no more moves.
 *
 * @example
 * placement = settledPlacement(placement);
 */
export function settledPlacement(state: PlacementState): PlacementState {
  return { ...state, settled: true };
}

/**
 * The placement after one finished batch: a batch of at least `thresholdRows` rows (and at least 1) counts for the
 * side it ran on, its first one there only as seen (cold code; the move); a smaller batch, a settled placement, or
 * `minRowNs` 0 changes nothing (the same object comes back).
 *
 * @example
 * placement = recordBatch(placement, { side: 'inline', rows: 20_000, elapsedMs: 1.5, stateRows: 9_000 }, limits);
 */
export function recordBatch(state: PlacementState, m: BatchMeasurement, limits: PlacementLimits): PlacementState {
  if (state.settled || limits.minRowNs <= 0 || m.rows < Math.max(1, limits.thresholdRows)) return state;
  const c = state[m.side];
  const batches = c.batches + 1;
  const side: SideCost =
    c.batches === 0
      ? { recent: c.recent, rows: c.rows, batches }
      : {
          recent: [...c.recent, { ns: (m.elapsedMs * 1e6) / m.rows, stateRows: m.stateRows }].slice(-RECENT_BATCHES),
          rows: c.rows + m.rows,
          batches,
        };
  return m.side === 'inline' ? { ...state, inline: side } : { ...state, workers: side };
}

/**
 * The route of big inputs after one map step turned `inputRows` rows into `partialRows` partial rows: the ratio is
 * smoothed (0.7 old, 0.3 new; the first observation taken as is) and once it exceeds `MAP_MAX_RATIO` the route is
 * `direct` for the run (near 1 partial row per input row, e.g. sliding windows over many keys, pre-aggregating only
 * adds a second hash probe per row).
 *
 * @example
 * observeRoute({ route: 'map', ratio: 0 }, 2_000, 10_000); // { route: 'direct', ratio: 0.2 }
 */
export function observeRoute(state: RouteState, partialRows: number, inputRows: number): RouteState {
  const r = partialRows / inputRows;
  const ratio = state.ratio === 0 ? r : 0.7 * state.ratio + 0.3 * r;
  return { ratio, route: ratio > MAP_MAX_RATIO ? 'direct' : state.route };
}
