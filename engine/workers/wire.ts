/**
 * Batches between threads as raw column buffers: the engine's own `Vec`s (typed arrays), copied once into buffers
 * the message owns and transferred. Unlike Arrow IPC this needs no encoder or decoder, and the receiving thread
 * reads `long`/`timestamp` columns as the doubles the kernels use, without converting from Int64 (the Arrow buffer
 * is only written if something asks for it, see `dataFromVec`).
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';
import type { Schema } from '../types/data-type.js';
import type { StateTable } from '../physical/partitions/keyed-operator.js';
import { batchFromVecs, columnVec } from '../types/values.js';
import type { Vec } from '../kernels/vec.js';
import { gatherVec, isIdentity } from '../kernels/select-kernel.js';

/** One batch on the wire: its schema, row count and one `Vec` per field, each typed array owning its buffer. */
export interface WireBatch {
  readonly schema: Schema;
  readonly length: number;
  readonly vecs: readonly Vec[];
}

/** Rebased offsets `[a, b]` of a string or list column: the slice's first offset becomes 0. */
function rebase(offsets: Int32Array, a: number, b: number): Int32Array {
  const out = new Int32Array(b - a + 1);
  const base = offsets[a]!;
  for (let i = 0; i <= b - a; i++) out[i] = offsets[a + i]! - base;
  return out;
}

/** Rows `[a, b)` of `v` in fresh buffers (every typed array its own `ArrayBuffer`). */
function sliceVec(v: Vec, a: number, b: number): Vec {
  const valid = v.valid === null ? null : v.valid.slice(a, b);
  const length = b - a;
  switch (v.kind) {
    case 'null':
      return { kind: 'null', type: 'null', length, valid: valid! };
    case 'num':
      return { kind: 'num', type: v.type, length, values: v.values.slice(a, b), big: v.big === null ? null : v.big.slice(a, b), valid };
    case 'bool':
      return { kind: 'bool', type: 'boolean', length, values: v.values.slice(a, b), valid };
    case 'str':
      return { kind: 'str', type: v.type, length, offsets: rebase(v.offsets, a, b), bytes: v.bytes.slice(v.offsets[a]!, v.offsets[b]!), valid };
    case 'struct':
      return { kind: 'struct', type: v.type, length, fields: v.fields.map((f) => sliceVec(f, a, b)), valid };
    case 'list':
      return { kind: 'list', type: v.type, length, offsets: rebase(v.offsets, a, b), child: sliceVec(v.child, v.offsets[a]!, v.offsets[b]!), valid };
  }
}

function collect(v: Vec, out: ArrayBuffer[]): void {
  const add = (t: { buffer: ArrayBufferLike } | null) => {
    if (t !== null) out.push(t.buffer as ArrayBuffer);
  };
  add(v.valid);
  switch (v.kind) {
    case 'null':
      return;
    case 'num':
      add(v.values);
      add(v.big);
      return;
    case 'bool':
      add(v.values);
      return;
    case 'str':
      add(v.offsets);
      add(v.bytes);
      return;
    case 'struct':
      for (const f of v.fields) collect(f, out);
      return;
    case 'list':
      add(v.offsets);
      collect(v.child, out);
      return;
  }
}

/**
 * Rows `[from, to)` of a batch as a `WireBatch` in fresh buffers (the batch itself is untouched).
 *
 * @example
 * const w = toWire(batch, schema, 0, batch.numRows);
 * port.postMessage(w, wireTransferables([w]));
 */
export function toWire(batch: RecordBatch, schema: Schema, from = 0, to = batch.numRows): WireBatch {
  return { schema, length: to - from, vecs: schema.fields.map((_, i) => sliceVec(columnVec(batch, schema, i), from, to)) };
}

/**
 * The rows `sel` of a batch as a `WireBatch`, gathered straight into fresh buffers (one copy, not a gather and then a
 * copy for the wire).
 *
 * @example
 * const w = gatherToWire(batch, schema, Int32Array.of(0, 5, 7));
 */
export function gatherToWire(batch: RecordBatch, schema: Schema, sel: Int32Array): WireBatch {
  // An identity gather would hand out the batch's own arrays: copy those instead.
  if (sel.length === batch.numRows && isIdentity(sel)) return toWire(batch, schema);
  return { schema, length: sel.length, vecs: schema.fields.map((_, i) => gatherVec(columnVec(batch, schema, i), sel)) };
}

/**
 * The batch a `WireBatch` carries, over its buffers (no copy); its columns read back as the same `Vec`s.
 *
 * @example
 * const batch = fromWire(task.batch);
 */
export function fromWire(w: WireBatch): RecordBatch {
  return batchFromVecs(w.schema, w.vecs, w.length);
}

/**
 * The buffers to transfer with some wire batches (each once).
 *
 * @example
 * pool.run(p, task, wireTransferables([task.batch]));
 */
export function wireTransferables(batches: readonly (WireBatch | null | undefined)[]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const w of batches) if (w) for (const v of w.vecs) collect(v, out);
  return [...new Set(out)];
}

/** Rows of each named state table on the wire (state moving between threads). */
export type WireTables = readonly { readonly name: string; readonly rows: WireBatch | null }[];

/**
 * Each table's rows as wire batches (fresh buffers, to transfer).
 *
 * @example
 * const w = tablesToWire(op.tables, snapshotTables(op)); // post with wireTransferables(w.map((t) => t.rows))
 */
export function tablesToWire(tables: readonly StateTable[], rows: ReadonlyMap<string, RecordBatch | null>): WireTables {
  return tables.map((t) => {
    const b = rows.get(t.name) ?? null;
    return { name: t.name, rows: b && b.numRows > 0 ? toWire(b, t.schema) : null };
  });
}

/** The tables' rows of `tablesToWire`. */
export function tablesFromWire(w: WireTables): Map<string, RecordBatch | null> {
  return new Map(w.map((t) => [t.name, t.rows ? fromWire(t.rows) : null]));
}
