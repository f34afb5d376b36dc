/**
 * The vectorized hash join: a hash table over the build side's key columns (encoded by `KeyCodec`: numbers by value,
 * `long`s by their 64 bits, strings as dictionary ids, windows as ids of their (start, end) pair), probed a batch at a
 * time, the matches given as selection vectors (probe row, build row) of bounded length; the condition's other
 * conjuncts are evaluated over those candidate pairs only, and every output column is one gather.
 *
 * Spark's rules: a null key never matches (`=`), unless the key is null-safe (`<=>`); a conjunct that reads one side
 * only filters that side before the join when the side is not preserved, and on a preserved side (left of a left
 * outer join, either side of a full one, left of an anti join) a row failing it cannot match but is still emitted,
 * null-padded (SEMANTICS §11). Without an equi-key every row of one side is a candidate for every row of the other
 * (the nested loop), through the same code: the table then has a single key.
 *
 * Everything here is plain data and typed arrays (a `JoinSpec` crosses to worker threads), independent of the
 * physical operator that feeds it (`HashJoinExec`).
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import { boundColumns, remapColumns, type Bound } from '../logical/bound-expr.js';
import type { JoinAnalysis, JoinOutputColumn } from '../logical/join-analysis.js';
import { preservesLeft, preservesRight, type JoinType } from '../logical/join-type.js';
import { schemaOf, typeEquals, type DataType, type Schema } from '../types/data-type.js';
import { batchFromVecs, columnVec, emptyBatch } from '../types/values.js';
import { castVec, evaluate, type EvalEnv } from './expr-kernel.js';
import { GroupTable } from './hash-kernel.js';
import { KeyCodec } from './key-codec.js';
import { concatVecs, gatherVec, gatherVecOrNull } from './select-kernel.js';
import { nullVec, type BoolVec, type Vec } from './vec.js';

/** Rows of one output batch of a join, at most: a skewed key's matches are cut into batches of this size. */
export const JOIN_BATCH_ROWS = 65_536;

/** Keys a join's build table is sized for up front, at most (it is sized for the build rows up to this). */
const BUILD_TABLE_MAX_KEYS = 1 << 21;

/** The plain-data description of one join that the kernel runs (it crosses to worker threads as it is). */
export interface JoinSpec {
  readonly joinType: JoinType;
  readonly leftSchema: Schema;
  readonly rightSchema: Schema;
  /** Left columns then right columns: what `residual` reads. */
  readonly combined: Schema;
  readonly outputSchema: Schema;
  readonly output: readonly JoinOutputColumn[];
  readonly keys: readonly { readonly left: Bound; readonly right: Bound; readonly nullSafe: boolean; readonly type: DataType }[];
  readonly leftCondition: Bound | null;
  readonly rightCondition: Bound | null;
  readonly residual: Bound | null;
  /** The side the hash table is built on; the other is probed batch by batch. */
  readonly buildSide: 'left' | 'right';
}

/**
 * The kernel's spec of an analyzed join, building on `buildSide`.
 *
 * @example
 * const spec = joinSpecOf(analyzeJoin(node), 'right');
 * const joiner = new HashJoiner(spec, { batchTimestampMs: Date.now() });
 */
export function joinSpecOf(j: JoinAnalysis, buildSide: 'left' | 'right'): JoinSpec {
  return {
    joinType: j.joinType,
    leftSchema: j.left.schema,
    rightSchema: j.right.schema,
    combined: j.combined,
    outputSchema: j.schema,
    output: j.output,
    keys: j.keys.map((k) => ({ left: k.left, right: k.right, nullSafe: k.nullSafe, type: k.type })),
    leftCondition: j.leftCondition,
    rightCondition: j.rightCondition,
    residual: j.residual,
    buildSide,
  };
}

/**
 * The rows of a side that can match: every key present (or null-safe) and the side's own conjuncts true. `ok` (1 per
 * row where the side's conjuncts hold) may be null: all true.
 *
 * @example
 * matchableRows([idVec], [false], null, n); // rows whose id is not null
 */
