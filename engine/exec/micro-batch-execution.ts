/**
 * The trigger loop of a streaming query (Spark's MicroBatchExecution). Per batch, in this order:
 *
 * 1. ask each source for its latest offset (bounded by read limits);
 * 2. write `offsets/N` (write-ahead: offsets, the batch watermark and timestamp, conf);
 * 3. read `(start, end]` of every source and run the physical plan;
 * 4. hand the output to `sink.addBatch(N)`;
 * 5. move the watermark; commit state version N+1 of every stateful operator;
 * 6. write `commits/N` (the watermark of batch N+1); tell sources their offsets are done; purge old entries.
 *
 * A crash anywhere before step 6 re-runs batch N on restart with the same offsets, watermark and timestamp.
 *
 * @module
 */
import { promises as fs, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Table, type RecordBatch } from 'apache-arrow';
import type { SessionConf } from '../api/conf.js';
import { CheckpointPaths } from '../checkpoint/checkpoint-paths.js';
import { CorruptCheckpointError, ConcurrentUpdateError, listIfExists, readIfExists, writeOnce } from '../checkpoint/atomic-file.js';
import { fileStep, fileStepSync } from '../io/file-write.js';
import { CommitLog, type CommitMetadata } from '../checkpoint/commit-log.js';
import { TruncatedLogEntryError } from '../checkpoint/metadata-log.js';
import { PartitionLayoutLog } from '../checkpoint/partition-layout-log.js';
import { OffsetLog, type OffsetSeq } from '../checkpoint/offset-log.js';
import { decideRestart } from '../checkpoint/restart-decision.js';
import type { OutputMode, StreamingSink } from '../io/sink.js';
import type { Offset, ReadLimit, StreamSource } from '../io/source.js';
import { streamingLeaves, type LogicalPlan } from '../logical/plan.js';
import type { ExecContext, ExecNode, StatefulOperator, StateOperatorMetrics } from '../physical/exec-node.js';
import { planPhysical, watermarkOperators } from '../planner/planner.js';
import { emptyBatch } from '../types/values.js';
import type { Schema } from '../types/data-type.js';
import type { Clock } from './clock.js';
import type { SourceProgress, StreamingQueryProgress, StreamingQueryStatus } from './progress.js';
import { WatermarkTracker } from './watermark-tracker.js';
import { DeadLetters } from './dead-letters.js';
import { WorkerPool } from '../workers/pool.js';
import type { WorkerContext } from '../workers/partition-runner.js';

/** When batches run. */
export type Trigger =
  | { readonly kind: 'processingTime'; readonly intervalMs: number }
  | { readonly kind: 'once' }
  | { readonly kind: 'availableNow' };

/** Another query holds the checkpoint. */
export class CheckpointInUseError extends Error {
  override readonly name = 'CheckpointInUseError';
}

/** The checkpoint belongs to a query with other sources or stateful operators. */
export class IncompatibleCheckpointError extends Error {
  override readonly name = 'IncompatibleCheckpointError';
}

/** Everything a run needs. */
export interface ExecutionOptions {
  readonly plan: LogicalPlan;
  readonly sink: StreamingSink;
  readonly outputMode: OutputMode;
  readonly trigger: Trigger;
  readonly checkpointLocation: string;
  /** Delete the checkpoint when the query stops (temporary checkpoints of memory/console sinks). */
  readonly deleteCheckpointOnStop: boolean;
  readonly queryName: string | null;
  readonly conf: SessionConf;
  readonly clock: Clock;
  readonly outputSchema: Schema;
  /** Where rows that could not be parsed go (`<path>/batch-<N>.jsonl`); null: counted only. */
  readonly deadLetterPath: string | null;
}

/** Events the execution reports to its query. */
export interface ExecutionEvents {
  onStarted(id: string, runId: string): void;
  onProgress(p: StreamingQueryProgress): void;
  /**
   * A trigger found nothing to run. `progress` builds the idle trigger's progress entry (Spark's
   * finishNoExecutionTrigger), for the query to record when its idle-progress interval allows.
   */
  onIdle(progress: () => StreamingQueryProgress): void;
}

const activeCheckpoints = new Set<string>();

