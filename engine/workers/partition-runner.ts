/**
 * Runs the partitions of one stateful operator: inline in the calling thread, or one per worker thread.
 *
 * A query starts inline. The first batch whose first input chunk has at least `parallelThresholdRows` rows moves the
 * state to the workers (split by key hash), and it stays there for the run (a streaming query's may come back, see
 * below). In a streaming query the operator is first timed inline and moves only if its whole batches (first input
 * to state commit) cost at least `parallelMinRowNs` per row: a cheaper operator (a max per tumbling window, measured
 * ~35 ns per row) loses more to the hand-off than two threads win. It is timed again on the workers (whole batches,
 * against the last inline batches before the move): when the workers cost at least 10 % more per row over a state of
 * about the same size, the state comes back to the calling thread for the rest of the run. From then on:
 * - a big input chunk whose partial aggregates are a tenth of its rows or fewer (a max per window) is cut into one
 *   slice per worker; each worker pre-aggregates its slice (map) and the partial results go to the owner of each key
 *   (merge), so state never moves between threads;
 * - any other chunk is split by key hash in the calling thread and sent straight to the owners.
 * Inputs below the threshold never start threads (measured in the benchmark: the pool costs a few hundred µs per batch).
 *
 * Checkpoints: each partition writes `state/<op>/<partition>/`; `commits/N` records how many partitions wrote the
 * state, and a restart with another `parallelism` re-partitions it (each new partition reads every old folder and
 * keeps its keys), then writes a full snapshot. Folders of partitions no longer written (after a move back, or a
 * restart with a lower `parallelism`) are removed once no retained commit (`minBatchesToRetain`) names them and the
 * state's layout log (`state/<op>/_metadata/partitions/`) says no retained version was written by more partitions.
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import { makePartition, projectSpec, type BatchInfo, type PartitionMetrics, type PartitionOperator, type PartitionSpec } from '../physical/partitions/index.js';
import { partitionIds, rowsByPartition } from '../kernels/hash-kernel.js';
import { StateStore } from '../state/state-store.js';
import { fromWire, gatherToWire, toWire, wireTransferables } from './wire.js';
import type { WorkerPool } from './pool.js';
import { commitState, concatStateRows, keepPartition, loadState } from './worker.js';
import { columnVec } from '../types/values.js';
import { evaluate } from '../kernels/expr-kernel.js';
import type { Vec } from '../kernels/vec.js';

/** How a run parallelises: the pool is created on first use. */
export interface WorkerContext {
  readonly parallelism: number;
  readonly thresholdRows: number;
  /** Least cost per input row of whole batches, timed on the calling thread, that makes moving pay (0: no timing). */
  readonly minRowNs: number;
  pool(): WorkerPool;
}

let opCounter = 0;

/** Test hooks for where an operator runs and how its rows reach the workers. */
export const placementHooks: {
  /**
   * Decides, in place of the measured costs, whether state on the workers moves back to the calling thread when a
   * streaming query settles where its operator runs (`true`: move back).
   */
  moveBack: ((inlineNsPerRow: number, workerNsPerRow: number) => boolean) | null;
  /** Fixes how big inputs reach the owners (see `PartitionRunner.route`), in place of the observed partial ratio. */
  route: 'map' | 'direct' | null;
  /**
   * Told each measured settle: the cheapest inline and worker batch costs per row, whether the two were over states of
   * about the same size (else they are not compared), and the decision.
   */
  settled: ((s: { inlineNsPerRow: number; workerNsPerRow: number; comparable: boolean; moveBack: boolean }) => void) | null;
} = { moveBack: null, route: null, settled: null };

/** Worker batches timed (after the first) before a streaming operator settles: at least this many thresholds of rows. */
const SETTLE_THRESHOLDS = 4;
/** How much more per row the workers must cost than the calling thread did to move back (run-to-run noise is ±10 %). */
export const MOVE_BACK_RATIO = 1.1;

/** Placement timing: the batches each side is judged by (the cheapest of them). */
const RECENT_BATCHES = 2;
/** Placement timing: how much the state's size may differ between the batches compared. */
const STATE_RATIO = 1.25;