export function matchableRows(keys: readonly Vec[], nullSafe: readonly boolean[], ok: Uint8Array | null, n: number): Int32Array {
  const can = ok === null ? new Uint8Array(n).fill(1) : ok.slice(0, n);
  keys.forEach((k, c) => {
    if (nullSafe[c]) return;
    if (k.kind === 'null') {
      can.fill(0);
      return;
    }
    const valid = k.valid;
    if (valid === null) return;
    for (let i = 0; i < n; i++) can[i] = can[i]! & valid[i]!;
  });
  let m = 0;
  for (let i = 0; i < n; i++) m += can[i]!;
  const sel = new Int32Array(m);
  let p = 0;
  for (let i = 0; i < n; i++) if (can[i] === 1) sel[p++] = i;
  return sel;
}

/** Whether every row can match: no side conjunct, and no null in a key that is not null-safe. */
function allMatchable(keys: readonly Vec[], nullSafe: readonly boolean[], ok: Uint8Array | null): boolean {
  return ok === null && keys.every((k, c) => nullSafe[c] || (k.kind !== 'null' && k.valid === null));
}

/**
 * The hash table of a join's build side: build rows grouped by key (CSR: the rows of key `g` are
 * `rows[start[g] … start[g + 1])`, in build order), and the probe that gives each probe row its key's group or −1.
 * Build and probe share one `KeyCodec`, so a string is the same id on both sides.
 *
 * @example
 * const t = new JoinHashTable(['long'], [false]);
 * t.build([buildIds], n, null);
 * const groups = t.probe([probeIds], m, null); // group per probe row, -1: no match
 */
export class JoinHashTable {
  private codec: KeyCodec;
  private table: GroupTable;
  /** Build rows by group (CSR). */
  start = new Int32Array(1);
  rows = new Int32Array(0);
  /** Every group has exactly one build row (a unique-key build side, e.g. a dimension table): `rows[g]` is it. */
  unique = false;
  /** `unique`, and group g is build row g (every build row could match). */
  identity = false;
  /** A lone integer key whose build values span a range of at most a few times the build rows: group by value. */
  private dense: DenseKeys | null = null;
  /** A lone (not null-safe) string key: the group of each dictionary id (−1: none), probed without a key row. */
  private groupOfId: Int32Array | null = null;
  /** Dictionary entries right after the build: the probe adds strings the build side never had (see `bloated`). */
  private builtDictionary = 0;

  constructor(
    readonly types: readonly DataType[],
    readonly nullSafe: readonly boolean[],
  ) {
    this.codec = new KeyCodec(types);
    this.table = new GroupTable(this.codec.width);
  }

  /** Groups the build rows that can match (see `matchableRows`). */
  build(keys: readonly Vec[], n: number, ok: Uint8Array | null): void {
    this.codec = new KeyCodec(this.types);
    const sel = allMatchable(keys, this.nullSafe, ok) ? null : matchableRows(keys, this.nullSafe, ok, n);
    const m = sel === null ? n : sel.length;
    // Sized for the build rows (a dimension table's keys are mostly distinct: no doubling and rehashing on the way), up
    // to 2 M keys; it grows past that (a build side of a few hot keys needs no table of its rows' size).
    this.table = new GroupTable(this.codec.width, Math.min(Math.max(16, m), BUILD_TABLE_MAX_KEYS));
    const gids = new Int32Array(m);
    if (m > 0) this.table.findOrInsert(this.codec.encode(keys, sel, m), m, gids);
    this.codec.release();
    const G = this.table.size;
    const start = new Int32Array(G + 1);
    for (let i = 0; i < m; i++) start[gids[i]! + 1]!++;
    for (let g = 0; g < G; g++) start[g + 1]! += start[g]!;
    const pos = start.slice(0, G);
    const rows = new Int32Array(m);
    if (sel === null) for (let i = 0; i < m; i++) rows[pos[gids[i]!]!++] = i;
    else for (let i = 0; i < m; i++) rows[pos[gids[i]!]!++] = sel[i]!;
    this.start = start;
    this.rows = rows;
    // Groups are numbered in first-seen order, so with one row per group, group g holds the g-th matchable row.
    this.unique = G === m;
    this.identity = this.unique && sel === null;
    this.builtDictionary = this.codec.dictionarySize;
    this.dense = denseKeyGroups(this.types, this.nullSafe, keys, sel, gids, m);
    this.groupOfId = null;
    if (this.types.length === 1 && (this.types[0] === 'string' || this.types[0] === 'binary') && !this.nullSafe[0]) {
      // A lone string key: a probe string's dictionary id names its group directly (no key row, no second table).
      const byId = new Int32Array(this.codec.dictionarySize).fill(-1);
      const W = this.codec.width;
      const k = this.table.keys;
      for (let g = 0; g < G; g++) byId[k[g * W]!] = g;
      this.groupOfId = byId;
    }
  }

