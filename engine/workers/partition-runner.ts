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
 * Any registered operator kind runs here (`operatorKind(spec)`: build, input keys, projection); one of two inputs
 * gives `input` to `absorb`, and only input 0 of an operator with a map side is ever pre-aggregated. A kind that
 * cannot be built on a worker thread (`movable` false, or `create` there throwing `ProcessorNotLoadableError`) stays
 * on the calling thread for the run, and `placementNote` says why.
 *
 * Checkpoints: each partition writes its tables under `state/<op>/<partition>/` (see `commitTables`); `commits/N` records how many partitions wrote the
 * state, and a restart with another `parallelism` re-partitions it (each new partition reads every old folder and
 * keeps its keys), then writes a full snapshot. Folders of partitions no longer written (after a move back, or a
 * restart with a lower `parallelism`) are removed once no retained commit (`minBatchesToRetain`) names them and the
 * state's layout log (`state/<op>/_metadata/partitions/`) says no retained version was written by more partitions.
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import {
  operatorKind,
  type BatchInfo,
  type KeyedOperator,
  type KeyedOperatorSpec,
  type OperatorKind,
  type PartitionMetrics,
  type StateTable,
} from '../physical/partitions/keyed-operator.js';
import { partitionIds, rowsByPartition } from '../kernels/hash-kernel.js';
import { checkTableNames, commitTables, concatTables, keepPartitionTables, loadTables, purgeTables, snapshotTables } from '../state/keyed-state-io.js';
import { checkRecordedTables } from '../state/operator-metadata.js';
import { dirname } from 'node:path';
import { fromWire, gatherToWire, tablesFromWire, tablesToWire, toWire, wireTransferables } from './wire.js';
import { WorkerError, type WorkerPool } from './pool.js';
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

/** The class name a kind's `create` throws on a worker thread when it cannot load what it runs there. */
const NOT_LOADABLE = 'ProcessorNotLoadableError';

/** The numbers of one batch over every partition: counts summed, custom counters summed, the earliest due time. */
function mergeMetrics(list: readonly PartitionMetrics[]): { metrics: PartitionMetrics; custom: Record<string, number>; nextDueMs: number | null } {
  const metrics: PartitionMetrics = { numRowsTotal: 0, numRowsUpdated: 0, numRowsRemoved: 0, numRowsDroppedByWatermark: 0, memoryUsedBytes: 0 };
  const custom: Record<string, number> = {};
  let nextDueMs: number | null = null;
  for (const m of list) {
    metrics.numRowsTotal += m.numRowsTotal;
    metrics.numRowsUpdated += m.numRowsUpdated;
    metrics.numRowsRemoved += m.numRowsRemoved;
    metrics.numRowsDroppedByWatermark += m.numRowsDroppedByWatermark;
    metrics.memoryUsedBytes += m.memoryUsedBytes;
    if (m.custom) for (const [k, v] of Object.entries(m.custom)) custom[k] = (custom[k] ?? 0) + v;
    if (m.nextDueMs != null && (nextDueMs === null || m.nextDueMs < nextDueMs)) nextDueMs = m.nextDueMs;
  }
  return { metrics, custom, nextDueMs };
}

/** What `PartitionRunner.finish` gives: the outputs, the summed numbers, custom counters and the earliest due time. */
export interface RunnerFinish {
  readonly outputs: RecordBatch[];
  /** The five standard counts, summed over partitions (`custom` and `nextDueMs` apart). */
  readonly metrics: PartitionMetrics;
  readonly partitions: number;
  /** Every partition's `custom` counters, summed by name (empty when none has any). */
  readonly custom: Record<string, number>;
  /** The earliest `nextDueMs` of any partition, or null. */
  readonly nextDueMs: number | null;
}

/**
 * The partitions of one operator.
 *
 * @example
 * const runner = new PartitionRunner(spec);
 * await runner.start(info, workers); await runner.absorb(batch, seqBase, info); const { outputs } = await runner.finish(info);
 */