interface Timed {
  readonly ns: number;
  readonly stateRows: number;
}
function newCost(): { recent: Timed[]; rows: number; batches: number } {
  return { recent: [], rows: 0, batches: 0 };
}
function cheapest(batches: readonly Timed[]): Timed | null {
  let best: Timed | null = null;
  for (const t of batches) if (best === null || t.ns < best.ns) best = t;
  return best;
}

/**
 * Above this many partial rows per input row, big inputs stop being pre-aggregated (see `route`). Pre-aggregating
 * aggregates every row twice (per slice, then the partials at their owner); it pays when the partials are an order
 * of magnitude fewer than the rows (a max per window: ~0). At q5's ~0.2 (counts per auction in sliding windows),
 * splitting rows by key here was 4–11 % faster with 10 % less CPU.
 */
const MAP_MAX_RATIO = 0.1;

/**
 * The partitions of one operator.
 *
 * @example
 * const runner = new PartitionRunner(spec);
 * await runner.start(info, workers); await runner.absorb(batch, seqBase, info); const { outputs } = await runner.finish(info);
 */
export class PartitionRunner {
  private local: PartitionOperator | null;
  private pool: WorkerPool | null = null;
  private workers: WorkerContext | null = null;
  private readonly opKey = `op${opCounter++}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  private rowsThisBatch = 0;
  private localForceSnapshot = false;
  /** The spec over just the columns the operator reads: what worker threads get. */
  private readonly narrow: { spec: PartitionSpec; columns: number[] | null };
  /**
   * How big inputs reach the owners: `map` (pre-aggregate slices, send partials) pays off when a slice has far fewer
   * groups than rows; `direct` (split rows by key here) when it does not. Chosen by the partial/input ratio observed.
   */
  private route: 'map' | 'direct';
  private ratio = 0;
  /** Per partition: the tasks submitted, in order; a failure is kept and rethrown. */
  private chains: Promise<void>[] = [];
  private inflight: Promise<void>[] = [];
  private failure: unknown = null;
  /**
   * Streaming placement: the wall time per row of the operator's batches (first input to state commit), inline and on
   * the workers, the first batch of each aside (cold code; the move), each with the state's size after it (the cost
   * per row grows with the state: bigger tables, more cache misses). `settled` once the comparison is made.
   */
  private batchT0 = 0;
  private stateRowsThisBatch = 0;
  private readonly cost = { inline: newCost(), workers: newCost() };
  private settled = false;

  constructor(readonly spec: PartitionSpec) {
    this.local = makePartition(spec);
    this.narrow = projectSpec(spec);
    this.route = spec.kind === 'aggregate' ? 'map' : 'direct';
  }

  /** Only the columns the operator reads (zero copy). */
  private shipped(batch: RecordBatch): RecordBatch {
    const cols = this.narrow.columns;
    if (cols === null) return batch;
    return batch.selectAt(cols) as unknown as RecordBatch;
  }

  private enqueue(p: number, task: () => Promise<unknown>): void {
    this.chains[p] = (this.chains[p] ?? Promise.resolve()).then(async () => {
      if (this.failure === null) await task();
    }).catch((e: unknown) => {
      this.failure ??= e;
    });
  }

  private async drain(limit: number): Promise<void> {
    while (this.inflight.length > limit) await this.inflight.shift();
    if (this.failure !== null) throw this.failure;
  }

  /**
   * Whether moving to the workers pays: with `minRowNs` > 0 the operator first runs here until its batches (the
   * first aside) hold `SETTLE_THRESHOLDS` × `thresholdRows` rows, then moves only if its last batches cost at least
   * `minRowNs` per row each, whole (absorb, finish and state commit: all of it runs on the workers after the move).
   */
  private worthWorkers(w: WorkerContext): boolean {
    if (w.minRowNs <= 0) return true;
    // Enough warm inline batches to compare the workers against later (see `settle`).
    if (this.cost.inline.rows < w.thresholdRows * SETTLE_THRESHOLDS) return false;
    const last = cheapest(this.cost.inline.recent);
    return last !== null && last.ns >= w.minRowNs;
  }

  /** 1 while inline, else the number of worker partitions. */
  get partitions(): number {
    return this.pool ? this.pool.size : 1;
  }

  /** Key columns of raw input rows that decide their partition. */
  private inputKeys(batch: RecordBatch, info: BatchInfo, s: PartitionSpec = this.spec): Vec[] {
    if (s.kind === 'dedup') return s.dedup.keyOrdinals.map((o) => columnVec(batch, s.inputSchema, o));
    return s.analysis.keys.map((k) => evaluate(k.bound, batch, s.inputSchema, { batchTimestampMs: info.batchTimestampMs }));
  }

  private async toWorkers(rows: RecordBatch | null, forceSnapshot: boolean): Promise<void> {
    const pool = this.workers!.pool();
    this.pool = pool;
    const op = this.local!;
    await Promise.all(Array.from({ length: pool.size }, (_, p) => pool.run(p, { type: 'init', opKey: this.opKey, spec: this.narrow.spec })));
    await Promise.all(
      Array.from({ length: pool.size }, async (_, p) => {
        const mine = keepPartition(op, rows, p, pool.size);
        const wire = mine ? toWire(mine, op.stateSchema) : null;
        if (forceSnapshot || wire) await pool.run(p, { type: 'load', opKey: this.opKey, rows: wire }, wireTransferables([wire]));
      }),
    );
    this.local = null;
  }

  async start(info: BatchInfo, workers: WorkerContext): Promise<void> {
    this.workers = workers;
    this.rowsThisBatch = 0;
    this.batchT0 = performance.now();
    if (this.pool) {
      const pool = this.pool;
      await Promise.all(Array.from({ length: pool.size }, (_, p) => pool.run(p, { type: 'start', opKey: this.opKey, info })));
    } else this.local!.startBatch(info);
  }

  async absorb(batch: RecordBatch, seqBase: number, info: BatchInfo): Promise<void> {
    const n = batch.numRows;
    if (n === 0) return;
    const w = this.workers!;
    if (this.pool && this.rowsThisBatch === 0 && !this.settled && w.minRowNs > 0 && this.settle(w)) {
      // The workers cost more per row than this thread did: the state comes back, for the rest of the run.
      await this.toLocal();
      this.local!.startBatch(info);
    }
    if (!this.pool && !this.settled && w.parallelism > 1 && this.rowsThisBatch === 0 && n >= w.thresholdRows && this.worthWorkers(w)) {
      // First big input of a batch: the state moves to the workers before anything of this batch is absorbed.
      const rows = this.local!.snapshot();
      await this.toWorkers(rows, true);
      await this.start(info, w);
    }
    this.rowsThisBatch += n;
    if (!this.pool) {
      this.local!.absorb(batch, seqBase, info);
      return;
    }
    const pool = this.pool;
    const P = pool.size;
    const spec = this.narrow.spec;
    const shipped = this.shipped(batch);
    const route = this.spec.kind === 'aggregate' ? (placementHooks.route ?? this.route) : this.route;
    if (n >= w.thresholdRows && route === 'map') {
      // Map: one slice per worker, pre-aggregated there and split by owner.
      const step = Math.ceil(n / P);
      const maps = Promise.all(
        Array.from({ length: P }, (_, c) => {
          const a = c * step;
          const b = Math.min(n, a + step);
          if (a >= b) return Promise.resolve(null);
          const wire = toWire(shipped, spec.inputSchema, a, b);
          return pool.runAny({ type: 'map', opKey: this.opKey, batch: wire, seqBase: seqBase + a, info, partitions: P }, wireTransferables([wire]));
        }),
      );
      const done = maps.then((results) => {
        // Partial rows out per input row in: near 1 (e.g. sliding windows over many keys), pre-aggregating only
        // adds a second hash probe per row.
        let partialRows = 0;
        for (const r of results) if (r?.type === 'partials') for (const b of r.partials) if (b) partialRows += b.length;
        const r = partialRows / n;
        this.ratio = this.ratio === 0 ? r : 0.7 * this.ratio + 0.3 * r;
        if (this.ratio > MAP_MAX_RATIO) this.route = 'direct';
      });
      // Merge: each owner takes the slices' partials in slice order (dedup keeps the earliest row that way).
      for (let p = 0; p < P; p++) {
        this.enqueue(p, async () => {
          for (const r of await maps) {
            if (r === null || r.type !== 'partials') continue;
            const partial = r.partials[p] ?? null;
            const lateKeys = r.lateKeys[p] ?? null;
            if (partial === null && lateKeys === null && (p !== 0 || r.lateRows === 0)) continue;
            await pool.run(
              p,
              { type: 'merge', opKey: this.opKey, partial, lateKeys, lateRows: p === 0 ? r.lateRows : 0, info, panes: r.panes },
              wireTransferables([partial, lateKeys]),
            );
          }
        });
      }
      this.inflight.push(Promise.all([done, ...this.chains]).then(() => {}, () => {}));
      await this.drain(4);
      return;
    }
    // Split by key hash here; rows straight to their owners.
    const sels = rowsByPartition(partitionIds(this.inputKeys(shipped, info, spec), null, n, P), P);
    sels.forEach((sel, p) => {
      if (sel.length === 0) return;
      // The gather renumbers rows; first/last compare (seqBase + row), and sequences stay increasing per partition.
      const wire = gatherToWire(shipped, spec.inputSchema, sel);
      this.enqueue(p, () => pool.run(p, { type: 'absorb', opKey: this.opKey, batch: wire, seqBase: seqBase + sel[0]!, info }, wireTransferables([wire])));
    });
    this.inflight.push(Promise.all(this.chains).then(() => {}));
    await this.drain(4);
  }

  /**
   * Keeps this batch's wall time per row (first input to state commit) and state size for the placement it ran in,
   * its first batch there aside (cold code; the move). Only batches of at least `thresholdRows` rows count.
   */
  private timeBatch(): void {
    const w = this.workers;
    if (this.settled || w === null || w.minRowNs <= 0 || this.rowsThisBatch < Math.max(1, w.thresholdRows)) return;
    const c = this.pool ? this.cost.workers : this.cost.inline;
    if (c.batches++ === 0) return;
    c.recent.push({ ns: ((performance.now() - this.batchT0) * 1e6) / this.rowsThisBatch, stateRows: this.stateRowsThisBatch });
    if (c.recent.length > RECENT_BATCHES) c.recent.shift();
    c.rows += this.rowsThisBatch;
  }

  /**
   * Whether state on the workers should come back to this thread, once enough worker batches are timed: when they
   * cost `MOVE_BACK_RATIO` times as much per row as the last inline batches did, or more (the hand-off outweighs the
   * second core). Each side is judged by the cheaper of its last `RECENT_BATCHES` batches (one slow batch is noise).
   * The two must be timed over states of about the same size (within `STATE_RATIO`): while a state grows (a stream's
   * first windows, new keys) its batches cost more per row, and an inline batch over the smaller state earlier would
   * make the workers look worse than they are; such a comparison keeps the workers. Either way the placement is
   * settled for the run.
   */
  private settle(w: WorkerContext): boolean {
    const { inline, workers } = this.cost;
    if (workers.rows === 0 || workers.rows < w.thresholdRows * SETTLE_THRESHOLDS) return false;
    this.settled = true;
    const a = cheapest(inline.recent);
    const b = cheapest(workers.recent);
    if (a === null || b === null) return false;
    if (placementHooks.moveBack) return placementHooks.moveBack(a.ns, b.ns);
    const sizes = [Math.max(1, a.stateRows), Math.max(1, b.stateRows)];
    const comparable = Math.max(...sizes) <= STATE_RATIO * Math.min(...sizes);
    const moveBack = comparable && b.ns >= a.ns * MOVE_BACK_RATIO;
    placementHooks.settled?.({ inlineNsPerRow: a.ns, workerNsPerRow: b.ns, comparable, moveBack });
    return moveBack;
  }

  /** Brings every partition's state back to this thread (the next commit writes a full snapshot in partition 0). */
  private async toLocal(): Promise<void> {
    const pool = this.pool!;
    const op = makePartition(this.spec);
    const results = await Promise.all(Array.from({ length: pool.size }, (_, p) => pool.run(p, { type: 'snapshot', opKey: this.opKey })));
    op.restore(concatStateRows(op, results.map((r) => (r.type === 'rows' && r.rows ? fromWire(r.rows) : null))));
    await Promise.all(Array.from({ length: pool.size }, (_, p) => pool.run(p, { type: 'drop', opKey: this.opKey })));
    this.local = op;
    this.pool = null;
    this.localForceSnapshot = true;
  }

  async finish(info: BatchInfo): Promise<{ outputs: RecordBatch[]; metrics: PartitionMetrics; partitions: number }> {
    if (!this.pool) {
      const { output, metrics } = this.local!.finish(info);
      this.stateRowsThisBatch = metrics.numRowsTotal;
      return { outputs: output ? [output] : [], metrics, partitions: 1 };
    }
    await this.drain(0);
    await Promise.all(this.chains);
    this.inflight = [];
    if (this.failure !== null) {
      const e = this.failure;
      this.failure = null;
      throw e;
    }
    const pool = this.pool;
    const results = await Promise.all(Array.from({ length: pool.size }, (_, p) => pool.run(p, { type: 'finish', opKey: this.opKey, info })));
    const outputs: RecordBatch[] = [];
    const metrics: PartitionMetrics = { numRowsTotal: 0, numRowsUpdated: 0, numRowsRemoved: 0, numRowsDroppedByWatermark: 0, memoryUsedBytes: 0 };
    for (const r of results) {
      if (r.type !== 'finished') continue;
      if (r.output) outputs.push(fromWire(r.output));
      for (const k of Object.keys(metrics) as (keyof PartitionMetrics)[]) metrics[k] += r.metrics[k];
    }
    this.stateRowsThisBatch = metrics.numRowsTotal;
    return { outputs, metrics, partitions: pool.size };
  }

  async commit(dir: (p: number) => string, version: number, snapshot: boolean): Promise<void> {
    if (!this.pool) {
      await commitState(this.local!, dir(0), version, snapshot || this.localForceSnapshot);
      this.localForceSnapshot = false;
    } else {
      const pool = this.pool;
      await Promise.all(Array.from({ length: pool.size }, (_, p) => pool.run(p, { type: 'commit', opKey: this.opKey, dir: dir(p), version, snapshot })));
    }
    this.timeBatch();
  }

  /**
   * Loads state version `version`, written by `written` partitions. Stays inline when it was written inline, else
   * (with parallelism > 1) loads straight into the workers.
   */
  async restore(dir: (p: number) => string, version: number, written: number, workers: WorkerContext): Promise<void> {
    this.workers = workers;
    const dirs = Array.from({ length: Math.max(1, written) }, (_, p) => dir(p));
    if (written <= 1 || workers.parallelism <= 1) {
      const op = this.local ?? makePartition(this.spec);
      this.local = op;
      op.restore(await loadState(op, dirs, version));
      this.localForceSnapshot = written > 1;
      return;
    }
    const pool = workers.pool();
    this.pool = pool;
    this.local = null;
    const P = pool.size;
    await Promise.all(Array.from({ length: P }, (_, p) => pool.run(p, { type: 'init', opKey: this.opKey, spec: this.narrow.spec })));
    await Promise.all(
      Array.from({ length: P }, (_, p) =>
        pool.run(p, {
          type: 'restore',
          opKey: this.opKey,
          dirs: written === P ? [dir(p)] : dirs,
          version,
          partition: p,
          partitions: P,
        }),
      ),
    );
  }

  async purge(dir: (p: number) => string, minVersion: number): Promise<void> {
    if (!this.pool) {
      const op = this.local!;
      await new StateStore(dir(0), op.stateSchema, op.stateKeyCount).purge(minVersion);
      return;
    }
    const pool = this.pool;
    await Promise.all(Array.from({ length: pool.size }, (_, p) => pool.run(p, { type: 'purge', opKey: this.opKey, dir: dir(p), minVersion })));
  }

  /** The inline partition (tests and explain), or null when the state lives in workers. */
  get inline(): PartitionOperator | null {
    return this.local;
  }
}
