/**
 * The state variables of one `transformWithState` partition — value, list and map state and the timers — kept in
 * memory by key id (the partition's dense id of a grouping key) and written as named state tables.
 *
 * Table layouts (key columns first, named and typed like the grouping columns, so the state layer partitions the
 * rows by the same hash as the input):
 * - value state `name`: keys, `value`, and `expiresAt` (timestamp) when it has a TTL — one row per key;
 * - list state `name`: keys, `values` (array), and `expiresAt` (array of timestamps, one per element) when it has a
 *   TTL — one row per key, the whole list (a changed list is written whole);
 * - map state `name`: keys, `mapKey`, `value`, and `expiresAt` when it has a TTL — one row per map entry
 *   (`keyCount` = keys + 1);
 * - `$timers` (not in `timeMode: 'none'`): keys, `expiryMs` (long) — one row per timer (`keyCount` = keys + 1).
 * A grouping column already called `value`, `values`, `mapKey`, `expiresAt` or `expiryMs` pushes the state column to
 * `_value`, `__value`, … The column names also tell the kinds apart when a checkpoint is restored.
 *
 * Values are stored as the JS values `collect()` would give back for the variable's type (a write converts and copies
 * them), so what a processor reads is the same before and after a restart.
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import type { StateType } from '../../api/stateful-processor.js';
import { field, fromArrowSchema, parseType, schemaOf, structType, typeToString, type DataType, type Field, type Schema } from '../../types/data-type.js';
import { batchFromVecs, columnVec, ColumnBuilder, valueAt } from '../../types/values.js';
import { numVec, vecFromData, type NumVec, type Vec } from '../../kernels/vec.js';
import { deltaSchema, OP_DELETE, OP_PUT } from '../../state/state-store.js';
import type { StateTable } from './keyed-operator.js';
import type { TimeHeap } from './tws-heap.js';

/**
 * A state operation at the wrong moment: creating state outside `init`, or reading, writing or using timers where
 * there is no current key (in `init`, `close`, or outside a handler). Spark:
 * STATEFUL_PROCESSOR_CANNOT_PERFORM_OPERATION_WITH_INVALID_HANDLE_STATE.
 */
export class InvalidHandleStateError extends Error {
  override readonly name = 'InvalidHandleStateError';
}

/**
 * A timer operation in `timeMode: 'none'`. Spark: STATEFUL_PROCESSOR_CANNOT_PERFORM_OPERATION_WITH_INVALID_TIME_MODE.
 */
export class InvalidTimeModeError extends Error {
  override readonly name = 'InvalidTimeModeError';
}

/** A value that does not fit its state variable's type (or is null where a value is required). */
export class StateValueError extends Error {
  override readonly name = 'StateValueError';
}

/**
 * A state variable declared again with another kind or type (in the same `init`, or against the kind its checkpoint
 * table holds). Spark: STATE_STORE_INVALID_VARIABLE_TYPE_CHANGE.
 */
export class StateVariableKindChangedError extends Error {
  override readonly name = 'StateVariableKindChangedError';
}

/** What the state variables need of their partition: the current key, the clock, the counters. */
export interface StateContext {
  /** Id of the key being handled, −1 outside a handler. */
  gid: number;
  /** The batch timestamp: TTL's clock. */
  nowMs: number;
  batchId: number;
  /** `'init'` while `init` runs (state may be created, not used). */
  phase: 'init' | 'run';
  readonly counters: Counters;
  /** TTL expiries (time, key id, variable slot). */
  readonly ttlHeap: TimeHeap;
  /** The key of `gid`, for messages. */
  describeKey(gid: number): string;
}

/** Per-batch counters the variables add to. */
export interface Counters {
  updated: number;
  removed: number;
  ttlRemoved: number;
}

/**
 * The sluice type of a state variable's declared type.
 *
 * @example
 * stateDataType('int'); // 'int'
 * stateDataType({ n: 'int', at: 'timestamp' }); // struct<n: int, at: timestamp>
 */
export function stateDataType(t: StateType): DataType {
  if (typeof t === 'string') return parseType(t);
  if (typeof t === 'object' && t !== null && 'kind' in t && (t.kind === 'struct' || t.kind === 'array')) return t as DataType;
  return structType(schemaOf(t as Record<string, DataType>).fields);
}

/**
 * Converts a JS value to the canonical JS value of `type` (what reading it back from a table gives, a copy), or
 * undefined when it is not of the type.
 *
 * @example
 * normalizerOf('timestamp')(1000); // Date(1970-01-01T00:00:01.000Z)
 * normalizerOf('int')('x'); // undefined
 */
export function normalizerOf(type: DataType): (v: unknown) => unknown {
  const slow = (v: unknown): unknown => {
    const b = new ColumnBuilder(type, 1);
    if (!b.append(v)) return undefined;
    return valueAt(vecFromData(b.finish(), type), 0);
  };
  switch (type) {
    case 'int':
      return (v) => (typeof v === 'number' && (v | 0) === v ? v : slow(v));
    case 'double':
      return (v) => (typeof v === 'number' ? v : slow(v));
    case 'string':
      return (v) => (typeof v === 'string' ? v : slow(v));
    case 'boolean':
      return (v) => (typeof v === 'boolean' ? v : slow(v));
    case 'long':
      return (v) => (typeof v === 'number' && Number.isSafeInteger(v) ? v : slow(v));
    case 'timestamp':
      return (v) => (v instanceof Date && !Number.isNaN(v.getTime()) && Math.abs(v.getTime()) <= 8.64e15 ? new Date(v.getTime()) : slow(v));
    default:
      return slow;
  }
}

