/**
 * Encodes grouping keys of any type as rows of doubles whose bits identify the key exactly, for `GroupTable`, and
 * decodes group keys back into columns. Numbers are stored as values (−0 folded into 0, one NaN), `long`s as their raw
 * 64 bits, strings as ids of an operator-lifetime `StringDict`, other types through their JSON text. The last slot holds
 * a bit per key that is null, and a null key's own slot is always 0, so nulls form one group whatever their column
 * holds underneath. A window column (`window {start, end}`) is stored as the id of its (start, end) pair in a typed
 * pair table, so grouping by a projected window hashes numbers, not JSON text.
 *
 * @module
 */
import { isStruct, typeEquals, WINDOW_TYPE, type DataType } from '../types/data-type.js';
import { ColumnBuilder, jsonValueAt } from '../types/values.js';
import { GroupTable, StringDict } from './hash-kernel.js';
import { LastOf, TWO32, vecFromData, windowStructVec, type NumType, type NumVec, type StrVec, type StructVec, type Vec } from './vec.js';

type SlotKind = 'num' | 'i64' | 'bool' | 'str' | 'json' | 'win';

function slotKind(t: DataType): SlotKind {
  if (isStruct(t) && typeEquals(t, WINDOW_TYPE)) return 'win';
  if (t === 'long') return 'i64';
  if (t === 'int' || t === 'double' || t === 'timestamp' || t === 'date') return 'num';
  if (t === 'boolean') return 'bool';
  if (t === 'string' || t === 'binary') return 'str';
  return 'json';
}

/**
 * Key rows for a fixed list of key types.
 *
 * @example
 * const codec = new KeyCodec(['timestamp', 'string']);
 * const keys = codec.encode([starts, users], null, rows); // rows × codec.width doubles
 */
export class KeyCodec {
  readonly width: number;
  private readonly kinds: SlotKind[];
  private readonly dicts: (StringDict | null)[];
  /** The ids of the string column each slot last encoded (valid for as long as the dictionary lives). */
  private readonly lastIds: LastOf<Int32Array>[];
  /** Window slots: (start, end, field-null bits) rows; a window's id is its row. */
  private readonly pairs: (GroupTable | null)[];
  /** The buffer `encode` returns views of (one per codec: no allocation per batch). */
  private scratch = new Float64Array(0);
  /** Window slots' pair rows and ids while encoding (reused). */
  private pairRows = new Float64Array(0);
  private pairIds = new Int32Array(0);

  constructor(readonly types: readonly DataType[]) {
    this.kinds = types.map(slotKind);
    this.dicts = this.kinds.map((k) => (k === 'str' || k === 'json' ? new StringDict() : null));
    this.pairs = this.kinds.map((k) => (k === 'win' ? new GroupTable(3) : null));
    this.width = types.length + 1;
    this.lastIds = types.map(() => new LastOf<Int32Array>());
  }

  /**
   * Distinct strings the codec's dictionaries hold (they only grow).
   *
   * @example
   * new KeyCodec(['string']).dictionarySize; // 0
   */
  get dictionarySize(): number {
    let n = 0;
    for (const d of this.dicts) if (d !== null) n += d.size;
    for (const p of this.pairs) if (p !== null) n += p.size;
    return n;
  }

