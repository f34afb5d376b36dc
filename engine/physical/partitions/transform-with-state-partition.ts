/**
 * One partition of `transformWithState`: runs a user's `StatefulProcessor` over the rows of its keys, with value,
 * list and map state, timers and TTL kept per key and written as named state tables (layouts in `tws-state.ts`).
 *
 * Order within a batch (Spark's, SEMANTICS.md §10): `absorb` drops late rows (event-time mode only) and groups the
 * rest by key, keeping their arrival order within a key; `finish` then calls, in this order,
 * 1. `handleInitialState` once per initial-state row (input 1; the runtime sends it in batch 0 only),
 * 2. `handleInputRows(key, rows, timerValues)` once per key with new rows, keys in the order they first arrived,
 * 3. `handleExpiredTimer` for every due timer of every key, ascending by expiry (ties by key id); the timer is removed
 *    before its handler runs, so the handler may register it again; timers registered while input was handled fire
 *    in the same batch when already due; timers registered while timers fire wait for the next batch (a handler
 *    re-registering a due time cannot loop),
 * 4. TTL cleanup (values whose expiry ≤ the batch timestamp are removed and counted),
 * 5. `close()`.
 * Rows from input handlers come before rows from timer handlers in the batch's output.
 *
 * The processor is built and `init` runs once, when the partition is built (the state variables it creates decide
 * the tables); the same instance then serves every batch of this partition, and `close()` runs at the end of each.
 *
 * TTL departs from Spark: Spark allows it only in `processingTime` mode; here it is allowed in `eventTime` mode
 * too, still counting the batch timestamp (processing time). `none` refuses it, as Spark.
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import { threadId } from 'node:worker_threads';
import type {
  ExpiredTimerInfo,
  ListState,
  MapState,
  QueryInfo,
  StatefulProcessor,
  StatefulProcessorClass,
  StatefulProcessorHandle,
  StateOptions,
  StateType,
  TimeMode,
  TimerValues,
  ValueState,
} from '../../api/stateful-processor.js';
import { vecFromData, windowEnds, type NumVec, type Vec } from '../../kernels/vec.js';
import { parseDuration } from '../../types/duration.js';
import { typeToString, type Field, type Schema } from '../../types/data-type.js';
import { batchFromColumns, ColumnBuilder, columnVec, valueAt } from '../../types/values.js';
import { defineOperatorKind, type BatchInfo, type KeyedOperator, type KeyedOperatorSpec, type PartitionMetrics, type StateTable } from './keyed-operator.js';
import { TimeHeap } from './tws-heap.js';
import { keyIndexOf, readerOf, type KeyIndex, type Reader } from './tws-keys.js';
import { importUserModule, moduleUrl } from '../../workers/load-module.js';
import { registerWorkerError } from '../../workers/pool.js';
import {
  InvalidHandleStateError,
  InvalidTimeModeError,
  ListVar,
  MapVar,
  StateValueError,
  StateVar,
  StateVariableKindChangedError,
  stateDataType,
  tableKind,
  TimerVar,
  ValueVar,
  type Counters,
  type StateContext,
} from './tws-state.js';

export { InvalidHandleStateError, InvalidTimeModeError, StateValueError, StateVariableKindChangedError } from './tws-state.js';

/**
 * Where the partition gets its processor class: a module (loadable in any thread; `export` defaults to `default`) or
 * this thread's local registry.
 */
export type ProcessorSource = { readonly module: string; readonly export?: string } | { readonly localId: string };

/** How a `transformWithState` partition is set up (plain data: it crosses to worker threads). */
export interface TransformWithStateSpec extends KeyedOperatorSpec {
  readonly kind: 'transformWithState';
  /** Input columns of the grouping key, and their names (the state tables' key columns). */
  readonly keyOrdinals: readonly number[];
  readonly keyNames: readonly string[];
  readonly outputSchema: Schema;
  readonly timeMode: TimeMode;
  readonly outputMode: 'append' | 'update';
  /** The input column whose time decides lateness in `eventTime` mode (null: no row is late). */
  readonly eventTimeOrdinal: number | null;
  /** Whether the input has a watermark (else `getCurrentWatermarkInMs()` reads −1). Default: `timeMode === 'eventTime'`. */
  readonly hasWatermark?: boolean;
  readonly processor: ProcessorSource;
  /** The query's ids for `getQueryInfo()` (a batch's `queryId`/`runId` in its `BatchInfo` take precedence). */
  readonly queryId: string;
  readonly runId: string;
  /** The key columns of input 1, the initial state (`inputSchemas[1]`), when there is one. */
  readonly initialStateKeyOrdinals?: readonly number[] | null;
}

/**
 * The processor class cannot be built here: a class registered on another thread, or a module without the export.
 * Pass `module: { module: new URL('./file.ts', import.meta.url).href, export: 'ClassName' }` in the options.
 */
export class ProcessorNotLoadableError extends Error {
  override readonly name = 'ProcessorNotLoadableError';
}

/**
 * A processor's own code threw. Names the handler, the key and the batch; the original error is `cause`. Spark:
 * TRANSFORM_WITH_STATE_USER_FUNCTION_ERROR.
 */
export class TransformWithStateUserError extends Error {
  override readonly name = 'TransformWithStateUserError';
  constructor(
    readonly handler: string,
    readonly key: string | null,
    readonly batchId: number | null,
    cause: unknown,
  ) {
    const msg = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(
      `TRANSFORM_WITH_STATE_USER_FUNCTION_ERROR: ${handler}` +
        `${key === null ? '' : ` for key ${key}`}${batchId === null ? '' : ` in batch ${batchId}`} threw: ${msg}`,
      { cause },
    );
  }

  /**
   * The error again from its message (it crossed from a worker thread, where its handler, key and batch were known
   * but only the message travels: those fields read null, the message still names them).
   *
   * @example
   * TransformWithStateUserError.fromMessage(e.message) instanceof TransformWithStateUserError; // true
   */
  static fromMessage(message: string): TransformWithStateUserError {
    const e = new TransformWithStateUserError('', null, null, undefined);
    e.message = message;
    return e;
  }
}

