/**
 * The key index of a `transformWithState` partition: grouping keys ↔ dense key ids (what every state variable is
 * indexed by). A single string (or binary) key column is indexed by its string dictionary alone — the dictionary's id
 * is the key id, so a batch's keys are hashed once and no second table holds them; any other key goes through the
 * key codec and a group table.
 *
 * @module
 */
import { GroupTable, StringDict } from '../../kernels/hash-kernel.js';
import { KeyCodec } from '../../kernels/key-codec.js';
import { strAt, type StrVec, type Vec } from '../../kernels/vec.js';
import type { Field } from '../../types/data-type.js';
import { timestampInRange, valueAt } from '../../types/values.js';

/**
 * Grouping keys ↔ dense key ids (0 … size − 1), and back to key columns and to the values a processor sees.
 *
 * @example
 * const keys = keyIndexOf([{ name: 'user', type: 'string', nullable: true }]);
 * keys.ids([userColumn], null, userColumn.length); // Int32Array of key ids, new keys added
 * keys.values(Int32Array.of(0)); // ['alice']
 */
export interface KeyIndex {
  /** Keys held (ids are 0 … size − 1). */
  readonly size: number;
  /** Bytes held by the index's arrays. */
  readonly memoryBytes: number;
  /** Key ids of `m` rows (`sel[i]` or `i`) of key columns `cols`, new keys added. */
  ids(cols: readonly Vec[], sel: Int32Array | null, m: number): Int32Array;
  /** Key columns of key ids. */
  vecs(gids: Int32Array): Vec[];
  /** The user values of keys: a column value for one key column, else `{ col: value }`. */
  values(gids: Int32Array): unknown[];
}

/**
 * The key index for key fields: by string dictionary for one string or binary column, else by codec and group table.
 *
 * @example
 * const keys = keyIndexOf(keyFields);
 */
export function keyIndexOf(fields: readonly Field[]): KeyIndex {
  const t = fields.length === 1 ? fields[0]!.type : null;
  return t === 'string' || t === 'binary' ? new StringKeyIndex(t) : new CodecKeyIndex(fields);
}

/** Reads row `i` of a column as `collect()` gives it. */
export type Reader = (i: number) => unknown;

/**
 * A reader of a column's rows as `collect()` gives them (typed arrays read directly for the common types).
 *
 * @example
 * readerOf(numVec('int', Float64Array.of(1, 2)))(1); // 2
 */
export function readerOf(v: Vec): Reader {
  const valid = v.valid;
  if (v.kind === 'num') {
    const vals = v.values;
    if (v.type === 'int' || v.type === 'double' || (v.type === 'long' && v.big === null)) {
      return valid === null ? (i) => vals[i] : (i) => (valid[i] === 0 ? null : vals[i]);
    }
    if (v.type === 'timestamp') {
      return (i) => {
        if (valid !== null && valid[i] === 0) return null;
        const ms = vals[i]!;
        return timestampInRange(ms) ? new Date(ms) : valueAt(v, i);
      };
    }
  }
  if (v.kind === 'bool') {
    const vals = v.values;
    return valid === null ? (i) => vals[i] === 1 : (i) => (valid[i] === 0 ? null : vals[i] === 1);
  }
  if (v.kind === 'str' && v.type === 'string') return (i) => (valid !== null && valid[i] === 0 ? null : strAt(v, i));
  return (i) => valueAt(v, i);
}

/** One string or binary key column: the dictionary id is the key id (null: an id no string maps to). */
class StringKeyIndex implements KeyIndex {
  private readonly dict = new StringDict();
  private nullId = -1;

  constructor(private readonly type: 'string' | 'binary') {}

  get size(): number {
    return this.dict.size;
  }

  get memoryBytes(): number {
    return this.dict.memoryBytes;
  }

  ids(cols: readonly Vec[], sel: Int32Array | null, m: number): Int32Array {
    const col = cols[0]!;
    const out = new Int32Array(m);
    if (col.kind === 'null') {
      out.fill(this.nullKey());
      return out;
    }
    const ids = this.dict.encode(col as StrVec);
    for (let i = 0; i < m; i++) {
      const id = ids[sel === null ? i : sel[i]!]!;
      out[i] = id >= 0 ? id : this.nullKey();
    }
    return out;
  }

  private nullKey(): number {
    if (this.nullId < 0) this.nullId = this.dict.reserveId();
    return this.nullId;
  }

  vecs(gids: Int32Array): Vec[] {
    let valid: Uint8Array | null = null;
    if (this.nullId >= 0) {
      for (let i = 0; i < gids.length; i++) {
        if (gids[i] === this.nullId) {
          valid ??= new Uint8Array(gids.length).fill(1);
          valid[i] = 0;
        }
      }
    }
    return [this.dict.gather(gids, valid, this.type)];
  }

  values(gids: Int32Array): unknown[] {
    const n = gids.length;
    const out = new Array<unknown>(n);
    if (this.type === 'string') {
      const d = this.dict;
      const nul = this.nullId;
      for (let i = 0; i < n; i++) out[i] = gids[i] === nul ? null : d.stringOf(gids[i]!);
      return out;
    }
    const rd = readerOf(this.vecs(gids)[0]!);
    for (let i = 0; i < n; i++) out[i] = rd(i);
    return out;
  }
}

/** Any other key: encoded by a key codec, ids from a group table. */
class CodecKeyIndex implements KeyIndex {
  private readonly codec: KeyCodec;
  private readonly table: GroupTable;

  constructor(private readonly fields: readonly Field[]) {
    this.codec = new KeyCodec(fields.map((f) => f.type));
    this.table = new GroupTable(this.codec.width);
  }

  get size(): number {
    return this.table.size;
  }

  get memoryBytes(): number {
    return this.table.memoryBytes;
  }

  ids(cols: readonly Vec[], sel: Int32Array | null, m: number): Int32Array {
    const out = new Int32Array(m);
    this.table.findOrInsert(this.codec.encode(cols, sel, m), m, out);
    this.codec.release();
    return out;
  }

  vecs(gids: Int32Array): Vec[] {
    return this.fields.map((_, c) => this.codec.decode(this.table.keys, gids, c));
  }

  values(gids: Int32Array): unknown[] {
    const kv = this.vecs(gids);
    const n = gids.length;
    const out = new Array<unknown>(n);
    if (kv.length === 1) {
      const rd = readerOf(kv[0]!);
      for (let i = 0; i < n; i++) out[i] = rd(i);
      return out;
    }
    for (let i = 0; i < n; i++) {
      const o: Record<string, unknown> = {};
      for (let c = 0; c < kv.length; c++) o[this.fields[c]!.name] = valueAt(kv[c]!, i);
      out[i] = o;
    }
    return out;
  }
}