  /** The group of each probe row (−1: no build row has its key, or the row cannot match). */
  probe(keys: readonly Vec[], n: number, ok: Uint8Array | null): Int32Array {
    const out = new Int32Array(n);
    const dense = this.dense;
    const k0 = keys[0];
    if (dense !== null && k0 !== undefined && (k0.kind === 'null' || (k0.kind === 'num' && k0.big === null))) {
      if (k0.kind === 'null') return out.fill(-1);
      const v = k0.values;
      const valid = k0.valid;
      const lo = dense.min;
      const span = dense.groups.length;
      const byKey = dense.groups;
      for (let i = 0; i < n; i++) {
        const x = v[i]! - lo;
        out[i] = x >= 0 && x < span && (valid === null || valid[i] === 1) && (ok === null || ok[i] === 1) ? byKey[x]! : -1;
      }
      return out;
    }
    const byId = this.groupOfId;
    if (byId !== null) {
      const k = keys[0]!;
      if (k.kind !== 'str' || this.table.size === 0) return out.fill(-1);
      const ids = this.codec.lookupStrings(0, k);
      for (let i = 0; i < n; i++) {
        const id = ids[i]!;
        out[i] = id < 0 || (ok !== null && ok[i] === 0) ? -1 : byId[id]!;
      }
      return out;
    }
    if (this.table.size > 0 && allMatchable(keys, this.nullSafe, ok)) {
      this.table.find(this.codec.encode(keys, null, n), n, out);
      this.codec.release();
      return out;
    }
    out.fill(-1);
    const sel = matchableRows(keys, this.nullSafe, ok, n);
    const m = sel.length;
    if (m === 0 || this.table.size === 0) return out;
    const gids = new Int32Array(m);
    this.table.find(this.codec.encode(keys, sel, m), m, gids);
    this.codec.release();
    for (let i = 0; i < m; i++) out[sel[i]!] = gids[i]!;
    return out;
  }

  /**
   * A cursor over the (probe row, build row) pairs of `groups` (this table's `probe` result): one read per probe row
   * when every group has one build row (`unique`), none when group g is build row g (`identity`).
   *
   * @example
   * const c = t.pairs(t.probe([probeIds], m, null));
   */
  pairs(groups: Int32Array): PairCursor {
    return new PairCursor(groups, this.start, this.rows, this.identity ? 'identity' : this.unique ? 'unique' : 'groups');
  }

  /**
   * Whether probing grew the key dictionaries well past what the build side needs (strings of probe rows that had no
   * match are added too): a long-running stream then rebuilds the table to keep its memory bounded.
   */
  get bloated(): boolean {
    return this.codec.dictionarySize > 4 * this.builtDictionary + 65_536;
  }

  /** Whether the probe looks keys up by value (a lone integer key over a dense range: see `denseKeyGroups`). */
  get byValue(): boolean {
    return this.dense !== null;
  }

  /** Distinct keys on the build side. */
  get groups(): number {
    return this.start.length - 1;
  }
}

/** The groups of a lone integer key by value: `groups[x − min]` (−1: no build row has x). */
interface DenseKeys {
  readonly min: number;
  readonly groups: Int32Array;
}

/**
 * The value → group array of a lone, not null-safe `int`/`long` key whose `m` matchable build values (rows `sel`, or
 * all) span at most `2m + 1024` values (a dimension table's ids, mostly dense): the probe then reads one array entry per
 * row instead of hashing and probing the table (DuckDB's "perfect hash join"). Null otherwise (other keys, a sparse
 * range, a `long` beyond ±2^53).
 */
function denseKeyGroups(types: readonly DataType[], nullSafe: readonly boolean[], keys: readonly Vec[], sel: Int32Array | null, gids: Int32Array, m: number): DenseKeys | null {
  if (types.length !== 1 || nullSafe[0] || (types[0] !== 'long' && types[0] !== 'int') || m === 0) return null;
  const k = keys[0]!;
  if (k.kind !== 'num' || k.big !== null) return null;
  const v = k.values;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < m; i++) {
    const x = v[sel === null ? i : sel[i]!]!;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  const span = max - min + 1;
  if (!(span <= 2 * m + 1024)) return null;
  const groups = new Int32Array(span).fill(-1);
  for (let i = 0; i < m; i++) groups[v[sel === null ? i : sel[i]!]! - min] = gids[i]!;
  return { min, groups };
}

