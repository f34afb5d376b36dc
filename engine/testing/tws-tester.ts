/**
 * A test kit for `StatefulProcessor`s, like Spark 4.1's `TwsTester`: runs a processor on rows without a stream, one
 * batch per call, with the processing time and the watermark under the test's control, and lets the test peek at
 * and set state and timers. It drives the same partition the engine runs, so the semantics (order within a batch,
 * timers, TTL, late rows, errors) are the engine's.
 *
 * @example
 * const t = new TwsTester(FailedLoginDetector, {
 *   inputSchema: { user: 'string', success: 'boolean', ts: 'timestamp' },
 *   keyColumns: ['user'],
 *   outputSchema: { user: 'string', reason: 'string', at: 'timestamp' },
 *   timeMode: 'processingTime',
 * });
 * t.test('alice', [{ success: false, ts: 1 }, { success: false, ts: 2 }, { success: false, ts: 3 }]); // one alert
 * t.peekValueState('fails', 'alice'); // undefined (cleared after the alert)
 *
 * @module
 */
import type { StatefulProcessorClass, TimeMode } from '../api/stateful-processor.js';
import { schemaOf, SchemaError, type Schema, type SchemaSpec } from '../types/data-type.js';
import { batchFromRows, rowsFromBatch } from '../types/values.js';
import type { BatchInfo, PartitionMetrics } from '../physical/partitions/keyed-operator.js';
import { ListVar, MapVar, ValueVar } from '../physical/partitions/tws-state.js';
import { registerLocalProcessor, TransformWithStatePartition, type TransformWithStateSpec } from '../physical/partitions/transform-with-state-partition.js';

/** Options of a `TwsTester`. */
export interface TwsTesterOptions {
  /** The input rows' columns (the grouping columns included). */
  readonly inputSchema: SchemaSpec | Schema;
  readonly outputSchema: SchemaSpec | Schema;
  /** Default: `'none'`. */
  readonly timeMode?: TimeMode;
  /** Default: `'append'`. */
  readonly outputMode?: 'append' | 'update';
  /** The grouping columns. Default: the first input column. */
  readonly keyColumns?: readonly string[];
  /** In `eventTime` mode, the input column whose time is compared with the watermark (rows at or below it are late). */
  readonly eventTimeColumn?: string;
  /** Processing time of the first batch (default 0). */
  readonly startProcessingTimeMs?: number;
}

/**
 * Runs a processor batch by batch without a stream.
 *
 * @example
 * const t = new TwsTester(Sessionizer, { inputSchema: { user: 'string', at: 'timestamp' }, keyColumns: ['user'],
 *   outputSchema: { user: 'string', clicks: 'int' }, timeMode: 'processingTime' });
 * t.test('u1', [{ at: 1000 }]);
 * t.advanceProcessingTime(60_000);
 * t.fireTimers(); // the session's row
 */
export class TwsTester<K = unknown, I = Record<string, unknown>, O = Record<string, unknown>> {
  /** The partition the tester drives (for tests that check tables, deltas and snapshots). */
  readonly partition: TransformWithStatePartition;
  /** The metrics of the last batch, or null before the first. */
  lastMetrics: PartitionMetrics | null = null;
  private readonly inputSchema: Schema;
  private readonly outputSchema: Schema;
  private readonly keyColumns: readonly string[];
  private readonly spec: TransformWithStateSpec;
  private batchId = 0;
  private processingMs: number;
  private watermarkMs = 0;

  constructor(processor: StatefulProcessorClass<K, I, O>, options: TwsTesterOptions) {
    this.inputSchema = schemaOf(options.inputSchema as SchemaSpec);
    this.outputSchema = schemaOf(options.outputSchema as SchemaSpec);
    const names = this.inputSchema.fields.map((f) => f.name);
    this.keyColumns = options.keyColumns ?? [names[0]!];
    const keyOrdinals = this.keyColumns.map((k) => {
      const i = names.indexOf(k);
      if (i < 0) throw new SchemaError(`TwsTester: key column '${k}' is not an input column (${names.join(', ')}).`);
      return i;
    });
    const timeMode = options.timeMode ?? 'none';
    let eventTimeOrdinal: number | null = null;
    if (options.eventTimeColumn !== undefined) {
      eventTimeOrdinal = names.indexOf(options.eventTimeColumn);
      if (eventTimeOrdinal < 0) throw new SchemaError(`TwsTester: eventTimeColumn '${options.eventTimeColumn}' is not an input column (${names.join(', ')}).`);
    }
    this.processingMs = options.startProcessingTimeMs ?? 0;
    this.spec = {
      kind: 'transformWithState',
      inputSchemas: [this.inputSchema],
      keyOrdinals,
      keyNames: [...this.keyColumns],
      outputSchema: this.outputSchema,
      timeMode,
      outputMode: options.outputMode ?? 'append',
      eventTimeOrdinal,
      hasWatermark: timeMode === 'eventTime',
      processor: { localId: registerLocalProcessor(processor) },
      queryId: 'tws-tester',
      runId: 'tws-tester',
    };
    this.partition = new TransformWithStatePartition(this.spec, processor as unknown as StatefulProcessorClass);
  }