/**
 * Copies a stored value of `type` for a reader, so that changing what `get()` returned does not change the state
 * without a write (Spark's reads deserialize a fresh value): null for types whose JS values are immutable.
 *
 * @example
 * copierOf('timestamp')!(d) !== d; // a new Date
 * copierOf('int'); // null
 */
export function copierOf(type: DataType): ((v: unknown) => unknown) | null {
  if (type === 'timestamp') return (v) => new Date((v as Date).getTime());
  if (typeof type === 'string' && type !== 'binary') return null;
  return (v) => structuredClone(v);
}

/**
 * Picks a state column name that no grouping column has.
 *
 * @example
 * freeName('value', ['user', 'value']); // '_value'
 */
export function freeName(base: string, taken: readonly string[]): string {
  let n = base;
  while (taken.includes(n)) n = `_${n}`;
  return n;
}

/** Builds key columns for key ids (the partition's key index). */
export type KeyVecs = (gids: Int32Array) => Vec[];

function vecOf(b: ColumnBuilder, type: DataType): Vec {
  return vecFromData(b.finish(), type);
}

function opVec(ops: number[]): NumVec {
  return numVec('int', Float64Array.from(ops));
}

/**
 * One state variable or the timers: its table, its rows by key id, its delta and snapshot.
 *
 * @example
 * const delta = variable.takeDelta(keyVecs); // `__op`, keys, values of the keys changed since the last call
 */
export abstract class StateVar {
  /** The key ids changed since the last `takeDelta`. */
  protected readonly dirty = new KeyIdSet();
  /** The variable's slot in the TTL heap's entries. */
  slot = -1;

  constructor(
    readonly name: string,
    readonly kind: 'value' | 'list' | 'map' | 'timers',
    readonly table: StateTable,
    protected readonly ctx: StateContext,
  ) {}

  /** User rows held (value and list: one per key, map: one per entry, timers: one per timer). */
  abstract count(): number;
  /** Whether key `g` holds anything (a key with nothing in any variable can be forgotten). */
  abstract holds(g: number): boolean;
  /** Whether key `g` has changes not taken yet. */
  isDirty(g: number): boolean {
    return this.dirty.has(g);
  }
  abstract takeDelta(keys: KeyVecs): RecordBatch | null;
  abstract snapshot(keys: KeyVecs, size: number): RecordBatch | null;
  /** Loads rows of this variable's table; `gids[i]` is row `i`'s key id. */
  abstract restore(batch: RecordBatch, gids: Int32Array): void;
  /** A TTL heap entry at `time` for key `g` fell due: drop what expired, schedule what is left. */
  expire(_g: number, _time: number): void {}
  /** Whether the TTL heap's entry (`time`, `g`) is current (else it is stale and skipped). */
  scheduled(_g: number, _time: number): boolean {
    return false;
  }
  /** Key ids renumbered (−1: the key is gone; it held nothing). */
  abstract remap(remap: Int32Array): void;
  /** Forgets everything. */
  abstract reset(): void;

  /** Throws unless a handler is running for a key. */
  protected need(op: string): number {
    const g = this.ctx.gid;
    if (g < 0 || this.ctx.phase !== 'run') {
      throw new InvalidHandleStateError(
        `STATEFUL_PROCESSOR_CANNOT_PERFORM_OPERATION_WITH_INVALID_HANDLE_STATE: ${this.kindName()} '${this.name}'.${op}() ` +
          `was called ${this.ctx.phase === 'init' ? 'in init()' : 'outside a handler'}. State is read and written only in ` +
          `handleInputRows, handleExpiredTimer and handleInitialState, for the key being handled; init() only creates it.`,
      );
    }
    return g;
  }

  protected kindName(): string {
    return this.kind === 'value' ? 'ValueState' : this.kind === 'list' ? 'ListState' : this.kind === 'map' ? 'MapState' : 'timers';
  }

  protected bad(op: string, v: unknown, type: DataType): StateValueError {
    return new StateValueError(
      `${this.kindName()} '${this.name}'.${op}(): ${describe(v)} is not a ${typeToString(type)} (key ${this.ctx.describeKey(this.ctx.gid)}, ` +
        `batch ${this.ctx.batchId}). Write values of the type the variable was created with in init().`,
    );
  }