  /**
   * Encodes `m` key rows: row `i` takes its values from row `rows[i]` (or `i`) of each key column. A column given as a
   * `Float64Array` is read directly by position `i` (e.g. window starts already expanded per row). The result is a
   * view of the codec's own buffer, valid until its next `encode`: hand it to a `GroupTable` (which copies keys).
   */
  encode(cols: readonly (Vec | Float64Array)[], rows: Int32Array | null, m: number): Float64Array {
    const W = this.width;
    if (this.scratch.length < m * W) this.scratch = new Float64Array(Math.max(m * W, this.scratch.length * 2));
    const out = this.scratch.subarray(0, m * W);
    out.fill(0);
    const words = new Int32Array(out.buffer, 0, m * W * 2);
    const nullSlot = W - 1;
    for (let c = 0; c < cols.length; c++) {
      const col = cols[c]!;
      if (col instanceof Float64Array) {
        for (let i = 0; i < m; i++) {
          const x = col[i]!;
          out[i * W + c] = x !== x ? NaN : x + 0;
        }
        continue;
      }
      const kind = this.kinds[c]!;
      const valid = col.kind === 'null' ? new Uint8Array(col.length) : col.valid;
      const bit = 1 << c;
      if (valid !== null) {
        for (let i = 0; i < m; i++) {
          const r = rows === null ? i : rows[i]!;
          if (valid[r] === 0) out[i * W + nullSlot] += bit;
        }
      }
      if (col.kind === 'null') continue;
      switch (kind) {
        case 'num': {
          const v = (col as Extract<Vec, { kind: 'num' }>).values;
          for (let i = 0; i < m; i++) {
            const x = v[rows === null ? i : rows[i]!]!;
            out[i * W + c] = x !== x ? NaN : x + 0;
          }
          break;
        }
        case 'i64': {
          const nv = col as Extract<Vec, { kind: 'num' }>;
          if (nv.big !== null) {
            const bw = new Int32Array(nv.big.buffer, nv.big.byteOffset, nv.big.length * 2);
            for (let i = 0; i < m; i++) {
              const r = rows === null ? i : rows[i]!;
              words[2 * (i * W + c)] = bw[2 * r]!;
              words[2 * (i * W + c) + 1] = bw[2 * r + 1]!;
            }
          } else {
            const v = nv.values;
            for (let i = 0; i < m; i++) {
              const x = v[rows === null ? i : rows[i]!]!;
              const hi = Math.floor(x / TWO32);
              words[2 * (i * W + c)] = (x - hi * TWO32) | 0;
              words[2 * (i * W + c) + 1] = hi | 0;
            }
          }
          break;
        }
        case 'bool': {
          const v = (col as Extract<Vec, { kind: 'bool' }>).values;
          for (let i = 0; i < m; i++) out[i * W + c] = v[rows === null ? i : rows[i]!]!;
          break;
        }
        case 'str': {
          // One column is often encoded piece by piece (`rows` a different slice each call): its ids are kept.
          const dict = this.dicts[c]!;
          const ids = this.lastIds[c]!.of(col, (v) => dict.encode(v as Extract<Vec, { kind: 'str' }>));
          for (let i = 0; i < m; i++) {
            const id = ids[rows === null ? i : rows[i]!]!;
            out[i * W + c] = id < 0 ? 0 : id;
          }
          break;
        }
        case 'win': {
          if (this.pairRows.length < m * 3) {
            this.pairRows = new Float64Array(Math.max(m * 3, this.pairRows.length * 2));
            this.pairIds = new Int32Array(this.pairRows.length / 3);
          }
          const k = this.pairRows;
          const ids = this.pairIds;
          const sv = col as StructVec;
          const st = sv.fields[0] as NumVec;
          const en = sv.fields[1] as NumVec;
          const sv0 = st.values;
          const ev0 = en.values;
          const sValid = st.valid;
          const eValid = en.valid;
          for (let i = 0; i < m; i++) {
            const r = rows === null ? i : rows[i]!;
            const sNull = sValid !== null && sValid[r] === 0;
            const eNull = eValid !== null && eValid[r] === 0;
            const a = sNull ? 0 : sv0[r]!;
            const b = eNull ? 0 : ev0[r]!;
            k[3 * i] = a !== a ? NaN : a + 0;
            k[3 * i + 1] = b !== b ? NaN : b + 0;
            k[3 * i + 2] = (sNull ? 1 : 0) + (eNull ? 2 : 0);
          }
          this.pairs[c]!.findOrInsert(k, m, ids);
          for (let i = 0; i < m; i++) out[i * W + c] = ids[i]!;
          break;
        }
        case 'json': {
          const d = this.dicts[c]!;
          for (let i = 0; i < m; i++) {
            const r = rows === null ? i : rows[i]!;
            if (valid !== null && valid[r] === 0) continue;
            out[i * W + c] = d.idOf(JSON.stringify(jsonValueAt(col, r)));
          }
          break;
        }
      }
      if (valid !== null && kind !== 'json') {
        // Whatever lies under a null (stale builder values, arithmetic on garbage) must not split the null group.
        for (let i = 0; i < m; i++) if (valid[rows === null ? i : rows[i]!] === 0) out[i * W + c] = 0;
      }
    }
    return out;
  }

