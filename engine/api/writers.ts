/**
 * `df.write` (batch) and `df.writeStream` (streaming).
 *
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Table, type RecordBatch } from 'apache-arrow';
import { parseDuration, type Duration } from '../types/duration.js';
import { emptyBatch } from '../types/values.js';
import { assertUniqueNames } from '../types/data-type.js';
import type { OutputMode, SaveMode, SinkBatchInfo, StreamingSink } from '../io/sink.js';
import { checkOptionNames } from '../io/sink-options.js';
import { checkStreamingPlan, UnsupportedOperationError, UnsupportedOutputModeError } from '../logical/unsupported-operations.js';
import { streamingLeaves } from '../logical/plan.js';
import type { Trigger } from '../exec/micro-batch-execution.js';
import type { StreamingQuery } from '../exec/streaming-query.js';
import { AnalysisError } from '../logical/resolve-expr.js';
import type { DataFrame } from './dataframe.js';
import type { Session } from './session.js';

function optionString(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
}

/**
 * Writes a batch DataFrame.
 *
 * @example
 * await df.write.format('delta').mode('overwrite').partitionBy('date').save('lake/sales');
 */
export class DataFrameWriter {
  private fmt: string | null = null;
  private saveMode: SaveMode = 'errorIfExists';
  private opts: Record<string, string> = {};
  private parts: string[] = [];

  constructor(
    private readonly session: Session,
    private readonly df: DataFrame,
  ) {}

  /** The output format (`delta`, `jsonl`, `parquet`, `kafka`, …). @example .format('delta') */
  format(name: string): this {
    this.fmt = name;
    return this;
  }
  /** What to do when the target exists: 'append', 'overwrite', 'errorIfExists' (default), 'ignore'. @example .mode('append') */
  mode(m: SaveMode | 'error'): this {
    const norm = m === 'error' ? 'errorIfExists' : m;
    if (!['append', 'overwrite', 'errorIfExists', 'ignore'].includes(norm)) {
      throw new AnalysisError(`Unknown save mode '${m}': use 'append', 'overwrite', 'errorIfExists' or 'ignore'.`);
    }
    this.saveMode = norm;
    return this;
  }
  /** A format option. @example .option('replaceWhere', JSON.stringify({ date: { gte: '2026-05-01' } })) */
  option(key: string, value: unknown): this {
    this.opts[key] = optionString(value);
    return this;
  }
  /** Several options. @example .options({ compression: 'zstd' }) */
  options(o: Record<string, unknown>): this {
    for (const [k, v] of Object.entries(o)) this.option(k, v);
    return this;
  }
  /** Partition columns (hive-style folders). @example .partitionBy('date') */
  partitionBy(...cols: string[]): this {
    this.parts = cols;
    return this;
  }
  /** Runs the query and writes its result. @example await df.write.format('jsonl').save('out/') */
  async save(path?: string): Promise<void> {
    if (!this.fmt) throw new AnalysisError("Choose a format first, e.g. df.write.format('delta').save(path).");
    assertUniqueNames(this.df.schema, `write.format('${this.fmt}').save()`);
    const write = this.session.formats.get(this.fmt, 'batchWrite');
    const batches = await this.df.toBatches();
    const table = new Table(batches.length > 0 ? batches : [emptyBatch(this.df.schema)]);
    await write(
      { format: this.fmt, path: path ?? this.opts['path'] ?? null, options: { ...this.opts }, partitionBy: this.parts, mode: this.saveMode },
      this.df.schema,
      table,
    );
  }
}

/** The function of `foreachBatch`: gets each batch's output as a batch DataFrame. */
export type ForeachBatchFunction = (df: DataFrame, batchId: number) => void | Promise<void>;

/**
 * Configures and starts a streaming query.
 *
 * @example
 * const q = df.writeStream.format('memory').queryName('counts').outputMode('append')
 *   .trigger({ processingTime: '1 second' }).option('checkpointLocation', 'ckpt/counts').start();
 */
export class DataStreamWriter {
  private fmt = 'console';
  private mode: OutputMode = 'append';
  private trig: Trigger = { kind: 'processingTime', intervalMs: 0 };
  private opts: Record<string, string> = {};
  private name: string | null = null;
  private parts: string[] = [];
  private foreach: ForeachBatchFunction | null = null;

  constructor(
    private readonly session: Session,
    private readonly df: DataFrame,
  ) {}

