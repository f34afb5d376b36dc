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
import { initialPlacement, observeRoute, recordBatch, settle, settledPlacement, worthWorkers, type PlacementState, type RouteState } from './placement-policy.js';

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

export { MOVE_BACK_RATIO } from './placement-policy.js';

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
  private route: RouteState;
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
  private placement: PlacementState = initialPlacement();
  private get settled(): boolean {
    return this.placement.settled;
  }

  constructor(readonly spec: PartitionSpec) {
    this.local = makePartition(spec);
    this.narrow = projectSpec(spec);
    this.route = { route: spec.kind === 'aggregate' ? 'map' : 'direct', ratio: 0 };
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

  /** Whether moving to the workers pays (see `worthWorkers` in `placement-policy.ts`). */
  private worthWorkers(w: WorkerContext): boolean {
    return worthWorkers(this.placement, w);
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
    const route = this.spec.kind === 'aggregate' ? (placementHooks.route ?? this.route.route) : this.route.route;
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
        this.route = observeRoute(this.route, partialRows, n);
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
    if (w === null) return;
    const m = { side: this.pool ? 'workers' : 'inline', rows: this.rowsThisBatch, elapsedMs: performance.now() - this.batchT0, stateRows: this.stateRowsThisBatch } as const;
    this.placement = recordBatch(this.placement, m, w);
  }

  /**
   * Whether state on the workers should come back to this thread (see `settle` in `placement-policy.ts`); any answer
   * but `wait` settles the placement for the run.
   */
  private settle(w: WorkerContext): boolean {
    const d = settle(this.placement, w);
    if (d.kind === 'wait') return false;
    this.placement = settledPlacement(this.placement);
    if (d.kind === 'unmeasured') return false;
    if (placementHooks.moveBack) return placementHooks.moveBack(d.inlineNsPerRow, d.workerNsPerRow);
    placementHooks.settled?.({ inlineNsPerRow: d.inlineNsPerRow, workerNsPerRow: d.workerNsPerRow, comparable: d.comparable, moveBack: d.moveBack });
    return d.moveBack;
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