/** An output row that does not match `outputSchema` (names the column, the key and the batch). */
export class TransformWithStateOutputError extends Error {
  override readonly name = 'TransformWithStateOutputError';
}

/** A state variable's options that cannot be honoured (a TTL that is negative or not a duration, a bad name). */
export class StateVariableOptionError extends Error {
  override readonly name = 'StateVariableOptionError';
}

// The processor's errors keep their class when they come from a worker thread, so a caller's `instanceof` works
// wherever the operator ran.
registerWorkerError('TransformWithStateUserError', (m) => TransformWithStateUserError.fromMessage(m));
registerWorkerError('TransformWithStateOutputError', (m) => new TransformWithStateOutputError(m));
registerWorkerError('StateVariableOptionError', (m) => new StateVariableOptionError(m));
registerWorkerError('InvalidHandleStateError', (m) => new InvalidHandleStateError(m));
registerWorkerError('InvalidTimeModeError', (m) => new InvalidTimeModeError(m));
registerWorkerError('StateValueError', (m) => new StateValueError(m));
registerWorkerError('StateVariableKindChangedError', (m) => new StateVariableKindChangedError(m));

const localClasses = new Map<string, StatefulProcessorClass>();
const localIds = new WeakMap<StatefulProcessorClass, string>();
let localSeq = 0;

/**
 * Registers a processor class in this thread's registry and returns its id for a spec's `processor: { localId }`.
 * Only this thread can build it: on a worker thread `create` throws `ProcessorNotLoadableError` (the runtime keeps
 * such operators on the calling thread). Registering a class again returns the same id.
 *
 * @example
 * const spec = { …, processor: { localId: registerLocalProcessor(FailedLoginDetector) } };
 */
export function registerLocalProcessor<K, I, O>(cls: StatefulProcessorClass<K, I, O>): string {
  const c = cls as unknown as StatefulProcessorClass;
  let id = localIds.get(c);
  if (id === undefined) {
    id = `local:${process.pid}:${threadId}:${++localSeq}:${c.name || 'anonymous'}`;
    localIds.set(c, id);
    localClasses.set(id, c);
  }
  return id;
}

function isProcessorClass(x: unknown): x is StatefulProcessorClass {
  if (typeof x !== 'function') return false;
  const p = (x as { prototype?: Record<string, unknown> }).prototype;
  return p !== undefined && typeof p.init === 'function' && typeof p.handleInputRows === 'function';
}

/**
 * The processor class a spec names: from this thread's registry, or imported from its module.
 *
 * @example
 * const cls = await loadProcessorClass({ module: new URL('./detector.js', import.meta.url).href, export: 'Detector' });
 */
export async function loadProcessorClass(src: ProcessorSource): Promise<StatefulProcessorClass> {
  if ('localId' in src) return localProcessorClass(src.localId);
  const name = src.export ?? 'default';
  let mod: Record<string, unknown>;
  try {
    mod = await importUserModule(moduleUrl(src.module));
  } catch (e) {
    throw new ProcessorNotLoadableError(
      `The processor module '${src.module}' cannot be loaded (${e instanceof Error ? e.message : String(e)}). Pass an absolute file URL, ` +
        `e.g. module: { module: new URL('./detector.ts', import.meta.url).href, export: '${name}' }.`,
      { cause: e },
    );
  }
  const cls = mod[name];
  if (!isProcessorClass(cls)) {
    throw new ProcessorNotLoadableError(
      `The module '${src.module}' ${cls === undefined ? `has no export '${name}'` : `exports '${name}', but it is not a StatefulProcessor class (init and handleInputRows methods)`}` +
        ` (its exports: ${Object.keys(mod).join(', ') || 'none'}). Name the exported class of your processor.`,
    );
  }
  return cls;
}

function localProcessorClass(id: string): StatefulProcessorClass {
  const cls = localClasses.get(id);
  if (cls === undefined) {
    throw new ProcessorNotLoadableError(
      `The processor class ${id.split(':').pop()} was passed as a class, which only the thread that started the query can build; ` +
        `this is another thread (worker ${threadId}). Pass module: { module: new URL('./your-file.ts', import.meta.url).href, ` +
        `export: '${id.split(':').pop()}' } in the transformWithState options so that worker threads can import it.`,
    );
  }
  return cls;
}

class Timers implements TimerValues {
  constructor(
    private readonly processingMs: number,
    private readonly watermarkMs: number,
  ) {}
  getCurrentProcessingTimeInMs(): number {
    return this.processingMs;
  }
  getCurrentWatermarkInMs(): number {
    return this.watermarkMs;
  }
}

class Expired implements ExpiredTimerInfo {
  constructor(private readonly ms: number) {}
  getExpiryTimeInMs(): number {
    return this.ms;
  }
}

/** Builds one input row from the chunk's column readers, its row number and its key's value. */
type RowMaker = (readers: readonly (Reader | null)[], r: number, key: unknown) => Record<string, unknown>;

/**
 * The row maker of an input schema: a function compiled once per partition that builds a row as one object literal
 * (every row of the schema gets the same hidden class, its properties stored in the object) — key columns from the
 * key's value, the others from the chunk's readers. A column named `__proto__` takes the generic path (assigned as
 * before, not defined by a literal).
 */
function rowMakerOf(schema: Schema, keyOrdinals: readonly number[], keyFields: readonly Field[]): RowMaker {
  const names = schema.fields.map((f) => f.name);
  const keyPos = schema.fields.map((_, c) => keyOrdinals.indexOf(c));
  const single = keyFields.length === 1;
  if (names.includes('__proto__') || keyFields.some((f) => f.name === '__proto__')) {
    return (readers, r, key) => {
      const o: Record<string, unknown> = {};
      for (let c = 0; c < names.length; c++) {
        const rd = readers[c]!;
        const v = rd !== null ? rd(r) : single ? key : (key as Record<string, unknown>)[keyFields[keyPos[c]!]!.name];
        o[names[c]!] = v;
      }
      return o;
    };
  }
  const props = names.map((n, c) => {
    const kp = keyPos[c]!;
    const v = kp < 0 ? `R[${c}](r)` : single ? 'key' : `key[${JSON.stringify(keyFields[kp]!.name)}]`;
    return `${JSON.stringify(n)}: ${v}`;
  });
  return new Function('R', 'r', 'key', `return { ${props.join(', ')} };`) as RowMaker;
}