/**
 * Walks the (probe row, build row) pairs of probed groups in probe-row order, handing them out in pieces of at most
 * the output arrays' length, so that one key with a million build rows yields bounded pieces.
 *
 * @example
 * const c = new PairCursor(groups, table.start, table.rows);
 * for (let n = c.next(p, b); n > 0; n = c.next(p, b)) use(p.subarray(0, n), b.subarray(0, n));
 */
export class PairCursor {
  private i = 0;
  /** Position in the current row's group (−1: at its first row). */
  private k = -1;

  /**
   * `layout`: `'groups'` (any number of build rows per group, CSR), `'unique'` (one row per group: `rows[start[g]]`,
   * i.e. `rows[g]`), `'identity'` (one row per group, and it is row g).
   */
  constructor(
    private readonly groups: Int32Array,
    private readonly start: Int32Array,
    private readonly rows: Int32Array,
    private readonly layout: 'groups' | 'unique' | 'identity' = 'groups',
  ) {}

  /** Fills `probeOut`/`buildOut` with the next pairs; returns how many (0: done). */
  next(probeOut: Int32Array, buildOut: Int32Array): number {
    if (this.layout !== 'groups') return this.nextUnique(probeOut, buildOut);
    const max = probeOut.length;
    const groups = this.groups;
    const start = this.start;
    const rows = this.rows;
    const m = groups.length;
    let i = this.i;
    let k = this.k;
    let n = 0;
    while (i < m && n < max) {
      const g = groups[i]!;
      if (g < 0) {
        i++;
        continue;
      }
      if (k < 0) k = start[g]!;
      const end = start[g + 1]!;
      while (k < end && n < max) {
        probeOut[n] = i;
        buildOut[n] = rows[k]!;
        n++;
        k++;
      }
      if (k === end) {
        i++;
        k = -1;
      }
    }
    this.i = i;
    this.k = k;
    return n;
  }

  /** `next` with one build row per group: a pair per matched probe row, no group bounds to read. */
  private nextUnique(probeOut: Int32Array, buildOut: Int32Array): number {
    const max = probeOut.length;
    const groups = this.groups;
    const m = groups.length;
    let i = this.i;
    let n = 0;
    if (this.layout === 'identity') {
      for (; i < m && n < max; i++) {
        const g = groups[i]!;
        if (g < 0) continue;
        probeOut[n] = i;
        buildOut[n++] = g;
      }
    } else {
      const rows = this.rows;
      for (; i < m && n < max; i++) {
        const g = groups[i]!;
        if (g < 0) continue;
        probeOut[n] = i;
        buildOut[n++] = rows[g]!;
      }
    }
    this.i = i;
    return n;
  }
}

/** One side's columns, all rows, as the kernel reads them. */
interface Side {
  readonly vecs: readonly Vec[];
  readonly n: number;
}

function sideOf(batch: RecordBatch, schema: Schema): Side {
  return { vecs: schema.fields.map((_, i) => columnVec(batch, schema, i)), n: batch.numRows };
}

/** 1 per row where a predicate is true (null: false). */
function truthMask(v: Vec, n: number): Uint8Array {
  const out = new Uint8Array(n);
  if (v.kind === 'null') return out;
  const b = v as BoolVec;
  const valid = b.valid;
  const values = b.values;
  if (valid === null) out.set(values.subarray(0, n));
  else for (let i = 0; i < n; i++) out[i] = values[i]! & valid[i]!;
  return out;
}

/**
 * Key columns of a join side, each cast to its key's type: what the table hashes, and what partitions a big join.
 *
 * @example
 * joinKeyVecs(spec.keys.map((k) => k.left), spec.keys.map((k) => k.type), batch, spec.leftSchema, env);
 */
export function joinKeyVecs(keys: readonly Bound[], types: readonly DataType[], batch: RecordBatch, schema: Schema, env: EvalEnv): Vec[] {
  const n = batch.numRows;
  return keys.map((k, c) => {
    const v = evaluate(k, batch, schema, env);
    const t = types[c]!;
    return v.kind !== 'null' && typeEquals(v.type as DataType, t) ? v : castVec(v, t, n);
  });
}