export class PartitionRunner {
  private local: KeyedOperator | null = null;
  private readonly kind: OperatorKind;
  /** The operator's tables, and whether it pre-aggregates big inputs first: known once a partition was built. */
  private shape: { readonly tables: readonly StateTable[]; readonly mapFirst: boolean } | null = null;
  /** The operator never moves to worker threads in this run (see `placementNote`). */
  private pinned = false;
  /** Why the operator stays on the calling thread when the placement policy would move it (said once), or null. */
  placementNote: string | null = null;
  private pool: WorkerPool | null = null;
  private workers: WorkerContext | null = null;
  private readonly opKey = `op${opCounter++}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  private rowsThisBatch = 0;
  private localForceSnapshot = false;
  /** The spec over just the columns the operator reads: what worker threads get. */
  private readonly narrow: { spec: KeyedOperatorSpec; columns: (number[] | null)[] };
  /**
   * How big inputs reach the owners: `map` (pre-aggregate slices, send partials) pays off when a slice has far fewer
   * groups than rows; `direct` (split rows by key here) when it does not. Chosen by the partial/input ratio observed.
   */
  private route: RouteState = { route: 'direct', ratio: 0 };
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

  constructor(readonly spec: KeyedOperatorSpec) {
    this.kind = operatorKind(spec);
    this.narrow = this.kind.project?.(spec) ?? { spec, columns: spec.inputSchemas.map(() => null) };
    if (this.kind.movable?.(spec) === false) {
      this.pinned = true;
    }
  }

  /** Builds a partition; the first one built tells the operator's tables and map side. */
  private async create(): Promise<KeyedOperator> {
    const op = await this.kind.create(this.spec);
    if (this.shape === null) {
      checkTableNames(op.tables);
      const mapFirst = op.mapSide !== undefined && (op.mapSide.firstRoute ?? 'map') === 'map';
      this.shape = { tables: op.tables, mapFirst };
      this.route = { route: mapFirst ? 'map' : 'direct', ratio: 0 };
    }
    return op;
  }

  /** The operator's state tables (known after `start` or `restore`). */
  get tables(): readonly StateTable[] {
    if (this.shape === null) throw new Error(`operator '${this.spec.kind}' has no partition yet: start or restore it first`);
    return this.shape.tables;
  }

  /** Only the columns the operator reads of input `input` (zero copy). */
  private shipped(batch: RecordBatch, input: number): RecordBatch {
    const cols = this.narrow.columns[input] ?? null;
    if (cols === null) return batch;
    return batch.selectAt(cols) as unknown as RecordBatch;
  }

  /**
   * Builds the partitions on the workers; false (and the operator pinned to this thread, with `placementNote` saying
   * why) when the kind's `create` could not load what it runs there (`ProcessorNotLoadableError`).
   */
  private async initWorkers(pool: WorkerPool): Promise<boolean> {
    const inits = await Promise.allSettled(Array.from({ length: pool.size }, (_, p) => pool.run(p, { type: 'init', opKey: this.opKey, spec: this.narrow.spec })));
    const failed = inits.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed === undefined) return true;
    const e: unknown = failed.reason;
    if (!(e instanceof WorkerError && e.workerErrorName === NOT_LOADABLE) && !(e instanceof Error && e.name === NOT_LOADABLE)) throw e;
    await Promise.all(Array.from({ length: pool.size }, (_, p) => pool.run(p, { type: 'drop', opKey: this.opKey }).catch(() => {})));
    this.pinned = true;
    const cause = e instanceof WorkerError && e.cause instanceof Error ? e.cause : (e as Error);
    this.placementNote = cause.message;
    return false;
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

  /** Moves the state to the workers; false when the operator cannot run there (it stays here, see `initWorkers`). */
  private async toWorkers(rows: ReadonlyMap<string, RecordBatch | null>, forceSnapshot: boolean): Promise<boolean> {
    const pool = this.workers!.pool();
    if (!(await this.initWorkers(pool))) return false;
    this.pool = pool;
    const tables = this.tables;
    await Promise.all(
      Array.from({ length: pool.size }, async (_, p) => {
        const wire = tablesToWire(tables, keepPartitionTables(tables, rows, p, pool.size));
        const some = wire.some((t) => t.rows !== null);
        if (forceSnapshot || some) await pool.run(p, { type: 'load', opKey: this.opKey, tables: wire }, wireTransferables(wire.map((t) => t.rows)));
      }),
    );
    this.local = null;
    return true;
  }

  async start(info: BatchInfo, workers: WorkerContext): Promise<void> {
    this.workers = workers;
    this.rowsThisBatch = 0;
    this.batchT0 = performance.now();
    if (this.pool) {
      const pool = this.pool;
      await Promise.all(Array.from({ length: pool.size }, (_, p) => pool.run(p, { type: 'start', opKey: this.opKey, info })));
    } else {
      this.local ??= await this.create();
      this.local.startBatch?.(info);
    }
  }

  /** Folds rows of input `input` (0, or 1 for the right side of a two-input operator) into the partitions. */
  async absorb(batch: RecordBatch, seqBase: number, info: BatchInfo, input = 0): Promise<void> {
    const n = batch.numRows;
    if (n === 0) return;
    const w = this.workers!;
    if (this.pool && this.rowsThisBatch === 0 && !this.settled && w.minRowNs > 0 && this.settle(w)) {
      // The workers cost more per row than this thread did: the state comes back, for the rest of the run.
      await this.toLocal();
      this.local!.startBatch?.(info);
    }
    if (!this.pool && !this.settled && w.parallelism > 1 && this.rowsThisBatch === 0 && n >= w.thresholdRows && this.pinned && this.placementNote === null && this.worthWorkers(w)) {
      // The placement policy would move it, but this operator cannot run on a worker thread: say so (once).
      this.placementNote = this.kind.pinnedBecause?.(this.spec) ?? `operator kind '${this.spec.kind}' cannot be built on a worker thread`;
    }
    if (!this.pool && !this.pinned && !this.settled && w.parallelism > 1 && this.rowsThisBatch === 0 && n >= w.thresholdRows && this.worthWorkers(w)) {
      // First big input of a batch: the state moves to the workers before anything of this batch is absorbed.
      if (await this.toWorkers(snapshotTables(this.local!), true)) await this.start(info, w);
    }
    this.rowsThisBatch += n;
    if (!this.pool) {
      this.local!.absorb(batch, seqBase, info, input);
      return;
    }
    const pool = this.pool;
    const P = pool.size;
    const spec = this.narrow.spec;
    const shipped = this.shipped(batch, input);
    const schema = spec.inputSchemas[input]!;
    const route = this.shape!.mapFirst ? (placementHooks.route ?? this.route.route) : this.route.route;
    if (input === 0 && n >= w.thresholdRows && route === 'map') {
      // Map: one slice per worker, pre-aggregated there and split by owner.
      const step = Math.ceil(n / P);
      const maps = Promise.all(
        Array.from({ length: P }, (_, c) => {
          const a = c * step;
          const b = Math.min(n, a + step);
          if (a >= b) return Promise.resolve(null);
          const wire = toWire(shipped, schema, a, b);
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
    const sels = rowsByPartition(partitionIds(this.kind.inputKeys(spec, shipped, input, info), null, n, P), P);
    sels.forEach((sel, p) => {
      if (sel.length === 0) return;
      // The gather renumbers rows; first/last compare (seqBase + row), and sequences stay increasing per partition.
      const wire = gatherToWire(shipped, schema, sel);
      this.enqueue(p, () => pool.run(p, { type: 'absorb', opKey: this.opKey, batch: wire, seqBase: seqBase + sel[0]!, info, input }, wireTransferables([wire])));
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
    const op = await this.create();
    const results = await Promise.all(Array.from({ length: pool.size }, (_, p) => pool.run(p, { type: 'snapshot', opKey: this.opKey })));
    op.restore(concatTables(op.tables, results.map((r) => (r.type === 'tables' ? tablesFromWire(r.tables) : new Map()))));
    await Promise.all(Array.from({ length: pool.size }, (_, p) => pool.run(p, { type: 'drop', opKey: this.opKey })));
    this.local = op;
    this.pool = null;
    this.localForceSnapshot = true;
  }

  async finish(info: BatchInfo): Promise<RunnerFinish> {
    if (!this.pool) {
      const { output, metrics } = this.local!.finish(info);
      this.stateRowsThisBatch = metrics.numRowsTotal;
      return { outputs: output ? [output] : [], ...mergeMetrics([metrics]), partitions: 1 };
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
    const each: PartitionMetrics[] = [];
    for (const r of results) {
      if (r.type !== 'finished') continue;
      if (r.output) outputs.push(fromWire(r.output));
      each.push(r.metrics);
    }
    const merged = mergeMetrics(each);
    this.stateRowsThisBatch = merged.metrics.numRowsTotal;
    return { outputs, ...merged, partitions: pool.size };
  }

  async commit(dir: (p: number) => string, version: number, snapshot: boolean): Promise<void> {
    if (!this.pool) {
      const op = this.local!;
      await commitTables(op, dir(0), version, snapshot || this.localForceSnapshot);
      op.onCommit?.(version);
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
    const inline = async () => {
      const op = this.local ?? (await this.create());
      this.local = op;
      const fresh = await checkRecordedTables(dirname(dir(0)), op.tables, dir(0));
      op.restore(await loadTables(op, dirs, version, new Set(fresh)));
      // New tables have no earlier versions: a full snapshot makes this version loadable on its own.
      this.localForceSnapshot = written > 1 || fresh.length > 0;
    };
    if (written <= 1 || workers.parallelism <= 1 || this.pinned) return inline();
    // The tables (for the commit's metadata) are known from a partition built here.
    if (this.shape === null) await this.create();
    const fresh = await checkRecordedTables(dirname(dir(0)), this.tables, dir(0));
    const pool = workers.pool();
    if (!(await this.initWorkers(pool))) return inline();
    this.pool = pool;
    this.local = null;
    const P = pool.size;
    await Promise.all(
      Array.from({ length: P }, (_, p) =>
        pool.run(p, {
          type: 'restore',
          opKey: this.opKey,
          dirs: written === P ? [dir(p)] : dirs,
          version,
          partition: p,
          partitions: P,
          fresh,
        }),
      ),
    );
  }

  async purge(dir: (p: number) => string, minVersion: number): Promise<void> {
    if (!this.pool) {
      await purgeTables(this.local!.tables, dir(0), minVersion);
      return;
    }
    const pool = this.pool;
    await Promise.all(Array.from({ length: pool.size }, (_, p) => pool.run(p, { type: 'purge', opKey: this.opKey, dir: dir(p), minVersion })));
  }

  /** The inline partition (tests and explain), or null when the state lives in workers. */
  get inline(): KeyedOperator | null {
    return this.local;
  }
}