/**
 * The rows of one absorbed chunk, made only when their key is handled (shaped like `collect()`'s rows: key columns
 * from the key's value, decoded once per key; the other columns read from the chunk's vectors).
 */
class RowSource {
  private readonly readers: (Reader | null)[];

  constructor(
    batch: RecordBatch,
    schema: Schema,
    keyOrdinals: readonly number[],
    private readonly maker: RowMaker,
  ) {
    this.readers = schema.fields.map((_, c) => (keyOrdinals.includes(c) ? null : readerOf(columnVec(batch, schema, c))));
  }

  /** Row `r` of the chunk, whose key is `key` (the key's user value). */
  make(r: number, key: unknown): Record<string, unknown> {
    return this.maker(this.readers, r, key);
  }
}

function grow(a: Int32Array, cap: number, used: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(cap);
  b.set(a.subarray(0, used));
  return b;
}

/** The public handle a processor's `init` gets, and the state operations behind it. */
class Handle implements StatefulProcessorHandle {
  constructor(private readonly p: TransformWithStatePartition) {}
  getValueState<V>(name: string, type: StateType, options?: StateOptions): ValueState<V> {
    return this.p.declare('value', name, type, null, options) as ValueVar<V>;
  }
  getListState<V>(name: string, type: StateType, options?: StateOptions): ListState<V> {
    return this.p.declare('list', name, type, null, options) as ListVar<V>;
  }
  getMapState<K, V>(name: string, keyType: StateType, valueType: StateType, options?: StateOptions): MapState<K, V> {
    return this.p.declare('map', name, valueType, keyType, options) as MapVar<K, V>;
  }
  registerTimer(expiryMs: number): void {
    this.p.registerTimer(expiryMs);
  }
  deleteTimer(expiryMs: number): void {
    this.p.deleteTimer(expiryMs);
  }
  listTimers(): Iterable<number> {
    return this.p.listTimers();
  }
  getQueryInfo(): QueryInfo {
    const p = this.p;
    return { getQueryId: () => p.queryId, getRunId: () => p.runId, getBatchId: () => p.ctx.batchId };
  }
}

/** Errors of the engine's own checks, which pass through a handler unwrapped. */
function isEngineError(e: unknown): boolean {
  return (
    e instanceof InvalidHandleStateError ||
    e instanceof InvalidTimeModeError ||
    e instanceof StateValueError ||
    e instanceof StateVariableKindChangedError ||
    e instanceof TransformWithStateOutputError ||
    e instanceof StateVariableOptionError
  );
}

const TIMERS = '$timers';
/**
 * Keys decoded at a time while input is handled: a batch's key values are made a chunk at a time, so that they die
 * young with their rows instead of all surviving (and being copied by) the collections of a long batch.
 */
const KEY_CHUNK = 1024;
/** Rough bytes of one stored state row beyond its key (objects, array slots). */
const ROW_BYTES = 64;

/**
 * One partition of `transformWithState`. Build it with `createTransformWithStatePartition(spec)` (or the registered
 * operator kind); the runtime then calls `absorb` for each chunk of the batch's rows, `finish` once, and takes each
 * table's delta.
 *
 * @example
 * const p = await createTransformWithStatePartition(spec);
 * p.absorb(batch, 0, info, 0);
 * const { output, metrics } = p.finish(info);
 * for (const t of p.tables) store(t.name, p.takeDelta(t.name));
 */
export class TransformWithStatePartition implements KeyedOperator {
  readonly tables: StateTable[] = [];
  readonly outputSchema: Schema;
  /** The query's id and run id (`getQueryInfo()`): the spec's, or the batch's when it carries them. */
  queryId: string;
  runId: string;
  /** Batch-level facts the state variables read. */
  readonly ctx: StateContext;
  private readonly proc: StatefulProcessor<unknown, unknown, unknown>;
  private readonly handle: Handle;
  private readonly vars: StateVar[] = [];
  private readonly byName = new Map<string, StateVar>();
  private readonly timers: TimerVar | null;
  private readonly timerHeap = new TimeHeap();
  private readonly keyFields: Field[];
  private readonly inputSchema: Schema;
  private readonly counters: Counters = { updated: 0, removed: 0, ttlRemoved: 0 };

  /** Keys ↔ dense key ids (the user's value of a key is decoded from it when needed, not kept per key). */
  private keys: KeyIndex;

  // The batch in progress.
  private open = false;
  private info: BatchInfo | null = null;
  /** The batch's absorbed chunks, and per pending row its key id, row and chunk. */
  private chunks: RowSource[] = [];
  private pendGids = new Int32Array(1024);
  private pendRow = new Int32Array(1024);
  private pendChunk = new Int32Array(1024);
  private pendN = 0;
  private initRows: unknown[] = [];
  private initGids: number[] = [];
  private late = 0;
  private builders: ColumnBuilder[] = [];
  private outRows = 0;
  private registered = 0;
  private deleted = 0;
  private expiredTimers = 0;
  /** While timers fire: timers registered now wait for the next batch. */
  private firing = false;
  private deferred: number[] = [];
  private scratch = new Int32Array(1024);
  /** Keys alive at the last check, for deciding when to forget keys with no state. */
  private liveAtCheck = 0;
  private readonly outNames: Set<string>;
  private readonly rowMaker: RowMaker;

