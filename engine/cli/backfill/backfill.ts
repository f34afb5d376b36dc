/**
 * A backfill: recompute an event-time range of a pipeline from its source as a batch (the watermark disabled: all data
 * is final) and replace the affected partitions of its Delta sink in ONE commit (`replaceWhere`). A live query
 * writing the same table keeps running: the backfill only replaces windows the live query has already emitted (see
 * `live-query.ts`), and a live commit that lands in a replaced partition meanwhile makes the backfill start over,
 * never lose the live query's rows. A crash before the commit leaves the table as it was (the written files are
 * invisible until the commit; `vacuum` deletes them).
 *
 * @module
 */
import { openSync, readSync, closeSync, statSync } from 'node:fs';
import type { RecordBatch } from 'apache-arrow';
import {
  Column,
  col,
  dataFrameFromSpec,
  lit,
  parseDuration,
  type BatchScan,
  type DataFrame,
  type PipelineSpec,
  type Session,
} from '../../index.js';
import { quote } from '../../api/dataframe.js';
import { DeltaConcurrentModificationError, DeltaError, DeltaTable, type DeltaFaults, type PartitionPredicate } from '../../../connectors/lakehouse/index.js';
import { CliError, ExitCode } from '../exit-codes.js';
import {
  dateString,
  datesIn,
  findTimePartition,
  inputTimeRange,
  partitionPredicate,
  widenToDays,
  type TimePartition,
  type TimeRange,
} from './backfill-plan.js';
import { kafkaRangeFrom, startingOffsetsJson, type PartitionRange } from './kafka-range.js';
import { readLiveQuery, type LiveQueryState } from './live-query.js';

/**
 * Test hooks: Delta faults of the backfill's write (a crash test kills the process after the data files are written),
 * and a call just before the write (a race test commits as the live query there).
 */
export const backfillHooks: { faults: DeltaFaults | null; beforeWrite: (() => Promise<void>) | null } = { faults: null, beforeWrite: null };

/** What to backfill. */
export interface BackfillRequest {
  readonly spec: PipelineSpec;
  readonly file: string;
  readonly range: TimeRange;
  /** The live query's checkpoint (default: the spec's `checkpoint`). */
  readonly checkpoint?: string;
  /** Do not look for a live query (it will not run again on its checkpoint). */
  readonly ignoreCheckpoint?: boolean;
  /** Kafka: start reading this long before the recomputed range (default: the watermark delay). */
  readonly lookbackMs?: number;
  /** Replace partitions even when the recompute produced no rows for them. */
  readonly allowEmpty?: boolean;
}

/** One partition of the table. */
export interface PartitionInfo {
  readonly value: string;
  readonly files: number;
  /** From the files' stats; null when a file has none. */
  readonly rows: number | null;
}

/** What a backfill reads. */
export type InputPlan =
  | { readonly kind: 'files'; readonly format: string; readonly files: readonly { path: string; size: number }[]; readonly bytes: number; readonly estimatedRows: number | null; readonly eventTime: TimeRange | null }
  | { readonly kind: 'kafka'; readonly startMs: number; readonly ranges: readonly PartitionRange[]; readonly offsets: number; readonly eventTime: TimeRange | null }
  | { readonly kind: 'scan'; readonly description: string; readonly eventTime: TimeRange | null };

/** Everything a backfill will do, shown by `--dry-run`. */
export interface BackfillPlan {
  readonly name: string;
  readonly requested: TimeRange;
  /** Widened to whole partitions. */
  readonly range: TimeRange;
  readonly partition: TimePartition;
  readonly predicate: PartitionPredicate;
  readonly dates: readonly string[];
  readonly table: { readonly path: string; readonly version: number; readonly partitions: readonly PartitionInfo[] };
  readonly live: LiveQueryState | null;
  /** Windows (or rows) ending after this are left to the live query; null: no limit. */
  readonly finalUpToMs: number | null;
  readonly input: InputPlan;
}

/** What a backfill did. */
export interface BackfillResult {
  readonly plan: BackfillPlan;
  readonly version: number | null;
  readonly rowsWritten: number;
  readonly filesAdded: number;
  readonly filesRemoved: number;
  readonly attempts: number;
  readonly durationMs: number;
}

/** Progress callbacks of a run. */
export interface BackfillProgress {
  start(total: number, unit: string): void;
  advance(done: number): void;
  stop(): void;
}

