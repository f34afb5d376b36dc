/**
 * The state watermarks of a stream–stream join (Spark's StreamingSymmetricHashJoinHelper.getStateWatermarkPredicates
 * and StreamingJoinHelper.getStateValueWatermark): which rows of each side's state can never match a future row of
 * the other side once the event-time watermark is W, so they can be evicted (and, for an outer join, emitted with
 * nulls when they never matched).
 *
 * - An equi-key that is a watermark column (a timestamp, or a window over one) on either side: both sides evict rows
 *   whose key (a window's end) is ≤ W.
 * - Else, for a side with a watermark column, range conjuncts `a + c1 <|≤|>|≥ b + c2` between that column and the
 *   other side's watermark column (each `col`, `col ± interval(…)`) bound its time from below: `l > r + c` gives
 *   `l ≤ W + c` evictable, `≥` one millisecond less; several bounds → the smallest. A conjunct bounding from above
 *   gives nothing. `l BETWEEN r − 5s AND r + 5s` gives both sides `time ≤ W − 5001`.
 *
 * @module
 */
import type { Bound } from './bound-expr.js';
import { preservesLeft, preservesRight, type JoinType } from './join-type.js';
import type { JoinAnalysis } from './join-analysis.js';
import { isStruct, typeEquals, WINDOW_TYPE, type DataType, type Schema } from '../types/data-type.js';

/** Which side of a join. */
export type JoinSide = 'left' | 'right';

/** The late-row rule of one side: its (first) watermark column, a timestamp or a window (late: its end ≤ watermark). */
export interface SideTime {
  readonly ordinal: number;
  readonly window: boolean;
  readonly name: string;
}

/**
 * How one side's state is evicted at the batch's eviction watermark W: rows whose equi-key `key` (a window's end)
 * is ≤ W, or rows whose column `ordinal` (a window's end) is ≤ W + `offsetMs`.
 */
export type SideEviction =
  | { readonly kind: 'key'; readonly key: number; readonly window: boolean; readonly text: string }
  | { readonly kind: 'value'; readonly ordinal: number; readonly window: boolean; readonly offsetMs: number; readonly text: string };

/** The watermark analysis of a stream–stream join. */
export interface JoinWatermarks {
  readonly lateLeft: SideTime | null;
  readonly lateRight: SideTime | null;
  readonly left: SideEviction | null;
  readonly right: SideEviction | null;
}

function isWindow(t: DataType): boolean {
  return isStruct(t) && typeEquals(t, WINDOW_TYPE);
}

/** The first watermark column of a side (Spark: the first attribute carrying the watermark metadata). */
function sideTime(schema: Schema, wm: ReadonlyMap<string, number>): SideTime | null {
  for (let i = 0; i < schema.fields.length; i++) {
    const f = schema.fields[i]!;
    if (!wm.has(f.name)) continue;
    if (f.type === 'timestamp' || isWindow(f.type)) return { ordinal: i, window: f.type !== 'timestamp', name: f.name };
  }
  return null;
}

/** `col`, `col ± interval` (nested): the column and the offset in ms, or null. */
function linear(b: Bound): { ordinal: number; offsetMs: number } | null {
  if (b.k === 'ref' && b.path.length === 0) return b.type === 'timestamp' ? { ordinal: b.ordinal, offsetMs: 0 } : null;
  if (b.k === 'call' && b.fn === 'timestampAdd') {
    const inner = linear(b.args[0]!);
    const ms = Number(b.options?.['ms']);
    return inner === null || !Number.isFinite(ms) ? null : { ordinal: inner.ordinal, offsetMs: inner.offsetMs + ms };
  }
  return null;
}

const FLIP: Record<string, string> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=' };

/**
 * The smallest lower bound of `side`'s column `ordinal` relative to W from the range conjuncts, as an offset (state
 * watermark = W + offset), or null when no conjunct bounds it. `ordinal` null: any column of the side (Spark's
 * checker, which does not ask for the side's own watermark).
 */