  constructor(
    readonly spec: TransformWithStateSpec,
    cls: StatefulProcessorClass,
  ) {
    this.inputSchema = spec.inputSchemas[0]!;
    this.queryId = spec.queryId;
    this.runId = spec.runId;
    this.keyFields = spec.keyOrdinals.map((o, i) => ({ ...this.inputSchema.fields[o]!, name: spec.keyNames[i] ?? this.inputSchema.fields[o]!.name }));
    this.outputSchema = spec.outputSchema;
    this.outNames = new Set(spec.outputSchema.fields.map((f) => f.name));
    this.keys = keyIndexOf(this.keyFields);
    this.rowMaker = rowMakerOf(this.inputSchema, spec.keyOrdinals, this.keyFields);
    const self = this;
    this.ctx = {
      gid: -1,
      nowMs: 0,
      batchId: -1,
      phase: 'init',
      counters: this.counters,
      ttlHeap: new TimeHeap(),
      describeKey: (g) => self.describeKey(g),
    };
    this.handle = new Handle(this);
    try {
      this.proc = new cls() as StatefulProcessor<unknown, unknown, unknown>;
      this.proc.init(this.handle);
    } catch (e) {
      if (isEngineError(e)) throw e;
      throw new TransformWithStateUserError(`${cls.name || 'processor'}.init`, null, null, e);
    }
    this.ctx.phase = 'run';
    if (spec.timeMode !== 'none') {
      const t: StateTable = { name: TIMERS, schema: TimerVar.schema(this.keyFields), keyCount: this.keyFields.length + 1, partitionKeyColumns: this.keyColumns(), ttlMs: null, role: 'timers' };
      this.timers = new TimerVar(t, this.ctx, this.timerHeap, this.keyFields.map((f) => f.name));
      this.tables.push(t);
    } else {
      this.timers = null;
    }
    this.builders = this.newBuilders();
  }

  private keyColumns(): number[] {
    return this.keyFields.map((_, i) => i);
  }

  private newBuilders(): ColumnBuilder[] {
    return this.outputSchema.fields.map((f) => new ColumnBuilder(f.type, 16));
  }

  /** Creates a state variable (from `init` only). */
  declare(kind: 'value' | 'list' | 'map', name: string, type: StateType, keyType: StateType | null, options?: StateOptions): StateVar {
    if (this.ctx.phase !== 'init') {
      throw new InvalidHandleStateError(
        `STATEFUL_PROCESSOR_CANNOT_PERFORM_OPERATION_WITH_INVALID_HANDLE_STATE: get${kind === 'value' ? 'Value' : kind === 'list' ? 'List' : 'Map'}State('${name}') ` +
          `was called after init(). Create every state variable in init() and keep it in a field of the processor.`,
      );
    }
    if (typeof name !== 'string' || name === '' || name.startsWith('$')) {
      throw new StateVariableOptionError(`A state variable needs a non-empty name not starting with '$' (got ${JSON.stringify(name)}).`);
    }
    const dt = stateDataType(type);
    const kt = keyType === null ? null : stateDataType(keyType);
    let ttlMs: number | null = null;
    if (options?.ttl !== undefined && options.ttl !== 0 && options.ttl !== '') {
      let ms: number;
      try {
        ms = parseDuration(options.ttl, `TTL of state variable '${name}'`);
      } catch (e) {
        throw new StateVariableOptionError(`${(e as Error).message} Write it as '30 minutes' or a number of milliseconds.`, { cause: e });
      }
      if (ms < 0) throw new StateVariableOptionError(`The TTL of state variable '${name}' is negative (${ms} ms). Use a positive duration, or none.`);
      if (ms > 0 && this.spec.timeMode === 'none') {
        throw new InvalidTimeModeError(
          `STATEFUL_PROCESSOR_INCORRECT_TIME_MODE_TO_ASSIGN_TTL: state variable '${name}' has a TTL, which timeMode 'none' does not allow ` +
            `(a TTL counts in processing time). Use timeMode 'processingTime' (or 'eventTime') in the transformWithState options, or drop the TTL.`,
        );
      }
      ttlMs = ms > 0 ? ms : null;
    }
    const old = this.byName.get(name);
    if (old !== undefined) {
      const same =
        old.kind === kind &&
        (old as ValueVar | ListVar | MapVar).ttlMs === ttlMs &&
        typeToString((old as ValueVar).type) === typeToString(dt) &&
        (kt === null || typeToString((old as MapVar).keyType) === typeToString(kt));
      if (same) return old;
      throw new StateVariableKindChangedError(
        `STATE_STORE_INVALID_VARIABLE_TYPE_CHANGE: state variable '${name}' is created twice in init(), as ${old.kind} and as ${kind} ` +
          `state (or with another type or TTL). Give each variable its own name.`,
      );
    }
    const keyNames = this.keyFields.map((f) => f.name);
    const schema =
      kind === 'value' ? ValueVar.schema(this.keyFields, dt, ttlMs !== null) : kind === 'list' ? ListVar.schema(this.keyFields, dt, ttlMs !== null) : MapVar.schema(this.keyFields, kt!, dt, ttlMs !== null);
    const table: StateTable = {
      name,
      schema,
      keyCount: this.keyFields.length + (kind === 'map' ? 1 : 0),
      partitionKeyColumns: this.keyColumns(),
      ttlMs,
      role: kind,
    };
    const v =
      kind === 'value'
        ? new ValueVar(name, table, this.ctx, dt, ttlMs, keyNames)
        : kind === 'list'
          ? new ListVar(name, table, this.ctx, dt, ttlMs, keyNames)
          : new MapVar(name, table, this.ctx, kt!, dt, ttlMs, keyNames);
    v.slot = this.vars.length;
    this.vars.push(v);
    this.byName.set(name, v);
    // Timers stay last: user tables in the order init created them.
    const ti = this.tables.findIndex((t) => t.name === TIMERS);
    if (ti >= 0) this.tables.splice(ti, 0, table);
    else this.tables.push(table);
    return v;
  }

  private timerOp(op: string): number {
    if (this.spec.timeMode === 'none') {
      throw new InvalidTimeModeError(
        `STATEFUL_PROCESSOR_CANNOT_PERFORM_OPERATION_WITH_INVALID_TIME_MODE: ${op}() is not allowed in timeMode 'none'. ` +
          `Use timeMode 'processingTime' or 'eventTime' in the transformWithState options to use timers.`,
      );
    }
    const g = this.ctx.gid;
    if (g < 0 || this.ctx.phase !== 'run') {
      throw new InvalidHandleStateError(
        `STATEFUL_PROCESSOR_CANNOT_PERFORM_OPERATION_WITH_INVALID_HANDLE_STATE: ${op}() was called ${this.ctx.phase === 'init' ? 'in init()' : 'outside a handler'}; ` +
          `timers belong to the key being handled, in handleInputRows, handleExpiredTimer or handleInitialState.`,
      );
    }
    return g;
  }