/**
 * A join's residual (the conjuncts reading both sides) over candidate pairs: only the columns it reads are gathered,
 * into a narrow batch it is rebound to.
 */
class PairFilter {
  private readonly bound: Bound;
  private readonly reads: readonly number[];
  private readonly schema: Schema;

  constructor(
    residual: Bound,
    combined: Schema,
    private readonly leftWidth: number,
  ) {
    this.reads = [...boundColumns(residual)].sort((a, b) => a - b);
    this.bound = remapColumns(residual, new Map(this.reads.map((c, i) => [c, i])));
    this.schema = schemaOf(this.reads.map((c) => combined.fields[c]!));
  }

  /** Keeps the pairs `(li[i], ri[i])`, `i < n`, for which the residual is true; returns how many remain (compacted in place). */
  filter(left: Side, right: Side, li: Int32Array, ri: Int32Array, n: number, env: EvalEnv): number {
    const lsel = li.subarray(0, n);
    const rsel = ri.subarray(0, n);
    const vecs = this.reads.map((c) => (c < this.leftWidth ? gatherVec(left.vecs[c]!, lsel) : gatherVec(right.vecs[c - this.leftWidth]!, rsel)));
    const mask = truthMask(evaluate(this.bound, batchFromVecs(this.schema, vecs, n), this.schema, env), n);
    let m = 0;
    for (let i = 0; i < n; i++) {
      if (mask[i] === 0) continue;
      li[m] = li[i]!;
      ri[m] = ri[i]!;
      m++;
    }
    return m;
  }
}

/**
 * One join, run from its spec: the build side is given whole (`build`), then the probe side batch by batch (`probe`),
 * then `finish` emits the build rows a preserved build side never matched. Output batches hold at most
 * `JOIN_BATCH_ROWS` rows. Left semi and left anti joins build on the right (`spec.buildSide` must say so).
 *
 * @example
 * const j = new HashJoiner(joinSpecOf(analysis, 'right'), { batchTimestampMs: Date.now() });
 * j.build(rightBatches);
 * for (const b of leftBatches) for (const out of j.probe(b)) emit(out);
 * for (const out of j.finish()) emit(out);
 */
export class HashJoiner {
  private readonly table: JoinHashTable;
  private readonly buildLeft: boolean;
  private readonly buildSchema: Schema;
  private readonly probeSchema: Schema;
  private readonly buildKeys: readonly Bound[];
  private readonly probeKeys: readonly Bound[];
  private readonly buildCondition: Bound | null;
  private readonly probeCondition: Bound | null;
  private readonly types: readonly DataType[];
  private readonly filter: PairFilter | null;
  private readonly semiAnti: boolean;
  private readonly probePreserved: boolean;
  private readonly buildPreserved: boolean;
  private build_: Side = { vecs: [], n: 0 };
  private buildKeyVecs: Vec[] = [];
  private buildOk: Uint8Array | null = null;
  /** Build rows matched by some probe row (a preserved build side). */
  private buildMatched = new Uint8Array(0);
  /** Pairs (probe row, build row) of the output batch being filled (reused). */
  private readonly pairP = new Int32Array(JOIN_BATCH_ROWS);
  private readonly pairB = new Int32Array(JOIN_BATCH_ROWS);
  /** Build side rows. */
  get buildRows(): number {
    return this.build_.n;
  }

  constructor(
    readonly spec: JoinSpec,
    private readonly env: EvalEnv,
  ) {
    const t = spec.joinType;
    this.semiAnti = t === 'leftSemi' || t === 'leftAnti';
    if (this.semiAnti && spec.buildSide !== 'right') throw new Error(`a ${t} join builds on its right side`);
    this.buildLeft = spec.buildSide === 'left';
    this.buildSchema = this.buildLeft ? spec.leftSchema : spec.rightSchema;
    this.probeSchema = this.buildLeft ? spec.rightSchema : spec.leftSchema;
    this.buildKeys = spec.keys.map((k) => (this.buildLeft ? k.left : k.right));
    this.probeKeys = spec.keys.map((k) => (this.buildLeft ? k.right : k.left));
    this.buildCondition = this.buildLeft ? spec.leftCondition : spec.rightCondition;
    this.probeCondition = this.buildLeft ? spec.rightCondition : spec.leftCondition;
    this.types = spec.keys.map((k) => k.type);
    this.table = new JoinHashTable(this.types, spec.keys.map((k) => k.nullSafe));
    this.filter = spec.residual === null ? null : new PairFilter(spec.residual, spec.combined, spec.leftSchema.fields.length);
    const pl = preservesLeft(t);
    const pr = preservesRight(t);
    this.probePreserved = this.buildLeft ? pr : pl;
    this.buildPreserved = this.buildLeft ? pl : pr;
  }