  /** Column `name` of a checkpoint batch, or null. */
  protected static column(batch: RecordBatch, name: string): Vec | null {
    const s = fromArrowSchema(batch.schema);
    const i = s.fields.findIndex((f) => f.name === name);
    return i < 0 ? null : columnVec(batch, s, i);
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Date) return `Date(${Number.isNaN(v.getTime()) ? 'invalid' : v.toISOString()})`;
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 60)}…` : s;
  } catch {
    return String(v);
  }
}

/** A variable with one table row per key (value and list state): its rows, delta, snapshot and renumbering. */
abstract class RowPerKeyVar extends StateVar {
  /** The stored value (or list) by key id; undefined: none. */
  protected items: unknown[] = [];
  /** Its expiry (a number, or one per list element) with a TTL. */
  protected exps: unknown[] = [];
  /** The expiry each key has in the TTL heap (undefined: none). */
  protected readonly sched = new NumSlots();
  protected n = 0;

  constructor(
    name: string,
    kind: 'value' | 'list',
    table: StateTable,
    ctx: StateContext,
    readonly ttlMs: number | null,
    private readonly colType: DataType,
    private readonly expType: DataType,
  ) {
    super(name, kind, table, ctx);
  }

  count(): number {
    return this.n;
  }
  holds(g: number): boolean {
    return this.items[g] !== undefined;
  }
  override scheduled(g: number, time: number): boolean {
    return this.sched.get(g) === time && this.items[g] !== undefined;
  }

  clear(): void {
    this.drop(this.need('clear'));
  }

  /** Removes key `g`'s value (or list). */
  protected drop(g: number): void {
    if (this.items[g] === undefined) return;
    this.items[g] = undefined;
    if (g < this.exps.length) this.exps[g] = undefined;
    this.n--;
    this.ctx.counters.removed++;
    this.dirty.add(g);
  }

  /** Key `g`'s expiry as its table column holds it. */
  protected expiryOf(g: number): unknown {
    return this.exps[g];
  }

  /** Puts key `g`'s expiry `e` in the TTL heap unless an earlier entry is there (it re-schedules when popped). */
  protected schedule(g: number, e: number): void {
    const s = this.sched.get(g);
    if (!(s <= e)) {
      this.sched.set(g, e);
      this.ctx.ttlHeap.push(e, g, this.slot);
    }
  }

  private rows(gids: Int32Array, keys: KeyVecs, ops: number[] | null): RecordBatch {
    const schema = ops ? deltaSchema(this.table.schema) : this.table.schema;
    const vb = new ColumnBuilder(this.colType, gids.length);
    const eb = this.ttlMs !== null ? new ColumnBuilder(this.expType, gids.length) : null;
    for (let i = 0; i < gids.length; i++) {
      const v = this.items[gids[i]!];
      vb.append(v === undefined ? null : v);
      if (eb) eb.append(v === undefined ? null : this.expiryOf(gids[i]!));
    }
    const vecs = [...keys(gids), vecOf(vb, this.colType)];
    if (eb) vecs.push(vecOf(eb, this.expType));
    if (ops) vecs.unshift(opVec(ops));
    return batchFromVecs(schema, vecs, gids.length);
  }

  takeDelta(keys: KeyVecs): RecordBatch | null {
    if (this.dirty.size === 0) return null;
    const gids = this.dirty.take();
    const ops: number[] = new Array(gids.length);
    for (let i = 0; i < gids.length; i++) ops[i] = this.items[gids[i]!] === undefined ? OP_DELETE : OP_PUT;
    return this.rows(gids, keys, ops);
  }

  snapshot(keys: KeyVecs, size: number): RecordBatch | null {
    if (this.n === 0) return null;
    const gids: number[] = [];
    for (let g = 0; g < size; g++) if (this.items[g] !== undefined) gids.push(g);
    return this.rows(Int32Array.from(gids), keys, null);
  }

  remap(remap: Int32Array): void {
    this.items = remapArray(this.items, remap);
    this.exps = remapArray(this.exps, remap);
    this.sched.remap(remap);
    this.dirty.remap(remap);
  }

  reset(): void {
    this.items = [];
    this.exps = [];
    this.sched.reset();
    this.n = 0;
    this.dirty.clear();
  }
}

/**
 * Value state: one value per key, and its expiry with a TTL.
 *
 * @example
 * const fails = handle.getValueState<number>('fails', 'int');
 * fails.update((fails.get() ?? 0) + 1);
 */
export class ValueVar<V = unknown> extends RowPerKeyVar implements ValueStateLike<V> {
  /** Each key's expiry (with a TTL), as doubles: no boxed number per key. */
  private readonly expAt = new NumSlots();
  private readonly norm: (v: unknown) => unknown;
  private readonly copy: ((v: unknown) => unknown) | null;
  private readonly valueCol: string;
  private readonly expCol: string;

  constructor(name: string, table: StateTable, ctx: StateContext, readonly type: DataType, ttlMs: number | null, keyNames: readonly string[]) {
    super(name, 'value', table, ctx, ttlMs, type, 'timestamp');
    this.norm = normalizerOf(type);
    this.copy = copierOf(type);
    this.valueCol = freeName('value', keyNames);
    this.expCol = freeName('expiresAt', keyNames);
  }

  /** The table schema of a value variable. */
  static schema(keyFields: readonly Field[], type: DataType, ttl: boolean): Schema {
    const names = keyFields.map((f) => f.name);
    const fs = [...keyFields, field(freeName('value', names), type)];
    if (ttl) fs.push(field(freeName('expiresAt', names), 'timestamp'));
    return schemaOf(fs);
  }

  exists(): boolean {
    return this.get() !== undefined;
  }

  get(): V | undefined {
    const g = this.need('get');
    const v = this.items[g];
    if (v === undefined) return undefined;
    if (this.ttlMs !== null && this.expAt.get(g) <= this.ctx.nowMs) return undefined;
    return (this.copy === null ? v : this.copy(v)) as V;
  }

  update(value: V): void {
    const g = this.need('update');
    const v = value === null || value === undefined ? undefined : this.norm(value);
    if (v === undefined || v === null) throw this.bad('update', value, this.type);
    if (this.items[g] === undefined) this.n++;
    this.items[g] = v;
    this.ctx.counters.updated++;
    this.dirty.add(g);
    if (this.ttlMs !== null) {
      const e = this.ctx.nowMs + this.ttlMs;
      this.expAt.set(g, e);
      this.schedule(g, e);
    }
  }

  override expire(g: number, time: number): void {
    if (this.sched.get(g) !== time) return;
    this.sched.set(g, NaN);
    if (this.items[g] === undefined) return;
    const e = this.expAt.get(g);
    if (e <= this.ctx.nowMs) {
      this.drop(g);
      this.ctx.counters.ttlRemoved++;
    } else {
      this.sched.set(g, e);
      this.ctx.ttlHeap.push(e, g, this.slot);
    }
  }

  /** The stored value of key `g` as it reads now (test kit). */
  peek(g: number): V | undefined {
    const v = this.items[g];
    if (v === undefined || (this.ttlMs !== null && this.expAt.get(g) <= this.ctx.nowMs)) return undefined;
    return (this.copy === null ? v : this.copy(v)) as V;
  }

  restore(batch: RecordBatch, gids: Int32Array): void {
    const vc = StateVar.column(batch, this.valueCol);
    const ec = StateVar.column(batch, this.expCol);
    if (vc === null) throw kindChanged(this.name, 'value', batch);
    for (let i = 0; i < batch.numRows; i++) {
      const raw = valueAt(vc, i);
      if (raw === null) continue;
      const v = this.norm(raw);
      if (v === undefined || v === null) throw restoredBad(this.name, raw, this.type);
      const g = gids[i]!;
      if (this.items[g] === undefined) this.n++;
      this.items[g] = v;
      // A value written without a TTL keeps none until it is written again.
      if (this.ttlMs !== null) {
        const e = ec !== null && ec.valid?.[i] !== 0 ? (ec as NumVec).values[i]! : Number.POSITIVE_INFINITY;
        this.expAt.set(g, e);
        if (e !== Number.POSITIVE_INFINITY) {
          this.sched.set(g, e);
          this.ctx.ttlHeap.push(e, g, this.slot);
        }
      }
    }
  }

  protected override expiryOf(g: number): unknown {
    return this.expAt.get(g);
  }

  override remap(remap: Int32Array): void {
    super.remap(remap);
    this.expAt.remap(remap);
  }

  override reset(): void {
    super.reset();
    this.expAt.reset();
  }

  /** Writes key `g`'s value from outside a handler (test kit). */
  set(g: number, value: V): void {
    const prev = this.ctx.gid;
    this.ctx.gid = g;
    try {
      this.update(value);
    } finally {
      this.ctx.gid = prev;
    }
  }
}

/** `ValueState` without importing the public interface's generics twice. */
interface ValueStateLike<V> {
  exists(): boolean;
  get(): V | undefined;
  update(value: V): void;
  clear(): void;
}

/**
 * List state: a list per key; with a TTL each element has its own expiry (`put` gives every element the same one,
 * `append*` gives the new elements the current one).
 *
 * @example
 * const events = handle.getListState<Click>('events', { page: 'string', at: 'timestamp' });
 * events.appendValue(row);
 */
export class ListVar<V = unknown> extends RowPerKeyVar {
  private readonly norm: (v: unknown) => unknown;
  private readonly copy: ((v: unknown) => unknown) | null;
  private readonly valuesCol: string;
  private readonly expCol: string;

  constructor(name: string, table: StateTable, ctx: StateContext, readonly type: DataType, ttlMs: number | null, keyNames: readonly string[]) {
    super(name, 'list', table, ctx, ttlMs, { kind: 'array', element: type }, { kind: 'array', element: 'timestamp' });
    this.norm = normalizerOf(type);
    this.copy = copierOf(type);
    this.valuesCol = freeName('values', keyNames);
    this.expCol = freeName('expiresAt', keyNames);
  }

  /** The table schema of a list variable. */
  static schema(keyFields: readonly Field[], type: DataType, ttl: boolean): Schema {
    const names = keyFields.map((f) => f.name);
    const fs = [...keyFields, field(freeName('values', names), { kind: 'array', element: type })];
    if (ttl) fs.push(field(freeName('expiresAt', names), { kind: 'array', element: 'timestamp' }));
    return schemaOf(fs);
  }

  exists(): boolean {
    const g = this.need('exists');
    return this.live(g).length > 0;
  }

  /** The unexpired elements of key `g` (a fresh array). */
  private live(g: number): V[] {
    const l = this.items[g] as unknown[] | undefined;
    if (l === undefined) return [];
    const e = this.ttlMs === null ? null : (this.exps[g] as number[]);
    const now = this.ctx.nowMs;
    const copy = this.copy;
    const out: V[] = [];
    for (let i = 0; i < l.length; i++) if (e === null || e[i]! > now) out.push((copy === null ? l[i] : copy(l[i])) as V);
    return out;
  }

  get(): Iterable<V> {
    return this.live(this.need('get'));
  }

  /** The elements of key `g` as they read now (test kit). */
  peek(g: number): V[] {
    return this.live(g);
  }

  private convert(op: string, values: readonly V[]): unknown[] {
    if (!Array.isArray(values) || values.length === 0) {
      throw new StateValueError(
        `ListState '${this.name}'.${op}() needs a non-empty array (got ${describe(values)}; key ${this.ctx.describeKey(this.ctx.gid)}, batch ` +
          `${this.ctx.batchId}). Use clear() to empty the list.`,
      );
    }
    const out = new Array<unknown>(values.length);
    for (let i = 0; i < values.length; i++) {
      const x = values[i];
      const v = x === null || x === undefined ? undefined : this.norm(x);
      if (v === undefined || v === null) throw this.bad(op, x, this.type);
      out[i] = v;
    }
    return out;
  }

  put(values: readonly V[]): void {
    const g = this.need('put');
    const vs = this.convert('put', values);
    if (this.items[g] === undefined) this.n++;
    this.items[g] = vs;
    if (this.ttlMs !== null) this.exps[g] = new Array<number>(vs.length).fill(this.ctx.nowMs + this.ttlMs);
    this.written(g);
  }

  appendValue(value: V): void {
    const g = this.need('appendValue');
    this.append(g, this.convert('appendValue', [value]));
  }

  appendList(values: readonly V[]): void {
    const g = this.need('appendList');
    this.append(g, this.convert('appendList', values));
  }

  private append(g: number, vs: unknown[]): void {
    let l = this.items[g] as unknown[] | undefined;
    if (l === undefined) {
      l = this.items[g] = [];
      if (this.ttlMs !== null) this.exps[g] = [];
      this.n++;
    }
    for (let i = 0; i < vs.length; i++) l.push(vs[i]);
    if (this.ttlMs !== null) {
      const e = this.exps[g] as number[];
      const at = this.ctx.nowMs + this.ttlMs;
      for (let i = 0; i < vs.length; i++) e.push(at);
    }
    this.written(g);
  }

  private written(g: number): void {
    this.ctx.counters.updated++;
    this.dirty.add(g);
    if (this.ttlMs !== null) {
      const e = this.ctx.nowMs + this.ttlMs;
      this.schedule(g, e);
    }
  }

  override expire(g: number, time: number): void {
    if (this.sched.get(g) !== time) return;
    this.sched.set(g, NaN);
    const l = this.items[g] as unknown[] | undefined;
    if (l === undefined) return;
    const e = this.exps[g] as number[];
    const now = this.ctx.nowMs;
    const keepV: unknown[] = [];
    const keepE: number[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (let i = 0; i < l.length; i++) {
      if (e[i]! > now) {
        keepV.push(l[i]);
        keepE.push(e[i]!);
        if (e[i]! < next) next = e[i]!;
      }
    }
    const gone = l.length - keepV.length;
    if (gone > 0) {
      this.ctx.counters.ttlRemoved += gone;
      if (keepV.length === 0) {
        this.drop(g);
        return;
      }
      this.items[g] = keepV;
      this.exps[g] = keepE;
      this.dirty.add(g);
    }
    if (next !== Number.POSITIVE_INFINITY) {
      this.sched.set(g, next);
      this.ctx.ttlHeap.push(next, g, this.slot);
    }
  }

  restore(batch: RecordBatch, gids: Int32Array): void {
    const vc = StateVar.column(batch, this.valuesCol);
    if (vc === null || vc.kind !== 'list') throw kindChanged(this.name, 'list', batch);
    const ec = StateVar.column(batch, this.expCol);
    for (let i = 0; i < batch.numRows; i++) {
      const raw = valueAt(vc, i) as unknown[] | null;
      if (raw === null || raw.length === 0) continue;
      const vs = raw.map((x) => {
        const v = this.norm(x);
        if (v === undefined || v === null) throw restoredBad(this.name, x, this.type);
        return v;
      });
      const g = gids[i]!;
      if (this.items[g] === undefined) this.n++;
      this.items[g] = vs;
      if (this.ttlMs !== null) {
        const es = ec !== null && ec.kind === 'list' ? (valueAt(ec, i) as (Date | null)[] | null) : null;
        const e = vs.map((_, k) => (es && es[k] ? es[k]!.getTime() : Number.POSITIVE_INFINITY));
        this.exps[g] = e;
        let next = Number.POSITIVE_INFINITY;
        for (const x of e) if (x < next) next = x;
        if (next !== Number.POSITIVE_INFINITY) {
          this.sched.set(g, next);
          this.ctx.ttlHeap.push(next, g, this.slot);
        }
      }
    }
  }
}

/** One map entry: the user key and value as stored, and the expiry with a TTL. */
interface Entry {
  k: unknown;
  v: unknown;
  e: number;
}

/** A map key as a JS `Map` key: primitives as themselves, timestamps as their ms, anything else as JSON. */
function mapKeyId(k: unknown): unknown {
  if (k instanceof Date) return k.getTime();
  if (typeof k === 'object' && k !== null) return JSON.stringify(k, (_n, x) => (typeof x === 'bigint' ? `${x}n` : x instanceof Uint8Array ? Array.from(x) : x));
  return k;
}

/**
 * Map state: a map per key; with a TTL each map key has its own expiry.
 *
 * @example
 * const best = handle.getMapState<string, number>('best', 'string', 'double');
 * best.updateValue(row.item, row.score);
 */
export class MapVar<K = unknown, V = unknown> extends StateVar {
  private maps: (Map<unknown, Entry> | undefined)[] = [];
  private readonly sched = new NumSlots();
  /** Changed map keys per key id (id → stored user key), for the delta's puts and deletes. */
  private changed = new Map<number, Map<unknown, unknown>>();
  private n = 0;
  private readonly normK: (v: unknown) => unknown;
  private readonly copyK: ((v: unknown) => unknown) | null;
  private readonly copyV: ((v: unknown) => unknown) | null;
  private readonly normV: (v: unknown) => unknown;
  private readonly cols: { mapKey: string; value: string; exp: string };

  constructor(
    name: string,
    table: StateTable,
    ctx: StateContext,
    readonly keyType: DataType,
    readonly type: DataType,
    readonly ttlMs: number | null,
    keyNames: readonly string[],
  ) {
    super(name, 'map', table, ctx);
    this.normK = normalizerOf(keyType);
    this.normV = normalizerOf(type);
    this.copyK = copierOf(keyType);
    this.copyV = copierOf(type);
    this.cols = { mapKey: freeName('mapKey', keyNames), value: freeName('value', keyNames), exp: freeName('expiresAt', keyNames) };
  }

  /** The table schema of a map variable. */
  static schema(keyFields: readonly Field[], keyType: DataType, type: DataType, ttl: boolean): Schema {
    const names = keyFields.map((f) => f.name);
    const fs = [...keyFields, field(freeName('mapKey', names), keyType, false), field(freeName('value', names), type)];
    if (ttl) fs.push(field(freeName('expiresAt', names), 'timestamp'));
    return schemaOf(fs);
  }

  count(): number {
    return this.n;
  }
  holds(g: number): boolean {
    return this.maps[g] !== undefined;
  }
  override isDirty(g: number): boolean {
    return this.changed.has(g);
  }

  private alive(e: Entry): boolean {
    return this.ttlMs === null || e.e > this.ctx.nowMs;
  }

  private userKey(op: string, k: K): unknown {
    const x = k === null || k === undefined ? undefined : this.normK(k);
    if (x === undefined || x === null) throw this.bad(op, k, this.keyType);
    return x;
  }

  exists(): boolean {
    const m = this.maps[this.need('exists')];
    if (m === undefined) return false;
    for (const e of m.values()) if (this.alive(e)) return true;
    return false;
  }

  getValue(key: K): V | undefined {
    const m = this.maps[this.need('getValue')];
    if (m === undefined) return undefined;
    const e = m.get(mapKeyId(this.userKey('getValue', key)));
    return e !== undefined && this.alive(e) ? ((this.copyV === null ? e.v : this.copyV(e.v)) as V) : undefined;
  }

  containsKey(key: K): boolean {
    return this.getValue(key) !== undefined;
  }

  updateValue(key: K, value: V): void {
    const g = this.need('updateValue');
    const k = this.userKey('updateValue', key);
    const v = value === null || value === undefined ? undefined : this.normV(value);
    if (v === undefined || v === null) throw this.bad('updateValue', value, this.type);
    let m = this.maps[g];
    if (m === undefined) m = this.maps[g] = new Map();
    const id = mapKeyId(k);
    const e = this.ttlMs === null ? 0 : this.ctx.nowMs + this.ttlMs;
    const old = m.get(id);
    if (old === undefined) {
      m.set(id, { k, v, e });
      this.n++;
    } else {
      old.v = v;
      old.e = e;
    }
    this.ctx.counters.updated++;
    this.mark(g, id, k);
    if (this.ttlMs !== null) {
      const s = this.sched.get(g);
      if (!(s <= e)) {
        this.sched.set(g, e);
        this.ctx.ttlHeap.push(e, g, this.slot);
      }
    }
  }

  private mark(g: number, id: unknown, k: unknown): void {
    let c = this.changed.get(g);
    if (c === undefined) this.changed.set(g, (c = new Map()));
    c.set(id, k);
  }

  /** The unexpired entries of key `g` (test kit and iteration). */
  peek(g: number): [K, V][] {
    const m = this.maps[g];
    const out: [K, V][] = [];
    if (m === undefined) return out;
    const ck = this.copyK;
    const cv = this.copyV;
    for (const e of m.values()) if (this.alive(e)) out.push([(ck === null ? e.k : ck(e.k)) as K, (cv === null ? e.v : cv(e.v)) as V]);
    return out;
  }

  iterator(): Iterable<[K, V]> {
    return this.peek(this.need('iterator'));
  }
  keys(): Iterable<K> {
    return this.peek(this.need('keys')).map((p) => p[0]);
  }
  values(): Iterable<V> {
    return this.peek(this.need('values')).map((p) => p[1]);
  }

  removeKey(key: K): void {
    const g = this.need('removeKey');
    const k = this.userKey('removeKey', key);
    this.removeEntry(g, mapKeyId(k));
  }

  private removeEntry(g: number, id: unknown): void {
    const m = this.maps[g];
    const e = m?.get(id);
    if (m === undefined || e === undefined) return;
    m.delete(id);
    this.n--;
    this.ctx.counters.removed++;
    this.mark(g, id, e.k);
    if (m.size === 0) this.maps[g] = undefined;
  }

  clear(): void {
    const g = this.need('clear');
    const m = this.maps[g];
    if (m === undefined) return;
    for (const id of [...m.keys()]) this.removeEntry(g, id);
  }

  override scheduled(g: number, time: number): boolean {
    return this.sched.get(g) === time && this.maps[g] !== undefined;
  }

  override expire(g: number, time: number): void {
    if (this.sched.get(g) !== time) return;
    this.sched.set(g, NaN);
    const m = this.maps[g];
    if (m === undefined) return;
    const now = this.ctx.nowMs;
    let next = Number.POSITIVE_INFINITY;
    for (const [id, e] of [...m]) {
      if (e.e <= now) {
        this.removeEntry(g, id);
        this.ctx.counters.ttlRemoved++;
      } else if (e.e < next) next = e.e;
    }
    if (next !== Number.POSITIVE_INFINITY) {
      this.sched.set(g, next);
      this.ctx.ttlHeap.push(next, g, this.slot);
    }
  }

  private rows(gids: number[], ids: unknown[], userKeys: unknown[], keys: KeyVecs, ops: number[] | null): RecordBatch {
    const schema = ops ? deltaSchema(this.table.schema) : this.table.schema;
    const n = gids.length;
    const kb = new ColumnBuilder(this.keyType, n);
    const vb = new ColumnBuilder(this.type, n);
    const eb = this.ttlMs !== null ? new ColumnBuilder('timestamp', n) : null;
    for (let i = 0; i < n; i++) {
      const e = this.maps[gids[i]!]?.get(ids[i]);
      kb.append(userKeys[i]);
      vb.append(e === undefined ? null : e.v);
      if (eb) eb.append(e === undefined ? null : e.e);
    }
    const vecs = [...keys(Int32Array.from(gids)), vecOf(kb, this.keyType), vecOf(vb, this.type)];
    if (eb) vecs.push(vecOf(eb, 'timestamp'));
    if (ops) vecs.unshift(opVec(ops));
    return batchFromVecs(schema, vecs, n);
  }

  takeDelta(keys: KeyVecs): RecordBatch | null {
    if (this.changed.size === 0) return null;
    const gids: number[] = [];
    const ids: unknown[] = [];
    const uks: unknown[] = [];
    const ops: number[] = [];
    for (const [g, c] of this.changed) {
      const m = this.maps[g];
      for (const [id, k] of c) {
        gids.push(g);
        ids.push(id);
        uks.push(k);
        ops.push(m !== undefined && m.has(id) ? OP_PUT : OP_DELETE);
      }
    }
    this.changed.clear();
    return this.rows(gids, ids, uks, keys, ops);
  }

  snapshot(keys: KeyVecs, size: number): RecordBatch | null {
    if (this.n === 0) return null;
    const gids: number[] = [];
    const ids: unknown[] = [];
    const uks: unknown[] = [];
    for (let g = 0; g < size; g++) {
      const m = this.maps[g];
      if (m === undefined) continue;
      for (const [id, e] of m) {
        gids.push(g);
        ids.push(id);
        uks.push(e.k);
      }
    }
    return this.rows(gids, ids, uks, keys, null);
  }

  restore(batch: RecordBatch, gids: Int32Array): void {
    const kc = StateVar.column(batch, this.cols.mapKey);
    const vc = StateVar.column(batch, this.cols.value);
    if (kc === null || vc === null) throw kindChanged(this.name, 'map', batch);
    const ec = StateVar.column(batch, this.cols.exp);
    for (let i = 0; i < batch.numRows; i++) {
      const rk = valueAt(kc, i);
      const rv = valueAt(vc, i);
      if (rk === null || rv === null) continue;
      const k = this.normK(rk);
      const v = this.normV(rv);
      if (k === undefined || k === null) throw restoredBad(this.name, rk, this.keyType);
      if (v === undefined || v === null) throw restoredBad(this.name, rv, this.type);
      const g = gids[i]!;
      let m = this.maps[g];
      if (m === undefined) m = this.maps[g] = new Map();
      const e = this.ttlMs !== null && ec !== null && ec.valid?.[i] !== 0 ? (ec as NumVec).values[i]! : Number.POSITIVE_INFINITY;
      const id = mapKeyId(k);
      if (!m.has(id)) this.n++;
      m.set(id, { k, v, e });
      if (this.ttlMs !== null && e !== Number.POSITIVE_INFINITY) {
        const s = this.sched.get(g);
        if (!(s <= e)) {
          this.sched.set(g, e);
          this.ctx.ttlHeap.push(e, g, this.slot);
        }
      }
    }
  }

  remap(remap: Int32Array): void {
    this.maps = remapArray(this.maps, remap);
    this.sched.remap(remap);
    const c = new Map<number, Map<unknown, unknown>>();
    for (const [g, v] of this.changed) if (remap[g]! >= 0) c.set(remap[g]!, v);
    this.changed = c;
  }

  reset(): void {
    this.maps = [];
    this.sched.reset();
    this.changed.clear();
    this.n = 0;
  }
}

/**
 * The timers: a set of expiry times per key (ascending), indexed by a heap across keys.
 *
 * @example
 * timers.add(keyId, 60_000, true); timers.list(keyId); // [60000]
 */
export class TimerVar extends StateVar {
  private sets: (number[] | undefined)[] = [];
  private changed = new Map<number, Set<number>>();
  private n = 0;
  private readonly col: string;

  constructor(table: StateTable, ctx: StateContext, readonly heap: TimeHeap, keyNames: readonly string[]) {
    super('$timers', 'timers', table, ctx);
    this.col = freeName('expiryMs', keyNames);
  }

  /** The timers table's schema. */
  static schema(keyFields: readonly Field[]): Schema {
    return schemaOf([...keyFields, field(freeName('expiryMs', keyFields.map((f) => f.name)), 'long', false)]);
  }

  count(): number {
    return this.n;
  }
  holds(g: number): boolean {
    return this.sets[g] !== undefined;
  }
  override isDirty(g: number): boolean {
    return this.changed.has(g);
  }

  /** Whether key `g` has a timer at `t`. */
  has(g: number, t: number): boolean {
    const s = this.sets[g];
    return s !== undefined && s.includes(t);
  }

  /** The timers of key `g`, ascending (a copy). */
  list(g: number): number[] {
    return this.sets[g]?.slice() ?? [];
  }

  /** Adds a timer; false when key `g` already had it. */
  add(g: number, t: number, push: boolean): boolean {
    let s = this.sets[g];
    if (s === undefined) s = this.sets[g] = [];
    let i = 0;
    while (i < s.length && s[i]! < t) i++;
    if (s[i] === t) return false;
    s.splice(i, 0, t);
    this.n++;
    this.mark(g, t);
    if (push) this.heap.push(t, g, 0);
    return true;
  }

  /** Removes a timer; false when key `g` did not have it. */
  remove(g: number, t: number): boolean {
    const s = this.sets[g];
    const i = s === undefined ? -1 : s.indexOf(t);
    if (i < 0) return false;
    s!.splice(i, 1);
    if (s!.length === 0) this.sets[g] = undefined;
    this.n--;
    this.mark(g, t);
    return true;
  }

  private mark(g: number, t: number): void {
    let c = this.changed.get(g);
    if (c === undefined) this.changed.set(g, (c = new Set()));
    c.add(t);
  }

  private rows(gids: number[], times: number[], keys: KeyVecs, ops: number[] | null): RecordBatch {
    const schema = ops ? deltaSchema(this.table.schema) : this.table.schema;
    const vecs: Vec[] = [...keys(Int32Array.from(gids)), numVec('long', Float64Array.from(times))];
    if (ops) vecs.unshift(opVec(ops));
    return batchFromVecs(schema, vecs, gids.length);
  }

  takeDelta(keys: KeyVecs): RecordBatch | null {
    if (this.changed.size === 0) return null;
    const gids: number[] = [];
    const times: number[] = [];
    const ops: number[] = [];
    for (const [g, c] of this.changed) {
      for (const t of c) {
        gids.push(g);
        times.push(t);
        ops.push(this.has(g, t) ? OP_PUT : OP_DELETE);
      }
    }
    this.changed.clear();
    return this.rows(gids, times, keys, ops);
  }

  snapshot(keys: KeyVecs, size: number): RecordBatch | null {
    if (this.n === 0) return null;
    const gids: number[] = [];
    const times: number[] = [];
    for (let g = 0; g < size; g++) for (const t of this.sets[g] ?? []) {
      gids.push(g);
      times.push(t);
    }
    return this.rows(gids, times, keys, null);
  }

  restore(batch: RecordBatch, gids: Int32Array): void {
    const c = StateVar.column(batch, this.col) as NumVec | null;
    if (c === null) throw kindChanged(this.name, 'timers', batch);
    for (let i = 0; i < batch.numRows; i++) this.add(gids[i]!, c.values[i]!, true);
    this.changed.clear();
  }

  remap(remap: Int32Array): void {
    this.sets = remapArray(this.sets, remap);
    const c = new Map<number, Set<number>>();
    for (const [g, v] of this.changed) if (remap[g]! >= 0) c.set(remap[g]!, v);
    this.changed = c;
  }

  reset(): void {
    this.sets = [];
    this.changed.clear();
    this.n = 0;
  }
}

/**
 * A number per key id in a growable `Float64Array` (NaN: none), so that a million keys' expiries are not a million
 * boxed numbers.
 *
 * @example
 * const s = new NumSlots(); s.set(7, 1000); s.get(7); // 1000; s.get(8) is NaN
 */
export class NumSlots {
  private a = new Float64Array(0);

  get(g: number): number {
    return g < this.a.length ? this.a[g]! : NaN;
  }

  set(g: number, v: number): void {
    if (g >= this.a.length) {
      const b = new Float64Array(Math.max(g + 1, this.a.length * 2, 64)).fill(NaN);
      b.set(this.a);
      this.a = b;
    }
    this.a[g] = v;
  }

  remap(remap: Int32Array): void {
    const b = new Float64Array(Math.max(64, this.a.length)).fill(NaN);
    for (let g = 0; g < this.a.length && g < remap.length; g++) if (remap[g]! >= 0) b[remap[g]!] = this.a[g]!;
    this.a = b;
  }

  reset(): void {
    this.a = new Float64Array(0);
  }
}

/**
 * A set of key ids, in the order they were added, as a byte per key id and a growable list: no hash-set entry per
 * key (a batch that touches a million keys marks a million bytes).
 *
 * @example
 * const s = new KeyIdSet(); s.add(7); s.add(2); s.add(7); s.take(); // Int32Array [7, 2]; s.size is 0
 */
export class KeyIdSet {
  private flags = new Uint8Array(0);
  private list = new Int32Array(64);
  size = 0;

  add(g: number): void {
    if (g >= this.flags.length) {
      const f = new Uint8Array(Math.max(g + 1, this.flags.length * 2, 64));
      f.set(this.flags);
      this.flags = f;
    }
    if (this.flags[g] !== 0) return;
    this.flags[g] = 1;
    if (this.size === this.list.length) {
      const l = new Int32Array(this.list.length * 2);
      l.set(this.list);
      this.list = l;
    }
    this.list[this.size++] = g;
  }

  has(g: number): boolean {
    return g < this.flags.length && this.flags[g] !== 0;
  }

  /** The ids in the order they were added, and the set emptied. */
  take(): Int32Array {
    const out = this.list.slice(0, this.size);
    this.clear();
    return out;
  }

  clear(): void {
    const f = this.flags;
    const l = this.list;
    for (let i = 0; i < this.size; i++) f[l[i]!] = 0;
    this.size = 0;
  }

  /** Key ids renumbered (−1: the key is gone). */
  remap(remap: Int32Array): void {
    const old = this.list.slice(0, this.size);
    this.clear();
    this.flags = new Uint8Array(0);
    for (let i = 0; i < old.length; i++) if (remap[old[i]!]! >= 0) this.add(remap[old[i]!]!);
  }
}

function remapArray<T>(a: T[], remap: Int32Array): T[] {
  const out: T[] = [];
  for (let g = 0; g < a.length && g < remap.length; g++) {
    const to = remap[g]!;
    if (to >= 0 && a[g] !== undefined) out[to] = a[g]!;
  }
  return out;
}

/**
 * What kind a checkpoint table holds, from its columns.
 *
 * @example
 * tableKind(snapshotOfFails, ['user']); // 'value'
 */
export function tableKind(batch: RecordBatch, keyNames: readonly string[]): 'value' | 'list' | 'map' | 'timers' | 'unknown' {
  const names = fromArrowSchema(batch.schema).fields.map((f) => f.name);
  if (names.includes(freeName('expiryMs', keyNames))) return 'timers';
  if (names.includes(freeName('mapKey', keyNames))) return 'map';
  if (names.includes(freeName('values', keyNames))) return 'list';
  if (names.includes(freeName('value', keyNames))) return 'value';
  return 'unknown';
}

function kindChanged(name: string, kind: string, batch: RecordBatch): StateVariableKindChangedError {
  const cols = fromArrowSchema(batch.schema).fields.map((f) => f.name);
  return new StateVariableKindChangedError(
    `STATE_STORE_INVALID_VARIABLE_TYPE_CHANGE: state variable '${name}' is created as ${kind} state, but the checkpoint holds it ` +
      `with other columns (${cols.join(', ')}). Keep the variable's kind across restarts, give the new variable another name, ` +
      `or start with a new checkpointLocation.`,
  );
}

function restoredBad(name: string, raw: unknown, type: DataType): StateVariableKindChangedError {
  return new StateVariableKindChangedError(
    `STATE_STORE_INVALID_VARIABLE_TYPE_CHANGE: state variable '${name}' is created with type ${typeToString(type)}, but the ` +
      `checkpoint holds ${describe(raw)}. Keep the variable's type across restarts, give the new variable another name, or start ` +
      `with a new checkpointLocation.`,
  );
}