function sameOffset(a: Offset | null | undefined, b: Offset | null | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

async function* counted(it: AsyncIterable<RecordBatch>, counter: { rows: number }): AsyncIterable<RecordBatch> {
  for await (const b of it) {
    counter.rows += b.numRows;
    yield b;
  }
}

/** Test hooks for crash tests: called at named points of a batch; a hook may kill the process. */
export const executionHooks: { at: ((point: 'afterOffsets' | 'afterSink' | 'afterState' | 'afterCommit', batchId: number) => void | Promise<void>) | null } = {
  at: null,
};

/**
 * One run of a streaming query.
 *
 * @example
 * const exec = new MicroBatchExecution(options, events);
 * await exec.run(abortSignal);
 */
export class MicroBatchExecution {
  readonly runId = randomUUID();
  id = '';
  readonly paths: CheckpointPaths;
  private readonly offsetLog: OffsetLog;
  private readonly commitLog: CommitLog;
  private root!: ExecNode;
  private stateful: StatefulOperator[] = [];
  /**
   * Per stateful operator: the newest batch whose commit recorded more state partitions than the operator writes
   * now (`partitions`; -1: none retained), once known. Folders of those extra partitions go when that commit is
   * purged.
   */
  private widerUntil = new Map<number, { partitions: number; batch: number }>();
  /** Per stateful operator: how many partitions wrote each state version (`state/<op>/_metadata/partitions/`). */
  private readonly layouts = new Map<number, PartitionLayoutLog>();
  private sources: { key: object; source: StreamSource; description: string }[] = [];
  private tracker!: WatermarkTracker;
  /** Offsets of the last batch whose commit is written. */
  private committed: (Offset | null)[] = [];
  private batchId = 0;
  /** The watermark the previous batch ran with (late-row filtering of this batch). */
  private prevBatchWm = 0;
  private lastBatchRan = false;
  /** The state operators' numbers of this run's last executed batch (null before one). */
  private lastBatchMetrics: StateOperatorMetrics[] | null = null;
  private lastProgressAt = 0;
  private iteration = 0;
  /** A source said data arrived since this iteration began (see `StreamSource.onNewData`). */
  private newData = false;
  /** Ends the current idle sleep early, while there is one. */
  private wake: (() => void) | null = null;
  private readonly unsubscribe: (() => void)[] = [];
  private idleIteration = -1;
  status: StreamingQueryStatus = { message: 'Initializing sources', isDataAvailable: false, isTriggerActive: false };
  private lockHeld = false;
  private readonly deadLetters: DeadLetters;
  private pool: WorkerPool | null = null;
  /** Parallelism for stateful operators; the pool starts on first use. */
  readonly workers: WorkerContext;

  constructor(
    private readonly o: ExecutionOptions,
    private readonly events: ExecutionEvents,
  ) {
    this.paths = new CheckpointPaths(o.checkpointLocation);
    this.offsetLog = new OffsetLog(this.paths.offsetsDir);
    this.commitLog = new CommitLog(this.paths.commitsDir);
    this.deadLetters = new DeadLetters(o.deadLetterPath);
    this.workers = {
      parallelism: o.conf.parallelism,
      thresholdRows: o.conf.parallelThresholdRows,
      minRowNs: o.conf.parallelMinRowNs,
      pool: () => (this.pool ??= new WorkerPool(o.conf.parallelism)),
    };
  }

  /** The event-time watermark the next batch runs with (null before the checkpoint is read). */
  get watermarkMs(): number | null {
    return this.tracker ? this.tracker.current : null;
  }

  /**
   * True when the loop is waiting, every source reports a latest offset equal to what is committed, and no no-data
   * batch is due; false when something may be pending (or a source cannot tell).
   */
  isIdleWithNothingPending(): boolean {
    if (this.idleIteration !== this.iteration || !this.tracker) return false;
    for (let i = 0; i < this.sources.length; i++) {
      const s = this.sources[i]!.source;
      if (!s.reportLatestOffset) return false;
      const latest = s.reportLatestOffset();
      if (!sameOffset(latest, this.committed[i] ?? null)) return false;
    }
    return !this.needsNoDataBatch();
  }

  /** The iteration counter and the last iteration that found nothing to do (for processAllAvailable). */
  get iterations(): { current: number; lastIdle: number } {
    return { current: this.iteration, lastIdle: this.idleIteration };
  }

  /** The physical plan of this run (after start). */
  explain(): string {
    return this.root ? this.root.toString() : planPhysical(this.o.plan, { parallelism: this.o.conf.parallelism }).toString();
  }

  /**
   * Locks the checkpoint and reads (or creates) the query id, synchronously, so `start()` fails at once when another
   * query holds the checkpoint and `query.id` is known immediately.
   */
  prepare(): void {
    const root = this.paths.root;
    if (activeCheckpoints.has(root)) {
      throw new CheckpointInUseError(
        `Another query in this process is running on checkpoint ${root}. Stop it first, or give this query its own checkpointLocation.`,
      );
    }
    fileStepSync('create folder', root, () => mkdirSync(root, { recursive: true }));
    const lock = this.paths.lock;
    let locked = false;
    for (let attempt = 0; attempt < 2 && !locked; attempt++) {
      try {
        fileStepSync('write', lock, () => writeFileSync(lock, JSON.stringify({ pid: process.pid, runId: this.runId }), { flag: 'wx' }));
        locked = true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        let holder: { pid?: number } = {};
        try {
          holder = JSON.parse(readFileSync(lock, 'utf8')) as { pid?: number };
        } catch {
          // An unreadable lock is stale.
        }
        if (typeof holder.pid === 'number' && holder.pid !== process.pid && isAlive(holder.pid)) {
          throw new CheckpointInUseError(
            `Checkpoint ${root} is in use by process ${holder.pid}. Stop that query first, or give this one its own checkpointLocation.`,
          );
        }
        try {
          unlinkSync(lock);
        } catch {
          // already gone
        }
      }
    }
    if (!locked) throw new CheckpointInUseError(`Could not lock checkpoint ${root}.`);
    activeCheckpoints.add(root);
    this.lockHeld = true;
    try {
      this.id = readOrCreateQueryId(this.paths);
    } catch (e) {
      this.releaseLockSync();
      throw e;
    }
  }

  private releaseLockSync(): void {
    if (!this.lockHeld) return;
    this.lockHeld = false;
    activeCheckpoints.delete(this.paths.root);
    try {
      unlinkSync(this.paths.lock);
    } catch {
      // already gone
    }
  }

  private async checkStateCompatibility(): Promise<void> {
    for (const op of this.stateful) {
      const file = this.paths.stateMetadata(op.operatorId);
      const sig = op.stateSignature();
      const existing = await readIfExists(file);
      if (existing === null) {
        const dir = this.paths.stateDir(op.operatorId, 0);
        await fileStep('create folder', dir, () => fs.mkdir(dir, { recursive: true }));
        await writeOnce(file, sig).catch((e) => {
          if (!(e instanceof ConcurrentUpdateError)) throw e;
        });
      } else if (existing.toString('utf8') !== sig) {
        throw new IncompatibleCheckpointError(
          `The checkpoint's state for operator ${op.operatorId} (${file}) was written by a different query: it holds ` +
            `${existing.toString('utf8')} but this query needs ${sig}. Use a new checkpointLocation for a changed query.`,
        );
      }
    }
  }

  private stateDirFn(op: StatefulOperator): (p: number) => string {
    return (p) => this.paths.stateDir(op.operatorId, p);
  }

  /** Runs until the trigger says stop, or `signal` aborts (graceful: after the current batch). */
  async run(signal: AbortSignal): Promise<void> {
    try {
      if (!this.lockHeld) this.prepare();
      this.root = planPhysical(this.o.plan, { parallelism: this.o.conf.parallelism });
      this.stateful = this.root.statefulOperators();
      this.stateful.forEach((op, i) => (op.operatorId = i));
      const leaves = streamingLeaves(this.o.plan);
      this.sources = leaves.map((l) => ({ key: l.sourceKey, source: l.make(), description: l.description }));
      for (let i = 0; i < this.sources.length; i++) {
        const dir = this.paths.sourceDir(i);
        await fileStep('create folder', dir, () => fs.mkdir(dir, { recursive: true }));
        await this.sources[i]!.source.open?.({ metadataDir: dir, index: i, queryId: this.id });
        const off = this.sources[i]!.source.onNewData?.(() => {
          this.newData = true;
          this.wake?.();
        });
        if (off) this.unsubscribe.push(off);
      }
      await this.checkStateCompatibility();
      this.events.onStarted(this.id, this.runId);
      await this.resume();
      if (this.o.trigger.kind === 'availableNow') {
        for (const s of this.sources) await s.source.prepareForAvailableNow?.();
      }
      await this.loop(signal);
    } finally {
      for (const off of this.unsubscribe.splice(0)) off();
      for (const s of this.sources) await s.source.stop?.().catch(() => {});
      await this.o.sink.close?.().catch(() => {});
      await this.pool?.destroy();
      this.releaseLockSync();
      if (this.o.deleteCheckpointOnStop) await fs.rm(this.paths.root, { recursive: true, force: true }).catch(() => {});
    }
  }

  /** Restores offsets, watermark and state from the checkpoint; re-runs an uncommitted batch. */
  private async resume(): Promise<void> {
    const latestOffsets = await this.offsetLog.getLatest().catch(async (e: unknown) => {
      // Deleting a torn offsets/N is safe only while batch N has no commit: then it is simply planned again.
      const ids = await this.offsetLog.list();
      const n = ids[ids.length - 1]!;
      const safe = (await this.commitLog.list()).every((c) => c < n);
      const from = n > 0 ? `from the committed offsets of batch ${n - 1}` : 'from the start of the sources';
      throw withDeleteAdvice(e, safe ? `Delete it: batch ${n} is then planned again ${from}.` : null);
    });
    const latestCommit = await this.commitLog.getLatest().catch(async (e: unknown) => {
      // Deleting a torn commits/N is safe while offsets/N is there: its sink output and state were written before
      // the commit was begun. The restart then re-runs the newest planned batch: N itself with the same offsets,
      // watermark and timestamp (the sinks recognise its output by batch id), or N+1 when offsets/N+1 is written too
      // (from where batch N ended, on the state version N wrote; the state's own layout log says how many
      // partitions wrote it).
      const ids = await this.commitLog.list();
      const n = ids[ids.length - 1]!;
      const planned = (await this.offsetLog.list()).some((o) => o === n + 1);
      // Re-running N+1 takes version N+1's partitions from the layout log: safe only when it accounts for every
      // partition folder holding that version (a checkpoint written before the log has none of its entries).
      const safe = (await this.offsetLog.get(n)) !== null && (!planned || (await this.layoutCovers(n + 1)));
      const advice = planned
        ? `Delete it: batch ${n + 1} then runs again with the offsets it was planned with, from where batch ${n} ended (batch ${n} wrote its output and state before this entry).`
        : `Delete it: batch ${n} then runs again with the same offsets, watermark and timestamp.`;
      throw withDeleteAdvice(e, safe ? advice : null);
    });
    const d = decideRestart(latestOffsets?.batchId ?? null, latestCommit?.batchId ?? null);
    let policy = this.o.conf.multipleWatermarkPolicy;
    if (d.kind === 'fresh') {
      this.committed = this.sources.map(() => null);
      this.tracker = new WatermarkTracker(policy, 0);
      this.batchId = 0;
      this.prevBatchWm = 0;
      return;
    }
    const last = latestOffsets!.value;
    this.checkSourceCount(last, latestOffsets!.batchId);
    // The checkpoint's policy wins over the session's (Spark's OffsetSeqMetadata).
    const saved = last.conf['multipleWatermarkPolicy'];
    if (saved === 'min' || saved === 'max') policy = saved;
    if (d.kind === 'next') {
      const n = latestOffsets!.batchId;
      this.committed = [...last.offsets];
      const wm = Math.max(last.batchWatermarkMs, latestCommit!.value.nextBatchWatermarkMs);
      this.tracker = new WatermarkTracker(policy, wm, this.savedOperatorWatermarks(latestCommit!.value));
      this.prevBatchWm = last.batchWatermarkMs;
      this.batchId = n + 1;
      await this.restoreState(n + 1, latestCommit!.value, last.batchWatermarkMs);
      // Batch N ran and committed: whether the watermark it produced calls for a no-data batch is decided from the
      // checkpoint (its eviction watermark against the new one), as the run that wrote it would have decided. Spark
      // forgets this across a restart, and an availableNow restart after the last data batch then never emits the
      // windows that batch's watermark closed.
      this.lastBatchRan = true;
      return;
    }
    // Re-run batch N exactly as it was planned.
    const n = d.batchId;
    const prev = n > 0 ? await this.offsetLog.get(n - 1) : null;
    if (n > 0 && prev === null) {
      throw new CorruptCheckpointError(`${this.offsetLog.path(n - 1)} is missing, so batch ${n} cannot be re-run from its start offsets.`);
    }
    this.committed = prev ? [...prev.offsets] : this.sources.map(() => null);
    this.prevBatchWm = prev ? prev.batchWatermarkMs : 0;
    const prevCommit = n > 0 ? await this.commitLog.get(n - 1) : null;
    this.tracker = new WatermarkTracker(policy, last.batchWatermarkMs, this.savedOperatorWatermarks(prevCommit));
    this.batchId = n;
    await this.restoreState(n, prevCommit, prev ? prev.batchWatermarkMs : null);
    await this.runBatch(n, last, this.committed, true);
  }

  /**
   * Loads state version `version` of every stateful operator, each from as many partitions as wrote it: as the
   * commit of the batch that wrote it records, or, when that commit is missing, as the state's own layout log does.
   */
  private async restoreState(version: number, commit: CommitMetadata | null, lastEvictionWatermarkMs: number | null): Promise<void> {
    for (const op of this.stateful) {
      const written = commit !== null ? (commit.statePartitions?.[String(op.operatorId)] ?? 1) : await this.layoutOf(op).partitionsOf(version);
      const unlogged = commit === null && version > 0 ? await this.unloggedPartition(op, version) : null;
      if (unlogged !== null) {
        // Restoring from the partitions the log names would silently leave out the keys of the others.
        const dir = this.paths.stateLayout(op.operatorId);
        throw new CorruptCheckpointError(
          `${this.commitLog.path(version - 1)} is missing, and it alone says how many partitions wrote state version ` +
            `${version} of operator ${op.operatorId}: the layout log (${dir}) counts ${written}, but ${unlogged} holds ` +
            `that version too (the checkpoint was written before the layout log). Restore ${this.commitLog.path(version - 1)}, ` +
            `or write the number of partitions that wrote version ${version} and a newline to ${join(dir, String(version))}, ` +
            `or start the query with a new checkpointLocation.`,
        );
      }
      await op.restore(this.stateDirFn(op), version, written, { workers: this.workers, lastEvictionWatermarkMs, outputMode: this.o.outputMode });
    }
  }

  /** Whether the layout log accounts for every partition holding state version `version` (see `unloggedPartition`). */
  private async layoutCovers(version: number): Promise<boolean> {
    for (const op of this.stateful) if ((await this.unloggedPartition(op, version)) !== null) return false;
    return true;
  }

  /**
   * While the layout log has no entry at or below state version `version` of `op` (it was not kept when the version
   * was written, or the state never left one partition): a partition folder holding a file of that version beyond
   * the first, or null. A checkpoint written before the layout log has such folders for every version its workers
   * wrote; one whose state never left one partition has none.
   */
  private async unloggedPartition(op: StatefulOperator, version: number): Promise<string | null> {
    if (await this.layoutOf(op).knows(version)) return null;
    const root = dirname(this.paths.stateDir(op.operatorId, 0));
    const written = await this.layoutOf(op).partitionsOf(version);
    const names = await listIfExists(root);
    for (const d of names) {
      if (!/^\d+$/.test(d) || Number(d) < written) continue;
      const files = await fs.readdir(join(root, d)).catch(() => [] as string[]);
      if (files.includes(`${version}.delta`) || files.includes(`${version}.snapshot`)) return join(root, d);
    }
    return null;
  }

  private layoutOf(op: StatefulOperator): PartitionLayoutLog {
    let log = this.layouts.get(op.operatorId);
    if (!log) this.layouts.set(op.operatorId, (log = new PartitionLayoutLog(this.paths.stateLayout(op.operatorId))));
    return log;
  }

  /**
   * The per-operator watermarks a commit kept, when they fit this plan's watermark operators (a checkpoint written
   * before they were kept, or by a plan with another number of them, has none to give: each then starts again).
   */
  private savedOperatorWatermarks(commit: CommitMetadata | null): readonly number[] {
    const saved = commit?.operatorWatermarksMs;
    return saved !== undefined && saved.length === watermarkOperators(this.root).length ? saved : [];
  }

  private checkSourceCount(seq: OffsetSeq, batchId: number): void {
    if (seq.offsets.length !== this.sources.length) {
      throw new IncompatibleCheckpointError(
        `${this.offsetLog.path(batchId)} lists ${seq.offsets.length} source(s) but this query reads ${this.sources.length}. ` +
          `The checkpoint belongs to a different query: use a new checkpointLocation.`,
      );
    }
  }

  private readLimit(s: StreamSource): ReadLimit {
    if (this.o.trigger.kind === 'once') return { kind: 'all' };
    return s.defaultReadLimit?.() ?? { kind: 'all' };
  }

  private needsNoDataBatch(): boolean {
    if (!this.o.conf.noDataMicroBatches) return false;
    // Processing-time timers and TTL fall due with the clock, also after idle triggers.
    const now = this.o.clock.now();
    if (this.stateful.some((op) => op.dueByProcessingTime?.(now) === true)) return true;
    if (!this.lastBatchRan) return false;
    const wm = this.tracker.current;
    return this.stateful.some((op) => op.needsNoDataBatch(wm));
  }

  private async loop(signal: AbortSignal): Promise<void> {
    const trigger = this.o.trigger;
    const clock = this.o.clock;
    while (!signal.aborted) {
      this.iteration++;
      this.newData = false;
      const started = clock.now();
      this.status = { message: 'Getting offsets from sources', isDataAvailable: false, isTriggerActive: true };
      const tOffsets = performance.now();
      const ends: (Offset | null)[] = [];
      for (let i = 0; i < this.sources.length; i++) {
        const s = this.sources[i]!.source;
        const end = await s.latestOffset(this.committed[i] ?? null, this.readLimit(s));
        ends.push(end ?? this.committed[i] ?? null);
      }
      const latestOffsetMs = performance.now() - tOffsets;
      const hasData = ends.some((e, i) => !sameOffset(e, this.committed[i]));
      const noData = !hasData && this.needsNoDataBatch() && trigger.kind !== 'once';
      if (hasData || noData) {
        this.status = { message: 'Processing new data', isDataAvailable: hasData, isTriggerActive: true };
        const seq: OffsetSeq = {
          batchWatermarkMs: this.tracker.current,
          batchTimestampMs: clock.now(),
          conf: { multipleWatermarkPolicy: this.tracker.policy, numStatePartitions: '1' },
          offsets: ends,
        };
        const tWal = performance.now();
        await this.offsetLog.add(this.batchId, seq);
        await executionHooks.at?.('afterOffsets', this.batchId);
        await this.runBatch(this.batchId, seq, this.committed, false, { latestOffset: latestOffsetMs, walCommit: performance.now() - tWal });
      } else {
        this.idleIteration = this.iteration;
        this.lastBatchRan = false;
        this.status = { message: 'Waiting for data to arrive', isDataAvailable: false, isTriggerActive: false };
        const startOffsets = [...this.committed];
        this.events.onIdle(() => this.idleProgress(started, latestOffsetMs, startOffsets, ends));
        if (trigger.kind !== 'processingTime') return;
      }
      if (trigger.kind === 'once') return;
      if (signal.aborted) return;
      if (trigger.kind === 'processingTime') {
        const interval = trigger.intervalMs;
        if (interval > 0) {
          const next = Math.floor(started / interval) * interval + interval;
          const wait = next - clock.now();
          if (wait > 0) await clock.sleep(wait, signal);
        } else if (!(hasData || noData) && !this.newData) {
          // Idle: poll again after pollingDelayMs, or as soon as a source says data arrived.
          const woken = new AbortController();
          const onStop = () => woken.abort();
          signal.addEventListener('abort', onStop, { once: true });
          this.wake = onStop;
          try {
            await clock.sleep(this.o.conf.pollingDelayMs, woken.signal);
          } finally {
            signal.removeEventListener('abort', onStop);
            this.wake = null;
          }
        }
      }
    }
  }

  /** Runs batch `n` from `starts` to `seq.offsets`; commits it. */
  private async runBatch(
    n: number,
    seq: OffsetSeq,
    starts: readonly (Offset | null)[],
    rerun: boolean,
    durations: Record<string, number> = {},
  ): Promise<void> {
    const t0 = performance.now();
    const clock = this.o.clock;
    const triggerStart = clock.now();
    const counters = this.sources.map(() => ({ rows: 0 }));
    const inputs = new Map<object, () => AsyncIterable<RecordBatch>>();
    this.sources.forEach((s, i) => {
      const end = seq.offsets[i] ?? null;
      const start = starts[i] ?? null;
      if (end === null || sameOffset(start, end)) return;
      inputs.set(s.key, () => counted(s.source.getBatch(start, end), counters[i]!));
    });
    const ctx: ExecContext = {
      batchId: n,
      streaming: true,
      outputMode: this.o.outputMode,
      lateWatermarkMs: this.prevBatchWm,
      evictionWatermarkMs: seq.batchWatermarkMs,
      env: { batchTimestampMs: seq.batchTimestampMs },
      inputs,
      deadLetters: this.deadLetters,
      workers: this.workers,
      query: { id: this.id, runId: this.runId },
    };
    const outBatches: RecordBatch[] = [];
    const tExec = performance.now();
    for await (const b of this.root.execute(ctx)) outBatches.push(b);
    const execMs = performance.now() - tExec;
    const table = new Table(outBatches.length > 0 ? outBatches : [emptyBatch(this.o.outputSchema)]);
    // Dead letters are written before the sink: a re-run batch rewrites the same file.
    const deadLetterRows = await this.deadLetters.flush(n);
    const tSink = performance.now();
    await this.o.sink.addBatch(n, table, {
      queryId: this.id,
      runId: this.runId,
      outputMode: this.o.outputMode,
      schema: this.o.outputSchema,
    });
    const sinkMs = performance.now() - tSink;
    await executionHooks.at?.('afterSink', n);
    const wmOps = watermarkOperators(this.root);
    const evStats = wmOps.map((w) => w.stats);
    const nextWm = this.tracker.update(wmOps.map((w) => ({ stats: w.stats, delayMs: w.delayMs })));
    const tState = performance.now();
    const snapshot = (n + 1) % this.o.conf.stateSnapshotInterval === 0;
    for (const op of this.stateful) {
      await this.layoutOf(op).record(n + 1, op.statePartitions);
      await op.commit(this.stateDirFn(op), n + 1, snapshot);
    }
    const stateMs = performance.now() - tState;
    await executionHooks.at?.('afterState', n);
    const tCommit = performance.now();
    const partitions: Record<string, number> = {};
    for (const op of this.stateful) if (op.statePartitions > 1) partitions[String(op.operatorId)] = op.statePartitions;
    await this.commitLog.add(n, {
      nextBatchWatermarkMs: nextWm,
      ...(Object.keys(partitions).length > 0 ? { statePartitions: partitions } : {}),
      ...(wmOps.length > 1 ? { operatorWatermarksMs: this.tracker.operators } : {}),
    });
    await executionHooks.at?.('afterCommit', n);
    for (let i = 0; i < this.sources.length; i++) {
      const end = seq.offsets[i];
      if (end !== null && end !== undefined) await this.sources[i]!.source.commit?.(end);
    }
    const commitMs = performance.now() - tCommit;
    await this.purge(n);
    this.committed = [...seq.offsets];
    this.prevBatchWm = seq.batchWatermarkMs;
    this.batchId = n + 1;
    this.lastBatchRan = true;
    const numInput = counters.reduce((s, c) => s + c.rows, 0);
    const total = performance.now() - t0 + (durations['latestOffset'] ?? 0) + (durations['walCommit'] ?? 0);
    const hasWatermark = wmOps.length > 0;
    const evCount = evStats.reduce((s, e) => s + e.count, 0);
    const eventTime: Record<string, string> = {};
    if (hasWatermark) {
      if (evCount > 0) {
        eventTime['min'] = iso(Math.min(...evStats.filter((e) => e.count > 0).map((e) => e.min)));
        eventTime['max'] = iso(Math.max(...evStats.filter((e) => e.count > 0).map((e) => e.max)));
        eventTime['avg'] = iso(evStats.reduce((s, e) => s + e.sum, 0) / evCount);
      }
      eventTime['watermark'] = iso(seq.batchWatermarkMs);
    }
    const secs = Math.max(total, 0.001) / 1000;
    const sinceLast = this.lastProgressAt > 0 ? Math.max(triggerStart - this.lastProgressAt, 1) / 1000 : secs;
    this.lastProgressAt = triggerStart;
    const sources: SourceProgress[] = this.sources.map((s, i) => ({
      description: s.description,
      startOffset: starts[i] ?? null,
      endOffset: seq.offsets[i] ?? null,
      latestOffset: s.source.reportLatestOffset?.() ?? seq.offsets[i] ?? null,
      numInputRows: counters[i]!.rows,
      inputRowsPerSecond: counters[i]!.rows / sinceLast,
      processedRowsPerSecond: counters[i]!.rows / secs,
      metrics: s.source.metrics?.(seq.offsets[i] ?? null) ?? {},
    }));
    const progress: StreamingQueryProgress = {
      id: this.id,
      runId: this.runId,
      name: this.o.queryName,
      timestamp: iso(triggerStart),
      batchId: n,
      batchDuration: Math.round(total),
      durationMs: {
        latestOffset: Math.round(durations['latestOffset'] ?? 0),
        walCommit: Math.round(durations['walCommit'] ?? 0),
        addBatch: Math.round(execMs + sinkMs),
        execution: Math.round(execMs),
        sinkWrite: Math.round(sinkMs),
        stateCommit: Math.round(stateMs),
        commitOffsets: Math.round(commitMs),
        triggerExecution: Math.round(total),
      },
      eventTime,
      stateOperators: (this.lastBatchMetrics = this.stateful.map((op) => ({ ...op.metrics() }))),
      sources,
      sink: { description: this.o.sink.description, numOutputRows: table.numRows, metrics: this.o.sink.metrics?.() ?? {} },
      numInputRows: numInput,
      inputRowsPerSecond: numInput / sinceLast,
      processedRowsPerSecond: numInput / secs,
      numDeadLetterRows: deadLetterRows,
    };
    void rerun;
    this.events.onProgress(progress);
  }

  /**
   * The progress of a trigger that ran no batch: `batchId` is the last executed batch (-1 before any), no input rows,
   * each source from and to its committed offset, the state operators' numbers of this run's last batch with nothing
   * updated or dropped (none after a restart, as Spark), and the watermark the next batch runs with.
   */
  private idleProgress(started: number, latestOffsetMs: number, committed: (Offset | null)[], latest: (Offset | null)[]): StreamingQueryProgress {
    const total = Math.max(0, this.o.clock.now() - started);
    const eventTime: Record<string, string> = {};
    if (watermarkOperators(this.root).length > 0) eventTime['watermark'] = iso(this.tracker.current);
    return {
      id: this.id,
      runId: this.runId,
      name: this.o.queryName,
      timestamp: iso(started),
      batchId: this.batchId - 1,
      batchDuration: Math.round(total),
      durationMs: { latestOffset: Math.round(latestOffsetMs), triggerExecution: Math.round(total) },
      eventTime,
      stateOperators: this.lastBatchMetrics ? this.lastBatchMetrics.map((m) => ({ ...m, numRowsUpdated: 0, numRowsDroppedByWatermark: 0 })) : [],
      sources: this.sources.map((s, i) => ({
        description: s.description,
        startOffset: committed[i] ?? null,
        endOffset: committed[i] ?? null,
        latestOffset: latest[i] ?? null,
        numInputRows: 0,
        inputRowsPerSecond: 0,
        processedRowsPerSecond: 0,
        metrics: s.source.metrics?.(committed[i] ?? null) ?? {},
      })),
      sink: { description: this.o.sink.description, numOutputRows: 0, metrics: this.o.sink.metrics?.() ?? {} },
      numInputRows: 0,
      inputRowsPerSecond: 0,
      processedRowsPerSecond: 0,
      numDeadLetterRows: 0,
    };
  }

  private async purge(n: number): Promise<void> {
    const keep = this.o.conf.minBatchesToRetain;
    const threshold = n + 1 - keep;
    if (threshold <= 0) return;
    await this.offsetLog.purge(threshold);
    await this.commitLog.purge(threshold);
    for (const op of this.stateful) await op.purge(this.stateDirFn(op), threshold + 1);
    for (const op of this.stateful) await this.layoutOf(op).purge(threshold + 1);
    for (const op of this.stateful) await this.purgeStalePartitions(op, n, threshold);
  }

  /**
   * Removes an operator's partition folders beyond the ones it writes now (after its state came back from the
   * workers, or a restart with a lower `parallelism`), once no retained state version (≥ `threshold` + 1) was
   * written by more partitions: not while the state's layout log says so (a re-run whose previous commit is missing
   * reads the partitions it names), nor while a retained commit (batches ≥ `threshold`) records more (checkpoints
   * written before the layout log).
   */
  private async purgeStalePartitions(op: StatefulOperator, n: number, threshold: number): Promise<void> {
    const P = op.statePartitions;
    const root = dirname(this.paths.stateDir(op.operatorId, 0));
    const names = await listIfExists(root);
    const stale = names.filter((d) => /^\d+$/.test(d) && Number(d) >= P);
    if (stale.length === 0) {
      this.widerUntil.delete(op.operatorId);
      return;
    }
    if ((await this.layoutOf(op).maxPartitionsFrom(threshold + 1)) > P) return;
    let known = this.widerUntil.get(op.operatorId);
    if (known === undefined || known.partitions !== P) {
      // Read once while the operator's partitions stay the same: the newest retained commit naming more.
      known = { partitions: P, batch: -1 };
      for (let b = n; b >= threshold; b--) {
        const c = await this.commitLog.get(b);
        if ((c?.statePartitions?.[String(op.operatorId)] ?? 1) > P) {
          known = { partitions: P, batch: b };
          break;
        }
      }
      this.widerUntil.set(op.operatorId, known);
    }
    if (known.batch >= threshold) return;
    for (const d of stale) await fs.rm(join(root, d), { recursive: true, force: true });
    this.widerUntil.delete(op.operatorId);
  }
}

/** A torn latest log entry's error, with what to do about it when deleting the entry is known to be safe. */
function withDeleteAdvice(e: unknown, advice: string | null): unknown {
  if (!(e instanceof TruncatedLogEntryError) || advice === null) return e;
  return new TruncatedLogEntryError(e.file, e.kind, advice);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Numbered entries of a log folder (none when it does not exist). */
function logEntries(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => /^\d+$/.test(n));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/**
 * Reads `metadata` ({"id": …}) or creates it atomically (temp file + link). A checkpoint that already has batches but
 * no `metadata` is refused: a new id would make the sinks (Delta's `txn.appId`, Kafka's transactional id) take
 * batches they already committed for another query's, and write them again.
 */
function readOrCreateQueryId(paths: CheckpointPaths): string {
  const file = paths.metadata;
  let text: string | null = null;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (text === null) {
    const offsets = logEntries(paths.offsetsDir);
    const commits = logEntries(paths.commitsDir);
    if (offsets.length > 0 || commits.length > 0) {
      throw new CorruptCheckpointError(
        `${file} is missing, but the checkpoint has ${offsets.length} offsets and ${commits.length} commits entries: ` +
          `its query id is lost, and a new one would make the sinks write batches they already hold again. ` +
          `Restore ${file} from a backup, or recreate it as {"id":"<query id>"} with the id the sink recorded ` +
          `(a Delta table's commits carry it as txn.appId; the Kafka sink's transactional id is sluice-<query id>), ` +
          `or start the query with a new checkpointLocation (it then reads its sources from the start).`,
      );
    }
    const id = randomUUID();
    const tmp = join(dirname(file), `.metadata.${id}.tmp`);
    try {
      fileStepSync('write', tmp, () => writeFileSync(tmp, JSON.stringify({ id }) + '\n'), file);
      fileStepSync('link', tmp, () => linkSync(tmp, file), file);
    } finally {
      rmSync(tmp, { force: true });
    }
    return id;
  }
  try {
    const m = JSON.parse(text) as { id?: unknown };
    if (typeof m.id !== 'string') throw new Error('no id');
    return m.id;
  } catch {
    throw new CorruptCheckpointError(`${file} is corrupt: expected {"id":"<uuid>"}. Restore it or use a new checkpointLocation.`);
  }
}