  private timerTime(op: string, ms: number): number {
    if (typeof ms !== 'number' || !Number.isFinite(ms)) {
      throw new StateValueError(`${op}(${String(ms)}): a timer's time is a finite number of milliseconds (key ${this.describeKey(this.ctx.gid)}, batch ${this.ctx.batchId}).`);
    }
    return Math.floor(ms);
  }

  /** `handle.registerTimer`: a set per key; registering again is a no-op. */
  registerTimer(expiryMs: number): void {
    const g = this.timerOp('registerTimer');
    const t = this.timerTime('registerTimer', expiryMs);
    if (this.timers!.add(g, t, !this.firing)) {
      this.registered++;
      if (this.firing) this.deferred.push(t, g);
    }
  }

  /** `handle.deleteTimer`: deleting a missing timer is a no-op. */
  deleteTimer(expiryMs: number): void {
    const g = this.timerOp('deleteTimer');
    if (this.timers!.remove(g, this.timerTime('deleteTimer', expiryMs))) this.deleted++;
  }

  /** `handle.listTimers`: the current key's timers, ascending. */
  listTimers(): number[] {
    return this.timers!.list(this.timerOp('listTimers'));
  }

  /** The key of id `g` as messages show it. */
  describeKey(g: number): string {
    if (g < 0) return '(none)';
    const k = this.keyValues(Int32Array.of(g))[0];
    try {
      return k instanceof Date ? k.toISOString() : (JSON.stringify(k, (_n, x) => (typeof x === 'bigint' ? `${x}n` : x)) ?? String(k));
    } catch {
      return String(k);
    }
  }

  private begin(info: BatchInfo): void {
    if (this.open) return;
    this.open = true;
    this.info = info;
    if (info.queryId !== undefined) this.queryId = info.queryId;
    if (info.runId !== undefined) this.runId = info.runId;
    this.ctx.batchId = info.batchId;
    this.ctx.nowMs = info.batchTimestampMs;
    this.late = 0;
    this.counters.updated = 0;
    this.counters.removed = 0;
    this.counters.ttlRemoved = 0;
    this.registered = 0;
    this.deleted = 0;
    this.expiredTimers = 0;
  }

  startBatch(info: BatchInfo): void {
    this.begin(info);
  }

  /** Key ids of `m` rows (`sel[i]` or `i`) of key columns `cols`, new keys added. */
  private gidsOf(cols: Vec[], sel: Int32Array | null, m: number): Int32Array {
    return this.keys.ids(cols, sel, m);
  }

  /**
   * The user values of keys (a column value, or `{ col: value }`), decoded from the key index when needed rather
   * than kept per key: the index already holds every key once.
   */
  private keyValues(gids: Int32Array): unknown[] {
    return this.keys.values(gids);
  }

  /** Key columns of key ids (for state rows). */
  private readonly keyVecs = (gids: Int32Array): Vec[] => this.keys.vecs(gids);

  absorb(batch: RecordBatch, _seqBase: number, info: BatchInfo, input: number): void {
    this.begin(info);
    const n = batch.numRows;
    if (n === 0) return;
    if (input === 1) {
      this.absorbInitial(batch);
      return;
    }
    const schema = this.inputSchema;
    let sel: Int32Array | null = null;
    let m = n;
    const et = this.spec.eventTimeOrdinal;
    if (this.spec.timeMode === 'eventTime' && et !== null && info.streaming) {
      // A window column's time is its end (as for the other stateful operators).
      const col = columnVec(batch, schema, et);
      const tv = col.kind === 'struct' ? windowEnds(col) : (col as NumVec);
      const wm = info.lateWatermarkMs;
      const vals = tv.values;
      const valid = tv.valid;
      const keep = new Int32Array(n);
      let k = 0;
      for (let i = 0; i < n; i++) if ((valid !== null && valid[i] === 0) || vals[i]! > wm) keep[k++] = i;
      if (k < n) {
        this.late += n - k;
        sel = keep.subarray(0, k);
        m = k;
        if (m === 0) return;
      }
    }
    const keyCols = this.spec.keyOrdinals.map((o) => columnVec(batch, schema, o));
    const gids = this.gidsOf(keyCols, sel, m);
    // Rows become objects only in `finish`, key by key, so they die young instead of surviving the batch.
    const src = new RowSource(batch, schema, this.spec.keyOrdinals, this.rowMaker);
    const chunk = this.chunks.length;
    this.chunks.push(src);
    const need = this.pendN + m;
    if (this.pendGids.length < need) {
      const cap = Math.max(need, this.pendGids.length * 2);
      this.pendGids = grow(this.pendGids, cap, this.pendN);
      this.pendRow = grow(this.pendRow, cap, this.pendN);
      this.pendChunk = grow(this.pendChunk, cap, this.pendN);
    }
    const pg = this.pendGids;
    const pr = this.pendRow;
    const pc = this.pendChunk;
    let w = this.pendN;
    for (let i = 0; i < m; i++) {
      pg[w] = gids[i]!;
      pr[w] = sel === null ? i : sel[i]!;
      pc[w++] = chunk;
    }
    this.pendN = w;
  }

  private absorbInitial(batch: RecordBatch): void {
    const schema = this.spec.inputSchemas[1];
    const ords = this.spec.initialStateKeyOrdinals;
    if (!schema || !ords) return;
    const gids = this.gidsOf(
      ords.map((o) => columnVec(batch, schema, o)),
      null,
      batch.numRows,
    );
    const names = schema.fields.map((f) => f.name);
    const vecs = schema.fields.map((_, c) => columnVec(batch, schema, c));
    for (let i = 0; i < batch.numRows; i++) {
      const o: Record<string, unknown> = {};
      for (let c = 0; c < names.length; c++) o[names[c]!] = valueAt(vecs[c]!, i);
      this.initRows.push(o);
      this.initGids.push(gids[i]!);
    }
  }