  /**
   * The dictionary ids of string key column `c` (a `string`/`binary` key), adding none: −1 for a null or a value never
   * encoded (see `StringDict.lookup`).
   *
   * @example
   * const codec = new KeyCodec(['string']); codec.encode([users], null, n);
   * codec.lookupStrings(0, probeUsers); // ids of the users seen, -1 for the others
   */
  lookupStrings(c: number, v: StrVec): Int32Array {
    return this.dicts[c]!.lookup(v);
  }

  /** Forgets the last encoded columns (call when a batch is absorbed, so it is not kept alive). */
  release(): void {
    for (const l of this.lastIds) l.release();
  }

  /** Key column `c` of the groups `gids` of a key table (`keys` as `GroupTable.keys`). */
  decode(keys: Float64Array, gids: Int32Array, c: number): Vec {
    const W = this.width;
    const n = gids.length;
    const t = this.types[c]!;
    const kind = this.kinds[c]!;
    let valid: Uint8Array | null = null;
    const bit = 1 << c;
    for (let i = 0; i < n; i++) {
      if ((keys[gids[i]! * W + W - 1]! & bit) !== 0) {
        valid ??= new Uint8Array(n).fill(1);
        valid[i] = 0;
      }
    }
    switch (kind) {
      case 'num': {
        const out = new Float64Array(n);
        for (let i = 0; i < n; i++) out[i] = keys[gids[i]! * W + c]!;
        return { kind: 'num', type: t as NumType, length: n, values: out, big: null, valid };
      }
      case 'i64': {
        const words = new Int32Array(keys.buffer, keys.byteOffset, keys.length * 2);
        const out = new Float64Array(n);
        let big: BigInt64Array | null = null;
        for (let i = 0; i < n; i++) {
          const p = 2 * (gids[i]! * W + c);
          const hi = words[p + 1]!;
          out[i] = hi * TWO32 + (words[p]! >>> 0);
          if (hi > 2097151 || hi < -2097152) big ??= new BigInt64Array(n);
        }
        if (big !== null) {
          const bw = new Int32Array(big.buffer);
          for (let i = 0; i < n; i++) {
            const p = 2 * (gids[i]! * W + c);
            bw[2 * i] = words[p]!;
            bw[2 * i + 1] = words[p + 1]!;
          }
        }
        return { kind: 'num', type: 'long', length: n, values: out, big, valid };
      }
      case 'bool': {
        const out = new Uint8Array(n);
        for (let i = 0; i < n; i++) out[i] = keys[gids[i]! * W + c]!;
        return { kind: 'bool', type: 'boolean', length: n, values: out, valid };
      }
      case 'str': {
        const ids = new Int32Array(n);
        for (let i = 0; i < n; i++) ids[i] = keys[gids[i]! * W + c]!;
        return this.dicts[c]!.gather(ids, valid, t as 'string' | 'binary');
      }
      case 'win': {
        const pk = this.pairs[c]!.keys;
        const starts = new Float64Array(n);
        const ends = new Float64Array(n);
        let sValid: Uint8Array | null = null;
        let eValid: Uint8Array | null = null;
        for (let i = 0; i < n; i++) {
          const id = keys[gids[i]! * W + c]!;
          starts[i] = pk[3 * id]!;
          ends[i] = pk[3 * id + 1]!;
          const f = pk[3 * id + 2]!;
          if (f !== 0 && (valid === null || valid[i] !== 0)) {
            if ((f & 1) !== 0) (sValid ??= new Uint8Array(n).fill(1))[i] = 0;
            if ((f & 2) !== 0) (eValid ??= new Uint8Array(n).fill(1))[i] = 0;
          }
        }
        return windowStructVec(starts, ends, valid, sValid, eValid);
      }
      case 'json': {
        const dict = this.dicts[c]!;
        const b = new ColumnBuilder(t, n);
        for (let i = 0; i < n; i++) {
          b.append(valid !== null && valid[i] === 0 ? null : JSON.parse(dict.valueOf(keys[gids[i]! * W + c]!)));
        }
        return vecFromData(b.finish(), t);
      }
    }
  }
}
