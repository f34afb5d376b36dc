/**
 * A step language for streaming tests (after Spark's StreamTest): a query, a list of steps, and on failure a report
 * of every step with a marker at the failing one, plus the offsets, watermark and sink rows at that point.
 *
 * @example
 * await testStream(df, { outputMode: 'append' }, [
 *   addData(input, [{ value: 1, eventTime: 15_000 }]),
 *   processAllAvailable(),
 *   checkNewAnswer([]),
 *   assertWatermark(5_000),
 * ]);
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Table } from 'apache-arrow';
import type { DataFrame, ManualClock, MemoryStream, OutputMode, StreamingQuery, StreamingQueryProgress } from '../../engine/index.js';
import { rowsFromBatch } from '../../engine/types/values.js';
import type { SinkBatchInfo, StreamingSink } from '../../engine/io/sink.js';

type Row = Record<string, unknown>;

/** Rows a test sink received, by batch; keeps them across stop/start like a durable sink. */
export class CaptureSink implements StreamingSink {
  readonly description = 'CaptureSink';
  batches = new Map<number, Row[]>();
  /** Every addBatch call in order, including replays. */
  calls: number[] = [];
  mode: OutputMode = 'append';
  async addBatch(batchId: number, data: Table, info: SinkBatchInfo): Promise<void> {
    this.calls.push(batchId);
    this.mode = info.outputMode;
    if (this.batches.has(batchId)) return;
    this.batches.set(batchId, data.batches.flatMap((b) => rowsFromBatch(b, info.schema)));
  }
  /** The result table: all rows for append/update, the last batch's for complete. */
  allRows(): Row[] {
    if (this.mode === 'complete') {
      const last = Math.max(-1, ...this.batches.keys());
      return last < 0 ? [] : this.batches.get(last)!;
    }
    return [...this.batches.keys()].sort((a, b) => a - b).flatMap((k) => this.batches.get(k)!);
  }
  lastBatch(): Row[] {
    const last = Math.max(-1, ...this.batches.keys());
    return last < 0 ? [] : this.batches.get(last)!;
  }
}

interface Ctx {
  df: DataFrame;
  options: StreamTestOptions;
  sink: CaptureSink;
  query: StreamingQuery | null;
  checkpoint: string;
  seenBatches: number;
  progress: StreamingQueryProgress[];
}

/** One step; `name` is what the failure report prints. */
export interface Step {
  readonly name: string;
  run(ctx: Ctx): Promise<void>;
}

/** How the query under test is started. */
export interface StreamTestOptions {
  readonly outputMode?: OutputMode;
  readonly trigger?: { processingTime: string | number } | { once: true } | { availableNow: true };
  readonly checkpoint?: string;
  readonly clock?: ManualClock;
}

/** Normalises rows for comparison: Dates → ISO strings, bigint → string, keys sorted. */
export function normalizeRows(rows: readonly Row[]): string[] {
  const norm = (v: unknown): unknown => {
    if (v instanceof Date) return v.toISOString();
    if (typeof v === 'bigint') return `${v}n`;
    if (typeof v === 'number' && Number.isNaN(v)) return 'NaN';
    if (Array.isArray(v)) return v.map(norm);
    if (v && typeof v === 'object' && !(v instanceof Uint8Array)) {
      return Object.fromEntries(Object.entries(v as Row).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => [k, norm(x)]));
    }
    return v;
  };
  return rows.map((r) => JSON.stringify(norm(r))).sort();
}

function expectRows(actual: readonly Row[], expected: readonly Row[], what: string): void {
  const a = normalizeRows(actual);
  const e = normalizeRows(expected);
  if (JSON.stringify(a) !== JSON.stringify(e)) {
    throw new Error(`${what} differ.\n  expected: ${e.join('\n            ')}\n  actual:   ${a.join('\n            ')}`);
  }
}

function startQuery(ctx: Ctx, trigger?: StreamTestOptions['trigger']): void {
  const session = ctx.df.session;
  if (!session.formats.names().includes('capture')) {
    session.formats.register({ name: 'capture', streamingSink: () => currentSink! });
  }
  currentSink = ctx.sink;
  let w = ctx.df.writeStream.format('capture').outputMode(ctx.options.outputMode ?? 'append').option('checkpointLocation', ctx.checkpoint);
  const t = trigger ?? ctx.options.trigger;
  if (t) w = w.trigger(t as never);
  ctx.query = w.start();
  ctx.df.session.streams.addListener({
    onQueryProgress: ({ progress }) => {
      if (progress.runId === ctx.query?.runId) ctx.progress.push(progress);
    },
  });
}
let currentSink: CaptureSink | null = null;

/** Adds rows to a memory stream. */
export function addData(input: MemoryStream, rows: Row[]): Step {
  return { name: `addData(${rows.length} rows: ${JSON.stringify(rows).slice(0, 80)})`, run: async () => void input.addData(rows) };
}

/** Waits until the query has processed everything available. */
export function processAllAvailable(): Step {
  return {
    name: 'processAllAvailable()',
    run: async (ctx) => {
      if (!ctx.query) throw new Error('no running query (did you stopStream()?)');
      await ctx.query.processAllAvailable();
    },
  };
}

/** Rows the sink got since the previous check (any order). */
export function checkNewAnswer(rows: Row[]): Step {
  return {
    name: `checkNewAnswer(${rows.length} rows)`,
    run: async (ctx) => {
      if (ctx.query?.isActive) await ctx.query.processAllAvailable();
      const ids = [...ctx.sink.batches.keys()].filter((k) => k >= ctx.seenBatches).sort((a, b) => a - b);
      const got = ids.flatMap((k) => ctx.sink.batches.get(k)!);
      ctx.seenBatches = Math.max(ctx.seenBatches, ...ids.map((k) => k + 1));
      expectRows(got, rows, 'New rows');
    },
  };
}