  /**
   * Runs one handler for key `g` with its two other arguments (rows and timer values; timer values and the expired
   * timer; the initial-state row and timer values), collecting its rows; a user error is wrapped, the engine's pass
   * through.
   */
  private run(handler: 'handleInputRows' | 'handleExpiredTimer' | 'handleInitialState', g: number, key: unknown, a: unknown, b: unknown): void {
    const p = this.proc as unknown as Record<string, (k: unknown, x: unknown, y: unknown) => Iterable<unknown> | void>;
    const fn = p[handler];
    if (typeof fn !== 'function') return;
    this.ctx.gid = g;
    try {
      const out = fn.call(this.proc, key, a, b);
      if (out !== undefined && out !== null) {
        if (Array.isArray(out)) for (let i = 0; i < out.length; i++) this.emit(out[i], g, handler);
        else for (const o of out as Iterable<unknown>) this.emit(o, g, handler);
      }
    } catch (e) {
      if (isEngineError(e)) throw e;
      throw new TransformWithStateUserError(`${this.proc.constructor.name}.${handler}`, this.describeKey(g), this.ctx.batchId, e);
    } finally {
      this.ctx.gid = -1;
    }
  }

  private where(handler: string, g: number): string {
    return `(${handler}, key ${this.describeKey(g)}, batch ${this.ctx.batchId})`;
  }

  private emit(o: unknown, g: number, handler: string): void {
    if (typeof o !== 'object' || o === null || Array.isArray(o)) {
      throw new TransformWithStateOutputError(`An output row must be a plain object matching outputSchema, got ${JSON.stringify(o) ?? String(o)} ${this.where(handler, g)}.`);
    }
    const row = o as Record<string, unknown>;
    const fs = this.outputSchema.fields;
    const bs = this.builders;
    for (let c = 0; c < fs.length; c++) {
      const f = fs[c]!;
      const v = row[f.name];
      if ((v === null || v === undefined) && !f.nullable) {
        this.truncate(c);
        throw new TransformWithStateOutputError(`Output column '${f.name}' is not nullable but the row has no value ${this.where(handler, g)}. Set it in every row.`);
      }
      if (!bs[c]!.append(v)) {
        this.truncate(c);
        throw new TransformWithStateOutputError(
          `Output column '${f.name}': ${JSON.stringify(v) ?? String(v)} is not a ${typeToString(f.type)} ${this.where(handler, g)}. Emit values of the outputSchema's types.`,
        );
      }
    }
    for (const k in row) {
      if (!this.outNames.has(k)) {
        this.truncate(fs.length);
        throw new TransformWithStateOutputError(
          `Output row has a column '${k}' that outputSchema does not declare (${[...this.outNames].join(', ')}) ${this.where(handler, g)}. Add it to outputSchema or leave it out.`,
        );
      }
    }
    this.outRows++;
  }

  /** Drops a half-appended output row (the first `c` columns got a value). */
  private truncate(c: number): void {
    for (let i = 0; i < c; i++) this.builders[i]!.truncate(this.outRows);
  }

  finish(info: BatchInfo): { output: RecordBatch | null; metrics: PartitionMetrics } {
    this.begin(info);
    const streaming = info.streaming;
    const watermark = (this.spec.hasWatermark ?? this.spec.timeMode === 'eventTime') && streaming && Number.isFinite(info.evictionWatermarkMs) ? info.evictionWatermarkMs : -1;
    const processing = Number.isFinite(info.batchTimestampMs) ? info.batchTimestampMs : -1;
    const tv = new Timers(processing, watermark);
    const started = performance.now();
    try {
      // 1. Initial state rows (batch 0).
      if (this.initRows.length > 0) {
        const keys = this.keyValues(Int32Array.from(this.initGids));
        for (let i = 0; i < this.initRows.length; i++) this.run('handleInitialState', this.initGids[i]!, keys[i], this.initRows[i], tv);
      }
      this.initRows = [];
      this.initGids = [];
      // 2. Input rows, grouped by key.
      this.handleInput(tv);
      // 3. Due timers across keys, ascending.
      const timerStart = performance.now();
      this.fireTimers(info, tv);
      const timerMs = performance.now() - timerStart;
      // 4. TTL cleanup.
      this.cleanupTtl();
      // 5. close().
      if (typeof this.proc.close === 'function') {
        try {
          this.proc.close();
        } catch (e) {
          if (isEngineError(e)) throw e;
          throw new TransformWithStateUserError(`${this.proc.constructor.name}.close`, null, this.ctx.batchId, e);
        }
      }
      const output = this.outRows === 0 ? null : batchFromColumns(this.outputSchema, this.builders.map((b) => b.finish()), this.outRows);
      this.compactKeys();
      return { output, metrics: this.metrics(timerMs, performance.now() - started) };
    } finally {
      this.chunks = [];
      this.pendN = 0;
      this.builders = this.newBuilders();
      this.outRows = 0;
      this.open = false;
      this.firing = false;
      this.deferred = [];
    }
  }

