/**
 * Typed open-addressing hash tables: per-batch string dictionaries (strings hashed as bytes, decoded once per distinct
 * value) and the group table that maps composite keys to dense group ids. Keys are rows of `width` doubles; hashing and
 * equality read their raw 32-bit words, so `long` keys stored as raw int64 bits are exact.
 *
 * @module
 */
import { TWO32, utf8Decoder, type StrVec, type Vec } from './vec.js';

/** Mixes a 32-bit word into a running hash (murmur3-style). */
export function mix(h: number, w: number): number {
  let k = Math.imul(w, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** Final avalanche of a hash. */
export function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/** Hash of a byte range. */
export function hashBytes(bytes: Uint8Array, a: number, b: number): number {
  let h = 0x9747b28c ^ (b - a);
  let p = a;
  for (; p + 4 <= b; p += 4) {
    h = mix(h, bytes[p]! | (bytes[p + 1]! << 8) | (bytes[p + 2]! << 16) | (bytes[p + 3]! << 24));
  }
  let tail = 0;
  for (let s = 0; p < b; p++, s += 8) tail |= bytes[p]! << s;
  return fmix(mix(h, tail));
}

/** Result of dictionary-encoding a string column. */
export interface DictEncoded {
  /** Per row: index into `firstRow` (the distinct value), or -1 for null. */
  readonly codes: Int32Array;
  /** For each distinct value, a row that holds it. */
  readonly firstRow: Int32Array;
  readonly size: number;
}

/**
 * Dictionary-encodes a string (or binary) column by hashing its bytes: one pass, no string per row.
 *
 * @example
 * const { codes, size } = dictEncode(strVecFromStrings(['a', 'b', 'a'])); // codes [0, 1, 0], size 2
 */
export function dictEncode(v: StrVec): DictEncoded {
  const n = v.length;
  const codes = new Int32Array(n);
  let cap = 16;
  while (cap < n * 2) cap <<= 1;
  cap = Math.min(cap, 1 << 22);
  let mask = cap - 1;
  let slots = new Int32Array(cap);
  let firstRow = new Int32Array(64);
  let hashes = new Int32Array(64);
  let size = 0;
  const offs = v.offsets;
  const bytes = v.bytes;
  const valid = v.valid;
  for (let i = 0; i < n; i++) {
    if (valid !== null && valid[i] === 0) {
      codes[i] = -1;
      continue;
    }
    const a = offs[i]!;
    const b = offs[i + 1]!;
    const h = hashBytes(bytes, a, b);
    let s = h & mask;
    for (;;) {
      const g = slots[s]!;
      if (g === 0) {
        if (size === firstRow.length) {
          const f = new Int32Array(size * 2);
          f.set(firstRow);
          firstRow = f;
          const hh = new Int32Array(size * 2);
          hh.set(hashes);
          hashes = hh;
        }
        firstRow[size] = i;
        hashes[size] = h;
        slots[s] = ++size;
        codes[i] = size - 1;
        if (size * 2 > cap) {
          cap <<= 1;
          mask = cap - 1;
          slots = new Int32Array(cap);
          for (let k = 0; k < size; k++) {
            let t = hashes[k]! & mask;
            while (slots[t] !== 0) t = (t + 1) & mask;
            slots[t] = k + 1;
          }
        }
        break;
      }
      const r = firstRow[g - 1]!;
      if (hashes[g - 1] === h) {
        const ra = offs[r]!;
        const len = offs[r + 1]! - ra;
        if (len === b - a) {
          let same = true;
          for (let p = 0; p < len; p++) {
            if (bytes[ra + p] !== bytes[a + p]) {
              same = false;
              break;
            }
          }
          if (same) {
            codes[i] = g - 1;
            break;
          }
        }
      }
      s = (s + 1) & mask;
    }
  }
  return { codes, firstRow: firstRow.subarray(0, size), size };
}

/**
 * A dictionary of strings that lives as long as an operator's state: string ↔ dense id. Batches reach it once per
 * distinct value (after `dictEncode`), never once per row.
 *
 * @example
 * const d = new StringDict(); d.idOf('a'); // 0
 */
export class StringDict {
  private readonly ids = new Map<string, number>();
  readonly values: string[] = [];

  idOf(s: string): number {
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(s);
      this.ids.set(s, id);
    }
    return id;
  }

  /** Global ids of every row of a string column (-1 for null), through a per-batch dictionary. */
  encode(v: StrVec): Int32Array {
    const { codes, firstRow, size } = dictEncode(v);
    const map = new Int32Array(size);
    // Binary values are kept as latin1 text: one char per byte, so they decode back exactly.
    const binary = v.type === 'binary';
    for (let k = 0; k < size; k++) {
      const r = firstRow[k]!;
      const bytes = v.bytes.subarray(v.offsets[r]!, v.offsets[r + 1]!);
      map[k] = this.idOf(binary ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1') : utf8Decoder.decode(bytes));
    }
    const out = new Int32Array(codes.length);
    for (let i = 0; i < codes.length; i++) {
      const c = codes[i]!;
      out[i] = c < 0 ? -1 : map[c]!;
    }
    return out;
  }
}

/**
 * Composite keys → dense group ids. A key is `width` doubles; ids are assigned in first-seen order. Removal is by
 * `compact(keep)`, which rebuilds the table and returns the old→new id map for the accumulators.
 *
 * @example
 * const t = new GroupTable(2);
 * const ids = new Int32Array(rows);
 * t.findOrInsert(keyMatrix, rows, ids);
 */
export class GroupTable {
  readonly width: number;
  keys: Float64Array;
  private words: Int32Array;
  private hashes: Int32Array;
  private slots: Int32Array;
  private mask: number;
  size = 0;

  constructor(width: number, capacity = 1024) {
    this.width = width;
    let cap = 16;
    while (cap < capacity) cap <<= 1;
    this.keys = new Float64Array(cap * width);
    this.words = new Int32Array(this.keys.buffer);
    this.hashes = new Int32Array(cap);
    this.slots = new Int32Array(cap * 2);
    this.mask = cap * 2 - 1;
  }

  get capacity(): number {
    return this.hashes.length;
  }

  /** Bytes held by the table's arrays. */
  get memoryBytes(): number {
    return this.keys.byteLength + this.hashes.byteLength + this.slots.byteLength;
  }

  private growGroups(): void {
    const cap = this.hashes.length * 2;
    const keys = new Float64Array(cap * this.width);
    keys.set(this.keys);
    this.keys = keys;
    this.words = new Int32Array(keys.buffer);
    const h = new Int32Array(cap);
    h.set(this.hashes);
    this.hashes = h;
    this.rehash(cap * 2);
  }

  private rehash(slotCap: number): void {
    this.slots = new Int32Array(slotCap);
    this.mask = slotCap - 1;
    const mask = this.mask;
    const slots = this.slots;
    const hashes = this.hashes;
    for (let g = 0; g < this.size; g++) {
      let s = hashes[g]! & mask;
      while (slots[s] !== 0) s = (s + 1) & mask;
      slots[s] = g + 1;
    }
  }

  /**
   * Looks up (inserting when absent) each of `rows` keys of `keyMatrix` (row-major, `width` doubles per row) and
   * writes the group ids to `out`. Returns the number of new groups.
   */
  findOrInsert(keyMatrix: Float64Array, rows: number, out: Int32Array): number {
    const W2 = this.width * 2;
    const kw = new Int32Array(keyMatrix.buffer, keyMatrix.byteOffset, rows * W2);
    const before = this.size;
    // Hot loop: table arrays in locals, reloaded only after the table grows.
    let slots = this.slots;
    let mask = this.mask;
    let hashes = this.hashes;
    let words = this.words;
    let size = this.size;
    let cap = hashes.length;
    for (let i = 0; i < rows; i++) {
      const base = i * W2;
      let h = 0x2f1a3b4c;
      for (let w = 0; w < W2; w++) {
        let k = Math.imul(kw[base + w]!, 0xcc9e2d51);
        k = (k << 15) | (k >>> 17);
        h ^= Math.imul(k, 0x1b873593);
        h = (h << 13) | (h >>> 19);
        h = (Math.imul(h, 5) + 0xe6546b64) | 0;
      }
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
      let s = h & mask;
      for (;;) {
        const g = slots[s]!;
        if (g === 0) {
          if (size === cap) {
            this.size = size;
            this.growGroups();
            slots = this.slots;
            mask = this.mask;
            hashes = this.hashes;
            words = this.words;
            cap = hashes.length;
            s = h & mask;
            while (slots[s] !== 0) s = (s + 1) & mask;
          }
          const id = size++;
          hashes[id] = h;
          const kb = id * W2;
          for (let w = 0; w < W2; w++) words[kb + w] = kw[base + w]!;
          slots[s] = id + 1;
          out[i] = id;
          break;
        }
        if (hashes[g - 1] === h) {
          const kb = (g - 1) * W2;
          let w = 0;
          while (w < W2 && words[kb + w] === kw[base + w]) w++;
          if (w === W2) {
            out[i] = g - 1;
            break;
          }
        }
        s = (s + 1) & mask;
      }
    }
    this.size = size;
    return size - before;
  }

  /** Looks up keys without inserting; -1 where absent. */
  find(keyMatrix: Float64Array, rows: number, out: Int32Array): void {
    const W2 = this.width * 2;
    const kw = new Int32Array(keyMatrix.buffer, keyMatrix.byteOffset, rows * W2);
    const words = this.words;
    for (let i = 0; i < rows; i++) {
      const base = i * W2;
      let h = 0x2f1a3b4c;
      for (let w = 0; w < W2; w++) h = mix(h, kw[base + w]!);
      h = fmix(h);
      let s = h & this.mask;
      out[i] = -1;
      for (;;) {
        const g = this.slots[s]!;
        if (g === 0) break;
        if (this.hashes[g - 1] === h) {
          const kb = (g - 1) * W2;
          let same = true;
          for (let w = 0; w < W2; w++) {
            if (words[kb + w] !== kw[base + w]) {
              same = false;
              break;
            }
          }
          if (same) {
            out[i] = g - 1;
            break;
          }
        }
        s = (s + 1) & this.mask;
      }
    }
  }

  /**
   * Keeps the groups for which `keep[id]` is 1, renumbering them densely in order; returns old id → new id (-1 for
   * removed).
   */
  compact(keep: Uint8Array): Int32Array {
    const W = this.width;
    const remap = new Int32Array(this.size);
    let next = 0;
    for (let g = 0; g < this.size; g++) {
      if (keep[g]) {
        if (next !== g) {
          this.keys.copyWithin(next * W, g * W, g * W + W);
          this.hashes[next] = this.hashes[g]!;
        }
        remap[g] = next++;
      } else remap[g] = -1;
    }
    this.size = next;
    this.rehash(this.slots.length);
    return remap;
  }

  /** Removes every group. */
  clear(): void {
    this.size = 0;
    this.slots.fill(0);
  }
}

/** Partition index of each key row (for hash partitioning across workers): same hash as the group table. */
export function partitionOf(keyMatrix: Float64Array, rows: number, width: number, partitions: number, out: Int32Array): void {
  const W2 = width * 2;
  const kw = new Int32Array(keyMatrix.buffer, keyMatrix.byteOffset, rows * W2);
  for (let i = 0; i < rows; i++) {
    const base = i * W2;
    let h = 0x2f1a3b4c;
    for (let w = 0; w < W2; w++) h = mix(h, kw[base + w]!);
    h = fmix(h);
    out[i] = (h >>> 0) % partitions;
  }
}

const f64 = new Float64Array(1);
const f64w = new Int32Array(f64.buffer);

/**
 * The partition (0 … partitions−1) of each row by a hash of its key **values** (string bytes, number bits, the int64
 * of longs): stable across processes and runs, unlike dictionary ids, so state can be re-partitioned on restart and
 * partial aggregates meet their owner. No key columns: every row is partition 0.
 *
 * @example
 * partitionIds([userVec], null, rows, 2); // Int32Array of 0/1
 */
export function partitionIds(cols: readonly Vec[], rows: Int32Array | null, m: number, partitions: number): Int32Array {
  const out = new Int32Array(m);
  if (partitions <= 1 || cols.length === 0) return out;
  const h = new Int32Array(m).fill(0x5bd1e995);
  for (const c of cols) {
    const valid = c.kind === 'null' ? null : c.valid;
    switch (c.kind) {
      case 'num': {
        const v = c.values;
        const isLong = c.type === 'long';
        for (let i = 0; i < m; i++) {
          const r = rows === null ? i : rows[i]!;
          if (valid !== null && valid[r] === 0) {
            h[i] = mix(h[i]!, 0x7fffffff);
            continue;
          }
          if (isLong) {
            const x = c.big !== null ? Number(BigInt.asIntN(32, c.big[r]!)) : 0;
            if (c.big !== null) {
              h[i] = mix(mix(h[i]!, x), Number(BigInt.asIntN(32, c.big[r]! >> 32n)));
            } else {
              const y = v[r]!;
              const hi = Math.floor(y / TWO32);
              h[i] = mix(mix(h[i]!, (y - hi * TWO32) | 0), hi | 0);
            }
          } else {
            const y = v[r]!;
            f64[0] = y !== y ? NaN : y + 0;
            h[i] = mix(mix(h[i]!, f64w[0]!), f64w[1]!);
          }
        }
        break;
      }
      case 'bool':
        for (let i = 0; i < m; i++) {
          const r = rows === null ? i : rows[i]!;
          h[i] = mix(h[i]!, valid !== null && valid[r] === 0 ? 0x7fffffff : c.values[r]!);
        }
        break;
      case 'str':
        for (let i = 0; i < m; i++) {
          const r = rows === null ? i : rows[i]!;
          h[i] = mix(h[i]!, valid !== null && valid[r] === 0 ? 0x7fffffff : hashBytes(c.bytes, c.offsets[r]!, c.offsets[r + 1]!));
        }
        break;
      default:
        for (let i = 0; i < m; i++) h[i] = mix(h[i]!, 0x1234567);
    }
  }
  for (let i = 0; i < m; i++) out[i] = (fmix(h[i]!) >>> 0) % partitions;
  return out;
}