/** The live query committed into a replaced partition between the backfill's read and its commit. */
export class LiveQueryMovedError extends DeltaError {
  override readonly name: string = 'LiveQueryMovedError';
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function sinkTable(spec: PipelineSpec, file: string): { path: string; partitionBy: readonly string[] } {
  const sink = spec.sink;
  if (!sink) throw new CliError(`${file}: a backfill writes the spec's sink, and it has none.`);
  if (sink.format.toLowerCase() !== 'delta') {
    throw new CliError(`${file}: a backfill replaces partitions of a Delta table; the sink is '${sink.format}'. Use "sink": { "format": "delta", … }.`);
  }
  const path = sink.path ?? (sink.options?.['path'] !== undefined ? String(sink.options['path']) : undefined);
  if (!path) throw new CliError(`${file}: sink.path is required (the Delta table folder).`);
  return { path, partitionBy: sink.partitionBy ?? [] };
}

/** The partitions of the table whose `column` value is one of `dates`. */
async function partitionsIn(table: DeltaTable, column: string, dates: readonly string[]): Promise<{ version: number; partitions: PartitionInfo[] }> {
  const version = await table.version();
  if (version < 0) return { version, partitions: [] };
  const by = new Map<string, { files: number; rows: number | null }>();
  const wanted = new Set(dates);
  for (const f of (await table.snapshot(version)).fileList()) {
    const v = f.partitionValues[column];
    if (v === undefined || v === null || !wanted.has(v)) continue;
    const p = by.get(v) ?? { files: 0, rows: 0 };
    p.files++;
    let n: number | null = null;
    try {
      const s = f.stats ? (JSON.parse(f.stats) as { numRecords?: unknown }) : null;
      n = typeof s?.numRecords === 'number' ? s.numRecords : null;
    } catch {
      n = null;
    }
    p.rows = p.rows === null || n === null ? null : p.rows + n;
    by.set(v, p);
  }
  return { version, partitions: [...by.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([value, p]) => ({ value, ...p })) };
}

interface FileScanLike extends BatchScan {
  readonly files: readonly string[];
  readonly format: { readonly name: string; read(file: string, schema: unknown, options: unknown, stats: unknown): AsyncIterable<RecordBatch> };
  readonly options: Readonly<Record<string, string>>;
  readonly stats: unknown;
}

function isFileScan(s: BatchScan): s is FileScanLike {
  const x = s as Partial<FileScanLike>;
  return Array.isArray(x.files) && typeof x.format?.read === 'function';
}

/** Rows in text files, from the bytes per line of the first 64 KiB of the first file. */
function estimateRows(format: string, files: readonly { path: string; size: number }[], bytes: number): number | null {
  if (!['jsonl', 'json', 'csv'].includes(format) || files.length === 0) return null;
  const fd = openSync(files[0]!.path, 'r');
  try {
    const buf = Buffer.alloc(Math.min(65536, files[0]!.size));
    const n = readSync(fd, buf, 0, buf.length, 0);
    let lines = 0;
    for (let i = 0; i < n; i++) if (buf[i] === 10) lines++;
    if (lines === 0) return null;
    return Math.round(bytes / (n / lines)) - (format === 'csv' ? files.length : 0);
  } finally {
    closeSync(fd);
  }
}

/**
 * Wraps the source format of a (backfill-only) session so its scan reports progress: files for file formats, rows
 * otherwise. `onScan` sees the scan when the query is built.
 */
function instrumentSource(session: Session, format: string, onScan: (s: BatchScan) => void, progress: () => BackfillProgress | null): void {
  const base = session.formats.get(format, 'batchScan');
  session.formats.register({
    name: format,
    batchScan(req) {
      const scan = base(req);
      onScan(scan);
      if (isFileScan(scan)) {
        return {
          schema: scan.schema,
          description: scan.description,
          async *scan() {
            let done = 0;
            for (const f of scan.files) {
              yield* scan.format.read(f, scan.schema, scan.options, scan.stats);
              progress()?.advance(++done);
            }
          },
        };
      }
      return {
        schema: scan.schema,
        description: scan.description,
        async *scan() {
          let rows = 0;
          for await (const b of scan.scan()) {
            rows += b.numRows;
            progress()?.advance(rows);
            yield b;
          }
        },
      };
    },
  });
}

interface Built {
  readonly df: DataFrame;
  readonly scan: BatchScan | null;
  /** Where the scan reports progress while the query runs (set by the run, not by a dry run). */
  readonly progress: { current: BackfillProgress | null };
}

function buildFrame(req: BackfillRequest, session: Session, tp: TimePartition, range: TimeRange, finalUpToMs: number | null, sourceOptions: Record<string, string>): Built {
  let scan: BatchScan | null = null;
  const progress: Built['progress'] = { current: null };
  instrumentSource(session, req.spec.source.format, (s) => (scan = s), () => progress.current);
  const input = inputTimeRange(tp, range);
  const ts = (ms: number) => lit(iso(ms), 'timestamp');
  let df = dataFrameFromSpec(
    req.spec,
    session,
    {
      mode: 'batch',
      sourceOptions,
      beforeAggregate: (d) => {
        if (tp.kind !== 'window' || input === null) return d;
        const t = new Column(tp.window.time);
        return d.where(t.geq(ts(input.fromMs)).and(t.lt(ts(input.toMs))));
      },
      afterAggregate: (d) => (tp.kind === 'window' && finalUpToMs !== null ? d.where(col(`${quote(tp.windowColumn)}.end`).leq(ts(finalUpToMs))) : d),
    },
    req.file,
  );
  df = df.where(col(quote(tp.column)).geq(lit(dateString(range.fromMs), 'date')).and(col(quote(tp.column)).lt(lit(dateString(range.toMs), 'date'))));
  return { df, scan: scan as BatchScan | null, progress };
}

function watermarkDelayMs(spec: PipelineSpec): number {
  const fromSteps = (spec.steps ?? []).map((s) => ('watermark' in s ? s.watermark : null)).find((x) => x !== null);
  const w = spec.watermark ?? fromSteps ?? null;
  return w === null ? 0 : parseDuration(w.delay, 'watermark delay');
}

/**
 * Decides everything a backfill does without running the query: range, partitions, the live query's limit, input.
 *
 * @example
 * const plan = await planBackfill({ spec, file, range: { fromMs, toMs } }, session);
 */
export async function planBackfill(req: BackfillRequest, session: Session): Promise<{ plan: BackfillPlan; built: Built }> {
  const { spec, file } = req;
  if (spec.outputMode === 'complete') {
    throw new CliError(`${file}: the query runs in complete mode, which rewrites the whole table every batch; a backfill has nothing to fold in.`);
  }
  if (!(req.range.toMs > req.range.fromMs)) throw new CliError(`--to (${iso(req.range.toMs)}) must be after --from (${iso(req.range.fromMs)}).`);
  const sink = sinkTable(spec, file);
  const probe = dataFrameFromSpec(spec, session, { mode: 'batch' }, file);
  let tp: TimePartition;
  try {
    tp = findTimePartition(probe.plan, sink.partitionBy);
  } catch (e) {
    throw new CliError(`${file}: ${(e as Error).message}`);
  }
  const range = widenToDays(req.range);
  const dates = datesIn(range);
  const table = DeltaTable.forPath(sink.path);
  const checkpoint = req.ignoreCheckpoint ? null : (req.checkpoint ?? spec.checkpoint ?? null);
  const live = checkpoint === null ? null : await readLiveQuery(checkpoint, table);
  if (live !== null && tp.kind === 'eventTime') {
    throw new CliError(
      `${file}: a stateless query writes every row as soon as it reads it, so a live query on ${live.checkpoint} would write rows this backfill also writes. ` +
        'Stop it, or pass --ignore-checkpoint if it will not run again.',
    );
  }
  const finalUpToMs = live === null ? null : live.finalUpToMs;
  const current = await partitionsIn(table, tp.column, dates);
  const format = spec.source.format.toLowerCase();
  const eventTime = inputTimeRange(tp, range);
  let sourceOptions: Record<string, string> = {};
  let kafka: { startMs: number; ranges: PartitionRange[] } | null = null;
  if (format === 'kafka') {
    const lookback = req.lookbackMs ?? watermarkDelayMs(spec) + (tp.kind === 'window' && tp.window.kind === 'sessionWindow' ? 3_600_000 : 0);
    const startMs = range.fromMs - lookback;
    const options: Record<string, string> = {};
    for (const [k, v] of Object.entries(spec.source.options ?? {})) options[k] = String(v);
    const ranges = await kafkaRangeFrom(options, startMs);
    kafka = { startMs, ranges };
    sourceOptions = { startingOffsets: startingOffsetsJson(ranges), endingOffsets: 'latest' };
  }
  const built = buildFrame(req, session, tp, range, finalUpToMs, sourceOptions);
  let input: InputPlan;
  const scan = built.scan as BatchScan | null;
  if (kafka) {
    input = { kind: 'kafka', startMs: kafka.startMs, ranges: kafka.ranges, offsets: kafka.ranges.reduce((s, r) => s + (r.end - r.start), 0), eventTime };
  } else if (scan && isFileScan(scan)) {
    const files = scan.files.map((p) => ({ path: p, size: statSync(p).size }));
    const bytes = files.reduce((s, f) => s + f.size, 0);
    input = { kind: 'files', format: scan.format.name, files, bytes, estimatedRows: estimateRows(scan.format.name, files, bytes), eventTime };
  } else input = { kind: 'scan', description: scan?.description ?? spec.source.format, eventTime };
  return {
    plan: {
      name: spec.name ?? file,
      requested: req.range,
      range,
      partition: tp,
      predicate: partitionPredicate(tp.column, range),
      dates,
      table: { path: sink.path, version: current.version, partitions: current.partitions },
      live,
      finalUpToMs,
      input,
    },
    built,
  };
}

/**
 * Runs a backfill: recompute, then one `replaceWhere` commit. Starts over (up to 3 times) when the live query commits
 * into a replaced partition meanwhile.
 *
 * @example
 * const r = await runBackfill({ spec, file, range }, () => new Session(), progress);
 */
export async function runBackfill(req: BackfillRequest, newSession: () => Session, progress: BackfillProgress | null = null, onRetry: (why: string) => void = () => {}): Promise<BackfillResult> {
  const t0 = Date.now();
  const sink = sinkTable(req.spec, req.file);
  for (let attempt = 1; ; attempt++) {
    const session = newSession();
    const { plan, built } = await planBackfill(req, session);
    if (plan.finalUpToMs === -Infinity) {
      throw new CliError(
        `The live query (checkpoint ${plan.live!.checkpoint}) has not made any window final in ${plan.table.path} yet, so there is nothing to backfill. ` +
          'Run it once it has committed batches, or pass --ignore-checkpoint if it will not run again.',
        ExitCode.failed,
      );
    }
    if (progress) {
      built.progress.current = progress;
      if (plan.input.kind === 'files') progress.start(plan.input.files.length, 'files');
      else if (plan.input.kind === 'kafka') progress.start(plan.input.offsets, 'offsets');
      else progress.start(0, 'rows');
    }
    let batches: RecordBatch[];
    try {
      batches = await built.df.toBatches();
    } finally {
      progress?.stop();
    }
    const rows = batches.reduce((s, b) => s + b.numRows, 0);
    const existingRows = plan.table.partitions.reduce((s, p) => s + (p.rows ?? 1), 0);
    if (rows === 0 && existingRows > 0 && !req.allowEmpty) {
      throw new CliError(
        `The recompute of [${iso(plan.range.fromMs)}, ${iso(plan.range.toMs)}) produced no rows, but the table has ${plan.table.partitions.length} partition(s) there; ` +
          'replacing them would delete their rows. Is the source still holding that data (Kafka retention)? Pass --allow-empty to replace anyway.',
        ExitCode.failed,
      );
    }
    const guard = liveGuard(plan, sink.path);
    const hooks = backfillHooks.faults;
    const table = DeltaTable.forPath(sink.path, {
      faults: {
        afterDataWritten: hooks?.afterDataWritten,
        beforeCommit: async (ctx) => {
          await guard?.(ctx);
          await hooks?.beforeCommit?.(ctx);
        },
      },
    });
    try {
      await backfillHooks.beforeWrite?.();
      const r = await table.write(batches, {
        mode: 'overwrite',
        replaceWhere: plan.predicate,
        partitionBy: sink.partitionBy,
        schema: built.df.schema,
        operationParameters: { sluiceBackfill: JSON.stringify({ from: iso(plan.range.fromMs), to: iso(plan.range.toMs), finalUpTo: plan.finalUpToMs === null ? null : iso(plan.finalUpToMs) }) },
      });
      return { plan, version: r.version, rowsWritten: r.rowsWritten, filesAdded: r.filesAdded, filesRemoved: r.filesRemoved, attempts: attempt, durationMs: Date.now() - t0 };
    } catch (e) {
      const retryable = e instanceof LiveQueryMovedError || e instanceof DeltaConcurrentModificationError;
      if (!retryable || attempt >= 3) throw e;
      onRetry((e as Error).message);
    }
  }
}

/**
 * `DeltaTable.write` takes its own snapshot; commits between the backfill's read of the live query's progress and
 * that snapshot are not conflict-checked by it, so this hook checks them: a live commit into a replaced partition
 * means the recompute is stale (its windows would be removed by our commit).
 */
function liveGuard(plan: BackfillPlan, path: string): ((ctx: { version: number; attempt: number }) => Promise<void>) | null {
  const live = plan.live;
  if (live === null) return null;
  const dates = new Set(plan.dates);
  const column = plan.partition.column;
  return async ({ version, attempt }) => {
    if (attempt > 0) return;
    const log = DeltaTable.forPath(path).log;
    for (let v = live.tableVersion + 1; v < version; v++) {
      const c = await log.readCommit(v);
      if (c === null) continue;
      const intoRange = c.adds.some((a) => {
        const p = a.partitionValues[column];
        return p !== undefined && p !== null && dates.has(p);
      });
      if (intoRange && c.txns.some((t) => t.appId === live.queryId)) {
        throw new LiveQueryMovedError(`version ${v} of ${path}: the live query committed into a partition being replaced while the backfill ran`);
      }
    }
  };
}