  /** The sink: 'memory', 'console', 'parquet', 'json', 'csv', 'jsonl', 'delta', 'kafka', … @example .format('memory') */
  format(name: string): this {
    this.fmt = name;
    return this;
  }
  /** 'append' (default), 'update' or 'complete'. @example .outputMode('update') */
  outputMode(m: OutputMode): this {
    if (m !== 'append' && m !== 'update' && m !== 'complete') {
      throw new UnsupportedOperationError(`Unknown output mode '${String(m)}': use 'append', 'update' or 'complete'.`);
    }
    this.mode = m;
    return this;
  }
  /**
   * When batches run: `{ processingTime: '1 second' }` (default `0`: back to back), `{ once: true }` (one batch of
   * everything available, then stop) or `{ availableNow: true }` (everything available at start, in as many batches
   * as read limits need, then stop).
   *
   * @example
   * .trigger({ availableNow: true })
   */
  trigger(t: { processingTime: Duration } | { once: true } | { availableNow: true }): this {
    if ('processingTime' in t) {
      const ms = parseDuration(t.processingTime, 'trigger interval');
      if (ms < 0) throw new AnalysisError('The trigger interval cannot be negative.');
      this.trig = { kind: 'processingTime', intervalMs: ms };
    } else if ('once' in t && t.once) this.trig = { kind: 'once' };
    else if ('availableNow' in t && t.availableNow) this.trig = { kind: 'availableNow' };
    else throw new AnalysisError("trigger() takes { processingTime: '1 second' }, { once: true } or { availableNow: true }.");
    return this;
  }
  /** A sink option; `checkpointLocation` is where the query keeps its progress. @example .option('checkpointLocation', 'ckpt/') */
  option(key: string, value: unknown): this {
    this.opts[key] = optionString(value);
    return this;
  }
  /** Several options. @example .options({ path: 'out/', checkpointLocation: 'ckpt/' }) */
  options(o: Record<string, unknown>): this {
    for (const [k, v] of Object.entries(o)) this.option(k, v);
    return this;
  }
  /** The query's name (the memory sink's table name). @example .queryName('counts') */
  queryName(name: string): this {
    this.name = name;
    return this;
  }
  /** Partition columns of file/lake sinks. @example .partitionBy('date') */
  partitionBy(...cols: string[]): this {
    this.parts = cols;
    return this;
  }
  /**
   * Calls `fn` with each batch's output as a batch DataFrame. At-least-once: a batch re-run after a crash is passed
   * again with the same id, so make `fn` idempotent per batch id.
   *
   * @example
   * .foreachBatch(async (batch, id) => { await batch.write.format('delta').mode('append').save('lake/t'); })
   */
  foreachBatch(fn: ForeachBatchFunction): this {
    this.foreach = fn;
    this.fmt = 'foreachBatch';
    return this;
  }

  /**
   * Checks the query and starts it in the background. Throws at once for refused output modes, a checkpoint in use,
   * a sink that needs options it was not given, or a source that cannot start (a file path that does not exist).
   *
   * @example
   * const q = writer.start(); await q.awaitTermination();
   */
  start(path?: string): StreamingQuery {
    checkStreamingPlan(this.df.plan, this.mode);
    assertUniqueNames(this.df.schema, `writeStream.format('${this.fmt}').start()`);
    for (const leaf of streamingLeaves(this.df.plan)) leaf.checkStart?.();
    const session = this.session;
    if (path !== undefined) this.opts['path'] = path;
    let checkpoint = this.opts['checkpointLocation'] ?? null;
    let temporary = false;
    const allowsTemp = this.fmt === 'memory' || this.fmt === 'console' || this.fmt === 'foreachBatch';
    if (checkpoint === null) {
      if (!allowsTemp) {
        throw new AnalysisError(
          `The ${this.fmt} sink needs a checkpoint to be exactly-once: add .option('checkpointLocation', 'path/to/checkpoint').`,
        );
      }
      checkpoint = mkdtempSync(join(tmpdir(), 'sluice-ckpt-'));
      temporary = true;
    }
    const schema = this.df.schema;
    let sink: StreamingSink;
    try {
      sink = this.makeSink(checkpoint);
    } catch (e) {
      // A refused sink leaves no temporary checkpoint behind.
      if (temporary) rmSync(checkpoint, { recursive: true, force: true });
      throw e;
    }
    return session.streams.start({
      plan: this.df.plan,
      sink,
      outputMode: this.mode,
      trigger: this.trig,
      checkpointLocation: checkpoint,
      deleteCheckpointOnStop: temporary,
      queryName: this.name,
      conf: session.conf.getAll(),
      clock: session.clock,
      outputSchema: schema,
      deadLetterPath: this.opts['deadLetterPath'] ?? null,
    });
  }

  /** The sink of the chosen format, its options checked; refused when it does not take the output mode. */
  private makeSink(checkpoint: string): StreamingSink {
    const session = this.session;
    let sink: StreamingSink;
    if (this.fmt === 'foreachBatch') {
      checkOptionNames('foreachBatch sink', this.opts, { known: [] });
      const fn = this.foreach!;
      sink = {
        description: 'ForeachBatchSink',
        async addBatch(batchId: number, data: Table, info: SinkBatchInfo) {
          await fn(session.createDataFrameFromBatches(data.batches as RecordBatch[], info.schema), batchId);
        },
      };
    } else {
      sink = session.formats.get(this.fmt, 'streamingSink')(
        { format: this.fmt, path: this.opts['path'] ?? null, options: { ...this.opts }, partitionBy: this.parts, schema: this.df.schema },
        {
          queryName: this.name,
          checkpointLocation: checkpoint,
          registerTable: (name, view) => session.registerTable(name, view),
        },
        this.mode,
      );
    }
    if (sink.supportedOutputModes && !sink.supportedOutputModes.includes(this.mode)) {
      throw new UnsupportedOutputModeError(this.fmt, this.mode, sink.supportedOutputModes);
    }
    return sink;
  }
}