  private handleInput(tv: Timers): void {
    const n = this.pendN;
    if (n === 0) return;
    const gids = this.pendGids;
    const rowOf = this.pendRow;
    const chunkOf = this.pendChunk;
    const chunks = this.chunks;
    const one = chunks.length === 1 ? chunks[0]! : null;
    if (this.scratch.length < this.keys.size) this.scratch = new Int32Array(Math.max(this.keys.size, this.scratch.length * 2));
    const cnt = this.scratch;
    // The keys in the order they first arrived.
    const first = new Int32Array(n);
    let nk = 0;
    for (let i = 0; i < n; i++) {
      const g = gids[i]!;
      if (cnt[g]++ === 0) first[nk++] = g;
    }
    const order = first.subarray(0, nk);
    if (nk === n) {
      // Every key has one row: arrival order is key order.
      for (let k = 0; k < n; k++) cnt[order[k]!] = 0;
      for (let k0 = 0; k0 < n; k0 += KEY_CHUNK) {
        const keys = this.keyValues(gids.subarray(k0, Math.min(n, k0 + KEY_CHUNK)));
        for (let i = k0; i < k0 + keys.length; i++) {
          const key = keys[i - k0];
          this.run('handleInputRows', gids[i]!, key, [(one ?? chunks[chunkOf[i]!]!).make(rowOf[i]!, key)], tv);
        }
      }
      return;
    }
    let pos = 0;
    for (let k = 0; k < order.length; k++) {
      const g = order[k]!;
      const c = cnt[g]!;
      cnt[g] = pos;
      pos += c;
    }
    const sorted = new Int32Array(n);
    for (let i = 0; i < n; i++) sorted[cnt[gids[i]!]!++] = i;
    let keys: unknown[] = [];
    let start = 0;
    try {
      for (let k = 0; k < order.length; k++) {
        const g = order[k]!;
        if (k % KEY_CHUNK === 0) keys = this.keyValues(order.subarray(k, Math.min(order.length, k + KEY_CHUNK)));
        const key = keys[k % KEY_CHUNK];
        const end = cnt[g]!;
        cnt[g] = 0;
        const rows = new Array<unknown>(end - start);
        for (let j = start; j < end; j++) {
          const i = sorted[j]!;
          rows[j - start] = (one ?? chunks[chunkOf[i]!]!).make(rowOf[i]!, key);
        }
        this.run('handleInputRows', g, key, rows, tv);
        start = end;
      }
    } finally {
      for (let k = 0; k < order.length; k++) cnt[order[k]!] = 0;
    }
  }

  /** The time timers are compared with: the eviction watermark or the batch timestamp. */
  private threshold(info: BatchInfo): number {
    if (this.spec.timeMode === 'eventTime') return info.streaming ? info.evictionWatermarkMs : Number.NEGATIVE_INFINITY;
    if (this.spec.timeMode === 'processingTime') return info.batchTimestampMs;
    return Number.NEGATIVE_INFINITY;
  }

  private fireTimers(info: BatchInfo, tv: Timers): void {
    const timers = this.timers;
    if (timers === null) return;
    const limit = this.threshold(info);
    const heap = this.timerHeap;
    this.firing = true;
    try {
      while (heap.size > 0 && heap.topTime <= limit) {
        const t = heap.pop();
        const g = heap.lastGid;
        if (!timers.remove(g, t)) continue;
        this.expiredTimers++;
        this.run('handleExpiredTimer', g, this.keyValues(Int32Array.of(g))[0], tv, new Expired(t));
      }
    } finally {
      this.firing = false;
      const d = this.deferred;
      for (let i = 0; i < d.length; i += 2) if (timers.has(d[i + 1]!, d[i]!)) heap.push(d[i]!, d[i + 1]!, 0);
      this.deferred = [];
    }
    // Stale entries (deleted timers) are dropped when they outnumber the live ones.
    if (heap.size > 2 * timers.count() + 1024) heap.rebuild((t, g) => timers.has(g, t));
  }

  private cleanupTtl(): void {
    const heap = this.ctx.ttlHeap;
    const now = this.ctx.nowMs;
    while (heap.size > 0 && heap.topTime <= now) {
      const t = heap.pop();
      this.vars[heap.lastSlot]!.expire(heap.lastGid, t);
    }
  }

  /** Earliest current entry of a heap (stale tops popped). */
  private nextOf(heap: TimeHeap, current: (g: number, t: number, slot: number) => boolean): number | null {
    while (heap.size > 0 && !current(heap.topGid, heap.topTime, heap.topSlot)) heap.pop();
    return heap.size > 0 ? heap.topTime : null;
  }

  private metrics(timerMs: number, _totalMs: number): PartitionMetrics {
    let total = 0;
    const custom: Record<string, number> = {
      numValueStateVars: 0,
      numListStateVars: 0,
      numMapStateVars: 0,
      numValueStateWithTTLVars: 0,
      numListStateWithTTLVars: 0,
      numMapStateWithTTLVars: 0,
      numRegisteredTimers: this.registered,
      numDeletedTimers: this.deleted,
      numExpiredTimers: this.expiredTimers,
      numValuesRemovedDueToTTLExpiry: this.counters.ttlRemoved,
      timerProcessingTimeMs: Math.round(timerMs),
    };
    for (const v of this.vars) {
      total += v.count();
      const ttl = (v as ValueVar).ttlMs !== null;
      const k = v.kind === 'value' ? 'Value' : v.kind === 'list' ? 'List' : 'Map';
      custom[`num${k}StateVars`]!++;
      if (ttl) custom[`num${k}StateWithTTLVars`]!++;
    }
    const timers = this.timers;
    const nextTimer = timers === null ? null : this.nextOf(this.timerHeap, (g, t) => timers.has(g, t));
    const nextExpiry = this.nextOf(this.ctx.ttlHeap, (g, t, s) => this.vars[s]!.scheduled(g, t));
    const eventTimers = this.spec.timeMode === 'eventTime';
    let nextDue = nextExpiry;
    if (!eventTimers && nextTimer !== null) nextDue = nextDue === null ? nextTimer : Math.min(nextDue, nextTimer);
    return {
      numRowsTotal: total,
      numRowsUpdated: this.counters.updated,
      numRowsRemoved: this.counters.removed,
      numRowsDroppedByWatermark: this.late,
      memoryUsedBytes: this.keys.memoryBytes + total * ROW_BYTES + (timers?.count() ?? 0) * 24 + this.timerHeap.memoryBytes + this.ctx.ttlHeap.memoryBytes,
      custom,
      nextDueMs: nextDue,
      nextWatermarkDueMs: eventTimers ? nextTimer : null,
    };
  }

