/**
 * The public API of arbitrary keyed state: `groupByKey(…).transformWithState(Processor, options)`, Spark 4's names in
 * camelCase. A processor keeps named state per key (value, list and map state, each with an optional TTL), registers
 * timers, and returns or yields output rows; the engine checkpoints its state and timers with every batch, so it is
 * exactly-once like every other operator.
 *
 * @example
 * class FailedLoginDetector extends StatefulProcessor<string, Login, Alert> {
 *   private fails!: ValueState<number>;
 *   init(handle: StatefulProcessorHandle) { this.fails = handle.getValueState<number>('fails', 'int', { ttl: '1 hour' }); }
 *   *handleInputRows(user: string, rows: Iterable<Login>) {
 *     for (const r of rows) {
 *       if (r.success) { this.fails.clear(); continue; }
 *       const n = (this.fails.get() ?? 0) + 1;
 *       this.fails.update(n);
 *       if (n >= 3) { yield { user, reason: '3 failed logins', at: r.ts }; this.fails.clear(); }
 *     }
 *   }
 * }
 *
 * @module
 */
import type { DataType, Schema, SchemaSpec, TypeName } from '../types/data-type.js';

/** How a processor's timers and TTL count time (Spark's `TimeMode`). */
export type TimeMode = 'none' | 'processingTime' | 'eventTime';

/** A state variable's type: a sluice type name (`'int'`, `'string'`, `'timestamp'`, …), a data type, or a struct's fields. */
export type StateType = TypeName | DataType | SchemaSpec;

/** Options of a state variable. `ttl`: a duration (`'1 hour'`) or milliseconds; absent or 0: no TTL. */
export interface StateOptions {
  readonly ttl?: string | number;
}

/** One value per key. */
export interface ValueState<V> {
  exists(): boolean;
  /** The value, or undefined when there is none (or it expired). */
  get(): V | undefined;
  update(value: V): void;
  clear(): void;
}

/** A list of values per key (TTL per element). */
export interface ListState<V> {
  exists(): boolean;
  get(): Iterable<V>;
  put(values: readonly V[]): void;
  appendValue(value: V): void;
  appendList(values: readonly V[]): void;
  clear(): void;
}

/** A map per key (TTL per map key). */
export interface MapState<K, V> {
  exists(): boolean;
  getValue(key: K): V | undefined;
  containsKey(key: K): boolean;
  updateValue(key: K, value: V): void;
  iterator(): Iterable<[K, V]>;
  keys(): Iterable<K>;
  values(): Iterable<V>;
  removeKey(key: K): void;
  clear(): void;
}

/** The query a processor runs in. */
export interface QueryInfo {
  getQueryId(): string;
  getRunId(): string;
  getBatchId(): number;
}

/** What a processor reaches its state and timers through (passed to `init`). */
export interface StatefulProcessorHandle {
  getValueState<V>(name: string, type: StateType, options?: StateOptions): ValueState<V>;
  getListState<V>(name: string, type: StateType, options?: StateOptions): ListState<V>;
  getMapState<K, V>(name: string, keyType: StateType, valueType: StateType, options?: StateOptions): MapState<K, V>;
  /** Registers a timer for the current key at `expiryMs` (processing time or event time, per the time mode). */
  registerTimer(expiryMs: number): void;
  deleteTimer(expiryMs: number): void;
  /** The current key's timers, ascending. */
  listTimers(): Iterable<number>;
  getQueryInfo(): QueryInfo;
}

/** The batch's clocks, fixed for the whole batch; −1 where undefined. */
export interface TimerValues {
  getCurrentProcessingTimeInMs(): number;
  getCurrentWatermarkInMs(): number;
}

/** The timer that fired. */
export interface ExpiredTimerInfo {
  getExpiryTimeInMs(): number;
}

/** Rows a handler gives back: returned as an array or any iterable, or yielded (a generator). */
export type OutputRows<O> = Iterable<O> | void;

/**
 * A keyed stateful processor. `K` is the key (the grouping column's value, or `{ col: value }` for several),
 * `I` an input row (a plain object shaped like `collect()`'s rows), `O` an output row matching `outputSchema`.
 */
export abstract class StatefulProcessor<K = unknown, I = Record<string, unknown>, O = Record<string, unknown>> {
  /** Creates the state variables (only here). */
  abstract init(handle: StatefulProcessorHandle): void;
  /** Once per batch for each key with new rows. */
  abstract handleInputRows(key: K, rows: Iterable<I>, timerValues: TimerValues): OutputRows<O>;
  /** Once per due timer, after the batch's input. */
  handleExpiredTimer?(key: K, timerValues: TimerValues, expiredTimerInfo: ExpiredTimerInfo): OutputRows<O>;
  /** Batch 0 only: once per row of the `initialState` DataFrame. */
  handleInitialState?(key: K, initialStateRow: Record<string, unknown>, timerValues: TimerValues): OutputRows<O>;
  /** At the end of every batch. */
  close?(): void;
}

/** A processor class (constructed with no arguments). */
export type StatefulProcessorClass<K = unknown, I = Record<string, unknown>, O = Record<string, unknown>> = new () => StatefulProcessor<K, I, O>;

/**
 * A processor named by its module, so that worker threads (and the CLI) can load it: `module` is a URL or path,
 * `export` the exported class's name (default: `default`).
 *
 * @example
 * { module: new URL('./detector.ts', import.meta.url).href, export: 'FailedLoginDetector' }
 */
export interface ProcessorModuleRef {
  readonly module: string;
  readonly export?: string;
}

/** Options of `transformWithState`. */
export interface TransformWithStateOptions {
  readonly outputSchema: SchemaSpec | Schema;
  /** Default: `'none'`. */
  readonly timeMode?: TimeMode;
  /** The processor's output mode (`'append'` or `'update'`); default: the query's. */
  readonly outputMode?: 'append' | 'update';
  /** The output column that is the event time of downstream stateful operators (implies `eventTime`). */
  readonly eventTimeColumnName?: string;
  /** A grouped batch DataFrame read once, in batch 0, into `handleInitialState`. */
  readonly initialState?: unknown;
  /** Where workers load the processor from when it is passed as a class (see `ProcessorModuleRef`). */
  readonly module?: ProcessorModuleRef;
}