  /** The facts of the next batch. */
  private info(): BatchInfo {
    return {
      batchId: this.batchId,
      streaming: true,
      outputMode: this.spec.outputMode,
      lateWatermarkMs: this.watermarkMs,
      evictionWatermarkMs: this.watermarkMs,
      batchTimestampMs: this.processingMs,
    };
  }

  private batch(rows: readonly Record<string, unknown>[]): O[] {
    const info = this.info();
    this.batchId++;
    const p = this.partition;
    if (rows.length > 0) p.absorb(batchFromRows(rows, this.inputSchema), 0, info, 0);
    const { output, metrics } = p.finish(info);
    this.lastMetrics = metrics;
    // The engine takes every table's changes after each batch; so does the tester.
    for (const t of p.tables) p.takeDelta(t.name);
    return output === null ? [] : (rowsFromBatch(output, this.outputSchema) as O[]);
  }

  /**
   * Runs one batch with `rows` for `key` (the key columns are filled in from `key` where a row lacks them) and
   * returns the batch's output rows (timers due at the current clocks fire too).
   */
  test(key: K, rows: readonly Partial<I>[]): O[] {
    const single = this.keyColumns.length === 1;
    const full = rows.map((r) => {
      const o: Record<string, unknown> = { ...(r as Record<string, unknown>) };
      for (const k of this.keyColumns) if (o[k] === undefined) o[k] = single ? key : (key as Record<string, unknown>)[k];
      return o;
    });
    return this.batch(full);
  }

  /** Runs one batch with rows of any keys and returns its output rows. */
  testRows(rows: readonly I[]): O[] {
    return this.batch(rows as readonly Record<string, unknown>[]);
  }

  /** Runs a batch without input (a no-data batch): due timers fire, expired state is removed. */
  fireTimers(): O[] {
    return this.batch([]);
  }

  /** Sets the watermark of the next batches (late filter and event-time timers). */
  setWatermark(ms: number): void {
    this.watermarkMs = ms;
  }

  /** Sets the processing time (batch timestamp) of the next batches. */
  setProcessingTime(ms: number): void {
    this.processingMs = ms;
  }

  /** Moves the processing time forward by `ms`. */
  advanceProcessingTime(ms: number): void {
    this.processingMs += ms;
  }

  /** The current batch timestamp. */
  get processingTimeMs(): number {
    return this.processingMs;
  }

  private variable<T>(name: string, cls: abstract new (...a: never[]) => T, kind: string): T {
    const v = this.partition.variable(name);
    if (!(v instanceof cls)) {
      throw new SchemaError(`TwsTester: the processor has no ${kind} state named '${name}'${v ? ` ('${name}' is ${v.kind} state)` : ''}.`);
    }
    this.partition.ctx.nowMs = this.processingMs;
    return v;
  }

  /** Value state `name` of `key` as the processor would read it now (undefined when absent or expired). */
  peekValueState<V>(name: string, key: K): V | undefined {
    return this.variable(name, ValueVar, 'value').peek(this.partition.keyIdOf(key)) as V | undefined;
  }

  /** Sets value state `name` of `key` (its TTL counts from the current processing time). */
  setValueState<V>(name: string, key: K, value: V): void {
    this.variable(name, ValueVar, 'value').set(this.partition.keyIdOf(key), value);
  }

  /** List state `name` of `key` (unexpired elements). */
  peekListState<V>(name: string, key: K): V[] {
    return this.variable(name, ListVar, 'list').peek(this.partition.keyIdOf(key)) as V[];
  }

  /** Map state `name` of `key` (unexpired entries). */
  peekMapState<MK, V>(name: string, key: K): Map<MK, V> {
    return new Map(this.variable(name, MapVar, 'map').peek(this.partition.keyIdOf(key)) as [MK, V][]);
  }

  /** The timers of `key`, ascending. */
  listTimers(key: K): number[] {
    return this.partition.timersOf(this.partition.keyIdOf(key));
  }
}