  /** Builds the table over every row of the build side (given as batches of its schema). */
  build(batches: readonly RecordBatch[]): void {
    const schema = this.buildSchema;
    const all = batches.length === 0 ? emptyBatch(schema) : batches.length === 1 ? batches[0]! : concatBatches(batches, schema);
    this.build_ = sideOf(all, schema);
    const n = all.numRows;
    this.buildKeyVecs = joinKeyVecs(this.buildKeys, this.types, all, schema, this.env);
    this.buildOk = this.buildCondition === null ? null : truthMask(evaluate(this.buildCondition, all, schema, this.env), n);
    this.table.build(this.buildKeyVecs, n, this.buildOk);
    this.buildMatched = new Uint8Array(this.buildPreserved ? n : 0);
  }

  /** The output batches of one probe batch (its rows joined with the build side). */
  *probe(batch: RecordBatch): Iterable<RecordBatch> {
    const n = batch.numRows;
    if (n === 0) return;
    const schema = this.probeSchema;
    const probe = sideOf(batch, schema);
    const ok = this.probeCondition === null ? null : truthMask(evaluate(this.probeCondition, batch, schema, this.env), n);
    const groups = this.table.probe(joinKeyVecs(this.probeKeys, this.types, batch, schema, this.env), n, ok);
    if (this.table.bloated) this.table.build(this.buildKeyVecs, this.build_.n, this.buildOk);
    const needProbeFlags = this.probePreserved || this.semiAnti;
    let probeMatched: Uint8Array | null = null;
    if (this.semiAnti && this.filter === null) {
      // Any group is a match: no pair to look at.
      probeMatched = new Uint8Array(n);
      for (let i = 0; i < n; i++) probeMatched[i] = groups[i]! >= 0 ? 1 : 0;
    } else {
      if (needProbeFlags) probeMatched = new Uint8Array(n);
      const cursor = this.table.pairs(groups);
      // Pairs go straight into the output buffers after the ones already accepted; a residual compacts its piece in
      // place, so a selective one still emits full batches.
      const cp = this.pairP;
      const cb = this.pairB;
      let pending = 0;
      for (;;) {
        const c = cursor.next(cp.subarray(pending), cb.subarray(pending));
        if (c === 0) break;
        let m = c;
        if (this.filter !== null) {
          const p = cp.subarray(pending, pending + c);
          const b = cb.subarray(pending, pending + c);
          m = this.buildLeft ? this.filter.filter(this.build_, probe, b, p, c, this.env) : this.filter.filter(probe, this.build_, p, b, c, this.env);
        }
        if (probeMatched !== null) for (let i = pending; i < pending + m; i++) probeMatched[cp[i]!] = 1;
        if (this.buildPreserved) {
          const bm = this.buildMatched;
          for (let i = pending; i < pending + m; i++) bm[cb[i]!] = 1;
        }
        if (this.semiAnti) continue;
        pending += m;
        if (pending === JOIN_BATCH_ROWS) {
          yield this.emitPairs(probe, pending);
          pending = 0;
        }
      }
      if (pending > 0) yield this.emitPairs(probe, pending);
    }
    if (this.semiAnti) {
      const want = this.spec.joinType === 'leftSemi' ? 1 : 0;
      yield* this.emitRows(probe, probeMatched!, want, 'probe');
    } else if (this.probePreserved) {
      yield* this.emitRows(probe, probeMatched!, 0, 'probe');
    }
  }

  /** The rows of a preserved build side that no probe row matched, null-padded. */
  *finish(): Iterable<RecordBatch> {
    if (!this.buildPreserved) return;
    yield* this.emitRows(this.build_, this.buildMatched, 0, 'build');
  }