export function rangeOffset(j: JoinAnalysis, side: JoinSide, ordinal: number | null): number | null {
  const lw = j.left.schema.fields.length;
  const otherWm = side === 'left' ? j.right.watermarkColumns : j.left.watermarkColumns;
  const otherSchema = side === 'left' ? j.right.schema : j.left.schema;
  const mine = (c: number) => (side === 'left' ? c < lw : c >= lw);
  let best: number | null = null;
  for (const c of j.conjuncts) {
    const b = c.bound;
    if (c.side !== 'both' || b.k !== 'cmp' || !(b.op in FLIP)) continue;
    const l = linear(b.l);
    const r = linear(b.r);
    if (l === null || r === null) continue;
    let s: typeof l;
    let o: typeof l;
    let op: string = b.op;
    if (mine(l.ordinal) && !mine(r.ordinal)) [s, o] = [l, r];
    else if (mine(r.ordinal) && !mine(l.ordinal)) [s, o, op] = [r, l, FLIP[b.op]!];
    else continue;
    const own = side === 'left' ? s.ordinal : s.ordinal - lw;
    if (ordinal !== null && own !== ordinal) continue;
    const otherName = otherSchema.fields[side === 'left' ? o.ordinal - lw : o.ordinal]!.name;
    if (!otherWm.has(otherName)) continue;
    // s + cs > o + co with o > W for every future row of the other side: s ≤ W + co − cs can never match.
    if (op !== '>' && op !== '>=') continue;
    const bound = o.offsetMs - s.offsetMs - (op === '>=' ? 1 : 0);
    if (best === null || bound < best) best = bound;
  }
  return best;
}

/** The equi-key that carries a watermark (a plain watermark column on either side), or null. */
function watermarkKey(j: JoinAnalysis): { key: number; window: boolean; text: string } | null {
  for (let k = 0; k < j.keys.length; k++) {
    const key = j.keys[k]!;
    for (const [b, info] of [
      [key.left, j.left],
      [key.right, j.right],
    ] as const) {
      if (b.k !== 'ref' || b.path.length !== 0) continue;
      const f = info.schema.fields[b.ordinal]!;
      if (info.watermarkColumns.has(f.name) && (f.type === 'timestamp' || isWindow(f.type))) return { key: k, window: f.type !== 'timestamp', text: key.text };
    }
  }
  return null;
}

/**
 * The late-row and state-eviction rules of both sides of a stream–stream join.
 *
 * @example
 * const w = joinWatermarks(analyzeJoin(node));
 * w.left; // { kind: 'value', ordinal: 1, window: false, offsetMs: -3_600_001, text: 'impressionTime <= watermark - 3600001ms' }
 */
export function joinWatermarks(j: JoinAnalysis): JoinWatermarks {
  const lateLeft = sideTime(j.left.schema, j.left.watermarkColumns);
  const lateRight = sideTime(j.right.schema, j.right.watermarkColumns);
  const key = watermarkKey(j);
  const byKey = (): SideEviction | null =>
    key === null ? null : { kind: 'key', key: key.key, window: key.window, text: `key ${key.text}${key.window ? '.end' : ''} <= watermark` };
  const byValue = (side: JoinSide, t: SideTime | null): SideEviction | null => {
    if (t === null || t.window) return null;
    const off = rangeOffset(j, side, t.ordinal);
    if (off === null) return null;
    const sign = off < 0 ? '-' : '+';
    return { kind: 'value', ordinal: t.ordinal, window: false, offsetMs: off, text: `${t.name} <= watermark ${sign} ${Math.abs(off)}ms` };
  };
  return {
    lateLeft,
    lateRight,
    left: byKey() ?? byValue('left', lateLeft),
    right: byKey() ?? byValue('right', lateRight),
  };
}

/**
 * Spark's check that an outer or semi stream–stream join can ever emit its unmatched rows: a watermark in the join
 * keys, or a range condition giving the preserved side (full outer: either side) a state watermark from the other
 * side's watermark.
 *
 * @example
 * canEvictPreserved(analyzeJoin(node)); // false for a left outer join on the key alone without watermarked keys
 */
export function canEvictPreserved(j: JoinAnalysis): boolean {
  if (watermarkKey(j) !== null) return true;
  const t: JoinType = j.joinType;
  const left = rangeOffset(j, 'left', null) !== null;
  const right = rangeOffset(j, 'right', null) !== null;
  if (t === 'fullOuter') return left || right;
  if (preservesLeft(t) || t === 'leftSemi') return left;
  if (preservesRight(t)) return right;
  return true;
}

/**
 * The watermark a stream–stream join passes downstream (Spark's produceOutputWatermark): the smallest of the two
 * state watermarks and W.
 *
 * @example
 * joinOutputWatermark(w, 10_000); // 10_000 − 5_001 for `l BETWEEN r − 5s AND r + 5s`
 */
export function joinOutputWatermark(w: JoinWatermarks, watermarkMs: number): number {
  let out = watermarkMs;
  for (const e of [w.left, w.right]) if (e !== null && e.kind === 'value') out = Math.min(out, watermarkMs + e.offsetMs);
  return out;
}