  /**
   * Forgets keys with nothing in any table once they are a quarter of the key index or more (rebuilding the index:
   * its cost is paid for by the quarter forgotten). Keys emptied in this batch are kept until their delta is taken
   * (a later batch forgets them). The index is scanned when it doubled since the last scan or when the rows held
   * show that a quarter of the keys or more hold nothing.
   */
  private compactKeys(): void {
    const size = this.keys.size;
    if (size < 4096) return;
    const all: StateVar[] = this.timers ? [...this.vars, this.timers] : this.vars;
    // Every key holding state holds at least a row: the rows held bound the keys that do.
    let rows = 0;
    for (const v of all) rows += v.count();
    if (size < 2 * this.liveAtCheck && rows * 4 > size * 3) return;
    const keep = new Uint8Array(size);
    let live = 0;
    for (let g = 0; g < size; g++) {
      for (const v of all) {
        if (v.holds(g) || v.isDirty(g)) {
          keep[g] = 1;
          live++;
          break;
        }
      }
    }
    this.liveAtCheck = live;
    if (live * 4 > size * 3) return;
    const keptIds: number[] = [];
    for (let g = 0; g < size; g++) if (keep[g]) keptIds.push(g);
    const kept = Int32Array.from(keptIds);
    const cols = this.keyVecs(kept);
    // A new index: the old string dictionaries only grow.
    this.keys = keyIndexOf(this.keyFields);
    const ids = this.keys.ids(cols, null, kept.length);
    const remap = new Int32Array(size).fill(-1);
    for (let i = 0; i < kept.length; i++) remap[kept[i]!] = ids[i]!;
    for (const v of all) v.remap(remap);
    this.timerHeap.rebuild(() => true, remap);
    this.ctx.ttlHeap.rebuild(() => true, remap);
    this.scratch = new Int32Array(Math.max(1024, kept.length));
  }

  /** The id of a key given as the processor sees it (a column value, or `{ col: value }`), added when new (test kit). */
  keyIdOf(key: unknown): number {
    const single = this.keyFields.length === 1;
    const cols = this.keyFields.map((f) => {
      const b = new ColumnBuilder(f.type, 1);
      const v = single ? key : (key as Record<string, unknown> | null)?.[f.name];
      if (!b.append(v)) throw new StateValueError(`Key ${JSON.stringify(key)}: ${JSON.stringify(v)} is not a ${typeToString(f.type)} for key column '${f.name}'.`);
      return vecFromData(b.finish(), f.type);
    });
    return this.gidsOf(cols, null, 1)[0]!;
  }

  /** The state variable `name` (test kit). */
  variable(name: string): StateVar | undefined {
    return this.byName.get(name);
  }

  /** The timers of key id `g`, ascending (test kit). */
  timersOf(g: number): number[] {
    return this.timers?.list(g) ?? [];
  }

  /** Number of keys the partition's key index holds (with or without state). */
  get keyCount(): number {
    return this.keys.size;
  }

  takeDelta(table: string): RecordBatch | null {
    const v = table === TIMERS ? this.timers : this.byName.get(table);
    return v ? v.takeDelta(this.keyVecs) : null;
  }

  snapshot(table: string): RecordBatch | null {
    const v = table === TIMERS ? this.timers : this.byName.get(table);
    return v ? v.snapshot(this.keyVecs, this.keys.size) : null;
  }

  /**
   * Rebuilds every table from its rows. A table of the checkpoint that `init` no longer creates is not read (its
   * rows stay in the checkpoint's earlier versions only); a variable whose table holds another kind is refused
   * (`StateVariableKindChangedError`).
   */
  restore(tables: ReadonlyMap<string, RecordBatch | null>): void {
    this.keys = keyIndexOf(this.keyFields);
    this.timerHeap.clear();
    this.ctx.ttlHeap.clear();
    for (const v of this.vars) v.reset();
    this.timers?.reset();
    this.liveAtCheck = 0;
    const keyNames = this.keyFields.map((f) => f.name);
    for (const t of this.tables) {
      const batch = tables.get(t.name);
      if (!batch || batch.numRows === 0) continue;
      const v = t.name === TIMERS ? this.timers! : this.byName.get(t.name)!;
      const found = tableKind(batch, keyNames);
      if (found !== v.kind) {
        throw new StateVariableKindChangedError(
          `STATE_STORE_INVALID_VARIABLE_TYPE_CHANGE: state variable '${t.name}' is created as ${v.kind} state, but the checkpoint holds ` +
            `${found} state under that name. Keep each variable's kind across restarts, or give the new variable another name.`,
        );
      }
      const keyCols = this.keyFields.map((_, c) => columnVec(batch, t.schema, c));
      const gids = this.gidsOf(keyCols, null, batch.numRows);
      v.restore(batch, gids);
    }
  }
}

/**
 * Builds a partition from its spec: the processor class from its module (imported) or from this thread's registry.
 *
 * @example
 * const p = await createTransformWithStatePartition(spec);
 */
export async function createTransformWithStatePartition(spec: TransformWithStateSpec): Promise<TransformWithStatePartition> {
  return new TransformWithStatePartition(spec, await loadProcessorClass(spec.processor));
}

/**
 * The `transformWithState` operator kind. `create` is synchronous for a locally registered class and imports the
 * module otherwise; only module specs can move to worker threads. Input 1, when the spec has
 * `initialStateKeyOrdinals`, is the initial state (its rows go to `handleInitialState`).
 *
 * @example
 * const p = await operatorKind(spec).create(spec); // spec.kind === 'transformWithState'
 */
export const TRANSFORM_WITH_STATE_KIND = defineOperatorKind<TransformWithStateSpec>({
  kind: 'transformWithState',
  create: (spec) => ('localId' in spec.processor ? new TransformWithStatePartition(spec, localProcessorClass(spec.processor.localId)) : createTransformWithStatePartition(spec)),
  inputKeys: (spec, batch, input) => {
    const schema = spec.inputSchemas[input]!;
    const ords = input === 1 ? (spec.initialStateKeyOrdinals ?? []) : spec.keyOrdinals;
    return ords.map((o) => columnVec(batch, schema, o));
  },
  describeKeys: (spec) => [...spec.keyNames],
  movable: (spec) => 'module' in spec.processor,
  pinnedBecause: () =>
    "the processor class was given without a module reference, which worker threads need: pass module: { module: new URL('./file.ts', import.meta.url).href, export: 'ClassName' } in transformWithState's options",
});