/** The whole result (append/update: every row so far; complete: the latest batch). */
export function checkAnswer(rows: Row[]): Step {
  return {
    name: `checkAnswer(${rows.length} rows)`,
    run: async (ctx) => {
      if (ctx.query?.isActive) await ctx.query.processAllAvailable();
      expectRows(ctx.sink.allRows(), rows, 'Result rows');
    },
  };
}

/** The rows of the last batch only. */
export function checkLastBatch(rows: Row[]): Step {
  return {
    name: `checkLastBatch(${rows.length} rows)`,
    run: async (ctx) => {
      if (ctx.query?.isActive) await ctx.query.processAllAvailable();
      expectRows(ctx.sink.lastBatch(), rows, 'Last batch rows');
    },
  };
}

/** The watermark the next batch will run with (the last progress's `eventTime.watermark` is the one it ran with). */
export function assertWatermark(ms: number): Step {
  return {
    name: `assertWatermark(${ms})`,
    run: async (ctx) => {
      if (ctx.query?.isActive) await ctx.query.processAllAvailable();
      const p = ctx.progress[ctx.progress.length - 1];
      const next = ctx.query?.watermarkMs;
      if (next !== ms) throw new Error(`Watermark is ${next}, expected ${ms} (last batch ran with ${p?.eventTime['watermark'] ?? 'none'})`);
    },
  };
}

/** Checks something on the last progress event (or all of them). */
export function assertProgress(name: string, check: (last: StreamingQueryProgress, all: StreamingQueryProgress[]) => void): Step {
  return {
    name: `assertProgress(${name})`,
    run: async (ctx) => {
      const last = ctx.progress[ctx.progress.length - 1];
      if (!last) throw new Error('no progress yet');
      check(last, ctx.progress);
    },
  };
}

/** Stops the query (the checkpoint stays). */
export function stopStream(): Step {
  return {
    name: 'stopStream()',
    run: async (ctx) => {
      await ctx.query?.stop();
      if (ctx.query?.exception) throw ctx.query.exception;
      ctx.query = null;
    },
  };
}

/** Starts the query again on the same checkpoint (optionally with another trigger). */
export function startStream(trigger?: StreamTestOptions['trigger']): Step {
  return {
    name: `startStream(${trigger ? JSON.stringify(trigger) : ''})`,
    run: async (ctx) => startQuery(ctx, trigger),
  };
}

/** Moves the manual clock. */
export function advanceClock(ms: number): Step {
  return {
    name: `advanceClock(${ms})`,
    run: async (ctx) => {
      if (!ctx.options.clock) throw new Error('advanceClock needs options.clock (a ManualClock given to the Session)');
      ctx.options.clock.advance(ms);
      await new Promise((r) => setTimeout(r, 20));
    },
  };
}

/** Waits for the query to fail with a message matching `re`. */
export function expectFailure(re: RegExp): Step {
  return {
    name: `expectFailure(${re})`,
    run: async (ctx) => {
      if (!ctx.query) throw new Error('no query');
      let err: unknown = null;
      try {
        await ctx.query.awaitTermination(30_000);
      } catch (e) {
        err = e;
      }
      if (!err) throw new Error('the query did not fail');
      const text = `${(err as Error).message} ${((err as Error).cause as Error | undefined)?.message ?? ''}`;
      if (!re.test(text)) throw new Error(`the query failed with "${text}", which does not match ${re}`);
      ctx.query = null;
    },
  };
}

/** Runs arbitrary code with the query. */
export function execute(name: string, fn: (q: StreamingQuery | null, sink: CaptureSink) => Promise<void> | void): Step {
  return { name: `execute(${name})`, run: async (ctx) => fn(ctx.query, ctx.sink) };
}

/**
 * Runs the steps; on failure throws an error listing every step with `=>` at the failing one, then the query's state.
 */
export async function testStream(df: DataFrame, options: StreamTestOptions, steps: readonly Step[]): Promise<CaptureSink> {
  const ctx: Ctx = {
    df,
    options,
    sink: new CaptureSink(),
    query: null,
    checkpoint: options.checkpoint ?? mkdtempSync(join(tmpdir(), 'sluice-streamtest-')),
    seenBatches: 0,
    progress: [],
  };
  startQuery(ctx);
  let i = 0;
  try {
    for (; i < steps.length; i++) await steps[i]!.run(ctx);
  } catch (e) {
    const lines = steps.map((s, k) => `${k === i ? '=> ' : '   '}${s.name}`);
    const p = ctx.progress[ctx.progress.length - 1];
    const state = [
      `last batch: ${p?.batchId ?? '-'}, watermark it ran with: ${p?.eventTime['watermark'] ?? '-'}`,
      `offsets: ${JSON.stringify(p?.sources.map((s) => s.endOffset) ?? [])}`,
      `sink rows: ${normalizeRows(ctx.sink.allRows()).join(' ').slice(0, 800)}`,
    ];
    await ctx.query?.stop().catch(() => {});
    throw new Error(`${(e as Error).message}\n\nSteps:\n${lines.join('\n')}\n\n${state.join('\n')}`, { cause: e });
  }
  await ctx.query?.stop();
  if (ctx.query?.exception) throw ctx.query.exception;
  return ctx.sink;
}

/** Epoch ms → Date, for expected rows. */
export const t = (ms: number): Date => new Date(ms);
/** A window value for expected rows. */
export const win = (start: number, end: number) => ({ start: new Date(start), end: new Date(end) });