  /** Output of the first `n` pairs of the pair buffers (gathered now: the buffers are reused after). */
  private emitPairs(probe: Side, n: number): RecordBatch {
    const p = this.pairP.subarray(0, n);
    const b = this.pairB.subarray(0, n);
    return this.buildLeft ? outputBatch(this.spec, this.build_, probe, b, p, n) : outputBatch(this.spec, probe, this.build_, p, b, n);
  }

  /** Rows of one side whose flag is `want`, each alone (the other side null, or absent for semi/anti joins). */
  private *emitRows(side: Side, flags: Uint8Array, want: number, which: 'probe' | 'build'): Iterable<RecordBatch> {
    const n = side.n;
    let count = 0;
    for (let i = 0; i < n; i++) if (flags[i] === want) count++;
    if (count === 0) return;
    const sel = new Int32Array(count);
    let p = 0;
    for (let i = 0; i < n; i++) if (flags[i] === want) sel[p++] = i;
    const isLeft = (which === 'build') === this.buildLeft;
    const none = new Int32Array(Math.min(count, JOIN_BATCH_ROWS)).fill(-1);
    const empty: Side = { vecs: [], n: 0 };
    for (let a = 0; a < count; a += JOIN_BATCH_ROWS) {
      const b = Math.min(count, a + JOIN_BATCH_ROWS);
      const rows = sel.subarray(a, b);
      const pad = none.subarray(0, b - a);
      yield isLeft ? outputBatch(this.spec, side, empty, rows, pad, b - a) : outputBatch(this.spec, empty, side, pad, rows, b - a);
    }
  }
}

/**
 * The join's output columns for pairs of left and right rows (an index of −1 gives that side's nulls), per
 * `spec.output`: using columns of a full outer join coalesce the two sides.
 */
function outputBatch(spec: JoinSpec, left: Side, right: Side, li: Int32Array, ri: Int32Array, n: number): RecordBatch {
  const fields = spec.outputSchema.fields;
  const lf = spec.leftSchema.fields;
  const rf = spec.rightSchema.fields;
  const vecs = spec.output.map((o, c): Vec => {
    const type = fields[c]!.type;
    if (o.from !== 'coalesce') {
      const side = o.from === 'left' ? left : right;
      return side.vecs.length === 0 ? nullVec(type, n) : gatherVecOrNull(side.vecs[o.ordinal]!, o.from === 'left' ? li : ri, type);
    }
    const lv = left.vecs.length === 0 ? null : castVec(gatherVecOrNull(left.vecs[o.left]!, li, lf[o.left]!.type), o.type, n);
    const rv = right.vecs.length === 0 ? null : castVec(gatherVecOrNull(right.vecs[o.right]!, ri, rf[o.right]!.type), o.type, n);
    if (lv === null) return rv!;
    if (rv === null) return lv;
    return coalesce(lv, rv, n);
  });
  return batchFromVecs(spec.outputSchema, vecs, n);
}

/** `a`, or `b` where `a` is null (same type and length). */
function coalesce(a: Vec, b: Vec, n: number): Vec {
  if (a.valid === null) return a;
  const sel = new Int32Array(n);
  const av = a.valid;
  for (let i = 0; i < n; i++) sel[i] = av[i] === 1 ? i : n + i;
  return gatherVec(concatVecs([a, b]), sel);
}

/**
 * One batch of every row of `batches` (a side's input, whole).
 *
 * @example
 * const all = concatBatches(rightBatches, spec.rightSchema); // all.numRows: the rows of every batch
 */
export function concatBatches(batches: readonly RecordBatch[], schema: Schema): RecordBatch {
  const n = batches.reduce((s, b) => s + b.numRows, 0);
  const vecs = schema.fields.map((_, i) => concatVecs(batches.map((b) => columnVec(b, schema, i))));
  return batchFromVecs(schema, vecs, n);
}

/**
 * A whole join on the calling thread: the build side whole, then the probe side batch by batch, then the unmatched
 * rows of a preserved build side.
 *
 * @example
 * for (const b of joinBatches(spec, leftBatches, rightBatches, { batchTimestampMs: 0 })) emit(b);
 */
export function* joinBatches(spec: JoinSpec, left: readonly RecordBatch[], right: readonly RecordBatch[], env: EvalEnv): Iterable<RecordBatch> {
  const joiner = new HashJoiner(spec, env);
  joiner.build(spec.buildSide === 'left' ? left : right);
  for (const b of spec.buildSide === 'left' ? right : left) yield* joiner.probe(b);
  yield* joiner.finish();
}


