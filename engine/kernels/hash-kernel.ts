/**
 * Typed open-addressing hash tables: string dictionaries for an operator's lifetime (`StringDict`, hashing the UTF-8
 * bytes in place, no string per row) and the group table that maps composite keys to
 * dense group ids. Keys are rows of `width` doubles; hashing and equality read their raw 32-bit words, so `long` keys
 * stored as raw int64 bits are exact.
 *
 * @module
 */
import { TWO32, utf8Decoder, utf8Encoder, type StrVec, type Vec } from './vec.js';

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

/**
 * A dictionary of strings (or binaries) that lives as long as an operator's state: byte string ↔ dense id. Values are
 * kept as UTF-8 bytes in one arena with an open-addressing table over their hashes, so encoding a batch hashes each
 * row's bytes in place (no string per row or per distinct value), and decoding gathers bytes (no re-encoding). JS
 * strings are made only on request (`valueOf`).
 *
 * @example
 * const d = new StringDict(); d.idOf('a'); // 0
 * d.encode(strVecFromStrings(['b', 'a', null])); // Int32Array [1, 0, -1]
 */
export class StringDict {
  /** Values' bytes, each starting on a 4-byte boundary, zero-padded to one: compared a word at a time. */
  private arena = new Uint8Array(4096);
  private arenaWords = new Int32Array(this.arena.buffer);
  private used = 0;
  /** Bytes of id `i` are `arena[starts[i] … starts[i] + lens[i])`. */
  private starts = new Int32Array(1024);
  private lens = new Int32Array(1024);
  private hashes = new Int32Array(1024);
  /** Slot `s` is (id + 1, hash) at `2s`, `2s + 1`: a probe compares hashes without a second array's cache line. */
  private slots = new Int32Array(4096);
  private mask = 2047;
  /** A row's bytes as little-endian words (zero-padded), filled while hashing, for the word-wise compare. */
  private rowWords = new Int32Array(64);
  private strings: (string | undefined)[] = [];
  /** A Buffer view of `arena` for `stringOf` (dropped when the arena grows). */
  private arenaBuf: Buffer | null = null;
  /** The id `reserveId` handed out (no byte string maps to it), or −1. */
  private reserved = -1;
  /** Scratch of `lookup`: the hash of each row. */
  private lookupHashes = new Int32Array(0);
  /** Where the prefetching loads of `lookup` land (kept, so the compiler cannot drop them). */
  private touched = 0;
  size = 0;

  /** Every value as a string (decoded once each). */
  get values(): string[] {
    const out: string[] = new Array(this.size);
    for (let i = 0; i < this.size; i++) out[i] = this.valueOf(i);
    return out;
  }

  /** The value of an id as a string (UTF-8). */
  valueOf(id: number): string {
    let s = this.strings[id];
    if (s === undefined) {
      s = utf8Decoder.decode(this.bytesOf(id));
      this.strings[id] = s;
    }
    return s;
  }

  /**
   * The value of an id as a new string, not cached (a key index decoding keys per batch keeps no string per key).
   *
   * @example
   * const d = new StringDict(); d.stringOf(d.idOf('a')); // 'a'
   */
  stringOf(id: number): string {
    const p = this.starts[id]!;
    const buf = (this.arenaBuf ??= Buffer.from(this.arena.buffer, this.arena.byteOffset, this.arena.byteLength));
    return buf.toString('utf8', p, p + this.lens[id]!);
  }

  /**
   * A new id that no byte string maps to (at most one per dictionary): a key index's id for the null key, so that
   * ids stay dense.
   *
   * @example
   * const d = new StringDict(); d.reserveId(); // 0; d.idOf('') is 1
   */
  reserveId(): number {
    if (this.reserved >= 0) return this.reserved;
    this.growIds(this.size + 1);
    const id = this.size++;
    this.starts[id] = this.used;
    this.lens[id] = 0;
    this.hashes[id] = 0;
    this.reserved = id;
    return id;
  }

  private growIds(need: number): void {
    if (need <= this.hashes.length) return;
    const cap = Math.max(need, this.hashes.length * 2);
    const st = new Int32Array(cap);
    st.set(this.starts);
    this.starts = st;
    const ln = new Int32Array(cap);
    ln.set(this.lens);
    this.lens = ln;
    const hs = new Int32Array(cap);
    hs.set(this.hashes);
    this.hashes = hs;
  }

  /** The bytes of an id (a view: valid until the dictionary grows). */
  bytesOf(id: number): Uint8Array {
    const p = this.starts[id]!;
    return this.arena.subarray(p, p + this.lens[id]!);
  }

  idOf(s: string): number {
    const b = utf8Encoder.encode(s);
    return this.idOfBytes(b, 0, b.length);
  }

  /** The id of `bytes[a … b)`, added when new. */
  idOfBytes(bytes: Uint8Array, a: number, b: number): number {
    const h = hashBytes(bytes, a, b);
    const id = this.findBytes(bytes, a, b, h);
    return id >= 0 ? id : this.add(bytes, a, b, h);
  }

  /** The id of `bytes[a … b)` (hash `h`, from `hashBytes`), or −1 when absent. */
  private findBytes(bytes: Uint8Array, a: number, b: number, h: number): number {
    const len = b - a;
    const arena = this.arena;
    const slots = this.slots;
    const lens = this.lens;
    const mask = this.mask;
    let s = h & mask;
    for (;;) {
      const g = slots[2 * s]!;
      if (g === 0) return -1;
      if (slots[2 * s + 1] === h && lens[g - 1] === len) {
        const p = this.starts[g - 1]!;
        let k = 0;
        while (k < len && arena[p + k] === bytes[a + k]) k++;
        if (k === len) return g - 1;
      }
      s = (s + 1) & mask;
    }
  }

  private add(bytes: Uint8Array, a: number, b: number, h: number): number {
    const id = this.size++;
    const len = b - a;
    const padded = (len + 3) & ~3;
    if (this.used + padded > this.arena.length) {
      let cap = this.arena.length * 2;
      while (cap < this.used + padded) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.arena.subarray(0, this.used));
      this.arena = next;
      this.arenaWords = new Int32Array(next.buffer);
      this.arenaBuf = null;
    }
    this.arena.set(bytes.subarray(a, b), this.used);
    this.growIds(id + 1);
    this.starts[id] = this.used;
    this.lens[id] = len;
    this.hashes[id] = h;
    this.used += padded;
    if (this.size * 2 > this.mask + 1) {
      const cap = (this.mask + 1) * 2;
      const slots = new Int32Array(cap * 2);
      const mask = cap - 1;
      for (let g = 0; g < this.size; g++) {
        if (g === this.reserved) continue;
        const hg = this.hashes[g]!;
        let t = hg & mask;
        while (slots[2 * t] !== 0) t = (t + 1) & mask;
        slots[2 * t] = g + 1;
        slots[2 * t + 1] = hg;
      }
      this.slots = slots;
      this.mask = mask;
    } else {
      let t = h & this.mask;
      while (this.slots[2 * t] !== 0) t = (t + 1) & this.mask;
      this.slots[2 * t] = id + 1;
      this.slots[2 * t + 1] = h;
    }
    return id;
  }

  /** Ids of every row of a string or binary column (-1 for null). */
  encode(v: StrVec): Int32Array {
    const n = v.length;
    const out = new Int32Array(n);
    const offs = v.offsets;
    const bytes = v.bytes;
    const valid = v.valid;
    let maxLen = 0;
    for (let i = 0; i < n; i++) maxLen = Math.max(maxLen, offs[i + 1]! - offs[i]!);
    if (this.rowWords.length * 4 < maxLen + 4) this.rowWords = new Int32Array((maxLen >> 2) + 2);
    const rw = this.rowWords;
    // Hot loop: hashBytes and the probe inlined, table arrays in locals (reloaded after an insert). The hash loop
    // keeps the row's words, so a candidate is compared a word at a time against the padded arena.
    let slots = this.slots;
    let mask = this.mask;
    let starts = this.starts;
    let lens = this.lens;
    let aw = this.arenaWords;
    for (let i = 0; i < n; i++) {
      if (valid !== null && valid[i] === 0) {
        out[i] = -1;
        continue;
      }
      const a = offs[i]!;
      const b = offs[i + 1]!;
      const len = b - a;
      let h = 0x9747b28c ^ len;
      let p = a;
      let nw = 0;
      for (; p + 4 <= b; p += 4) {
        let k = bytes[p]! | (bytes[p + 1]! << 8) | (bytes[p + 2]! << 16) | (bytes[p + 3]! << 24);
        rw[nw++] = k;
        k = Math.imul(k, 0xcc9e2d51);
        k = (k << 15) | (k >>> 17);
        h ^= Math.imul(k, 0x1b873593);
        h = (h << 13) | (h >>> 19);
        h = (Math.imul(h, 5) + 0xe6546b64) | 0;
      }
      let tail = 0;
      for (let sh = 0; p < b; p++, sh += 8) tail |= bytes[p]! << sh;
      rw[nw] = tail;
      if ((len & 3) !== 0) nw++;
      tail = Math.imul(tail, 0xcc9e2d51);
      tail = (tail << 15) | (tail >>> 17);
      h ^= Math.imul(tail, 0x1b873593);
      h = (h << 13) | (h >>> 19);
      h = (Math.imul(h, 5) + 0xe6546b64) | 0;
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
      let s = h & mask;
      let id = -1;
      for (;;) {
        const g = slots[2 * s]!;
        if (g === 0) break;
        if (slots[2 * s + 1] === h && lens[g - 1] === len) {
          const q = starts[g - 1]! >> 2;
          let k = 0;
          while (k < nw && aw[q + k] === rw[k]) k++;
          if (k === nw) {
            id = g - 1;
            break;
          }
        }
        s = (s + 1) & mask;
      }
      if (id < 0) {
        id = this.add(bytes, a, b, h);
        slots = this.slots;
        mask = this.mask;
        starts = this.starts;
        lens = this.lens;
        aw = this.arenaWords;
      }
      out[i] = id;
    }
    return out;
  }

  /**
   * Ids of every row of a string or binary column, without adding any: −1 for a null or a value the dictionary does
   * not hold (a join's probe side: a string the build side lacks cannot match, so it need not be kept). Each row's
   * bytes are hashed once, in place (`hashBytes`, the hash `encode` computes inline).
   *
   * @example
   * const d = new StringDict(); d.idOf('a');
   * d.lookup(strVecFromStrings(['a', 'b', null])); // Int32Array [0, -1, -1]; d.size stays 1
   */
  lookup(v: StrVec): Int32Array {
    const n = v.length;
    const out = new Int32Array(n);
    const offs = v.offsets;
    const bytes = v.bytes;
    const valid = v.valid;
    // Hash every row first, then probe a few hundred rows at a time after touching their slots and their candidates'
    // bytes in loops of independent loads (as `GroupTable.find`): the cache misses of a big dictionary overlap.
    if (this.lookupHashes.length < n) this.lookupHashes = new Int32Array(Math.max(n, 1024));
    const rh = this.lookupHashes;
    for (let i = 0; i < n; i++) rh[i] = hashBytes(bytes, offs[i]!, offs[i + 1]!);
    const slots = this.slots;
    const mask = this.mask;
    const starts = this.starts;
    const lens = this.lens;
    const arena = this.arena;
    let touched = 0;
    for (let c = 0; c < n; c += PREFETCH) {
      const end = Math.min(n, c + PREFETCH);
      for (let i = c; i < end; i++) touched ^= slots[2 * (rh[i]! & mask)]!;
      for (let i = c; i < end; i++) {
        const g = slots[2 * (rh[i]! & mask)]!;
        if (g !== 0) touched ^= arena[starts[g - 1]!]! ^ lens[g - 1]!;
      }
      for (let i = c; i < end; i++) {
        if (valid !== null && valid[i] === 0) {
          out[i] = -1;
          continue;
        }
        const id = this.findBytes(bytes, offs[i]!, offs[i + 1]!, rh[i]!);
        out[i] = id;
      }
    }
    this.touched = touched;
    return out;
  }

  /** A string (or binary) column of the values of `ids` (`valid[i] = 0`: null). */
  gather(ids: ArrayLike<number>, valid: Uint8Array | null, type: 'string' | 'binary'): StrVec {
    const n = ids.length;
    const offsets = new Int32Array(n + 1);
    const lens = this.lens;
    let total = 0;
    for (let i = 0; i < n; i++) {
      if (valid === null || valid[i] === 1) total += lens[ids[i]!]!;
      offsets[i + 1] = total;
    }
    const out = new Uint8Array(total);
    const arena = this.arena;
    const starts = this.starts;
    for (let i = 0; i < n; i++) {
      const o = offsets[i]!;
      const len = offsets[i + 1]! - o;
      const p = len > 0 ? starts[ids[i]!]! : 0;
      for (let k = 0; k < len; k++) out[o + k] = arena[p + k]!;
    }
    return { kind: 'str', type, length: n, offsets, bytes: out, valid };
  }

  /** Bytes held. */
  get memoryBytes(): number {
    return this.arena.byteLength + this.starts.byteLength + this.lens.byteLength + this.hashes.byteLength + this.slots.byteLength;
  }
}

/**
 * The group-table hash of each of `rows` key rows (`W2` 32-bit words each): murmur3 over words `from` … `W2 − 1`.
 *
 * @example
 * hashKeyRows(new Int32Array(keyMatrix.buffer), rows, width * 2, hashes, 0);
 */
export function hashKeyRows(kw: Int32Array, rows: number, W2: number, out: Int32Array, from: number): void {
  for (let i = 0; i < rows; i++) {
    const base = i * W2;
    let h = 0x2f1a3b4c;
    for (let w = from; w < W2; w++) {
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
    out[i] = h;
  }
}

/**
 * What an aggregation's state needs of a group table: composite keys (rows of `width` doubles) → dense group ids in
 * first-seen order, the keys matrix by id, and removal by `compact`. `GroupTable` is the general one; `WindowGroupTable`
 * (window-table.ts) keeps one small table per window start.
 */
export interface GroupIndex {
  readonly width: number;
  /** Row-major keys by group id (`width` doubles each). */
  readonly keys: Float64Array;
  readonly size: number;
  readonly memoryBytes: number;
  /** Group ids of `rows` key rows into `out`, inserting absent keys; returns how many were new. */
  findOrInsert(keyMatrix: Float64Array, rows: number, out: Int32Array): number;
  /** Keeps groups with `keep[id]` = 1, renumbered in order; returns old id → new id (-1: removed). */
  compact(keep: Uint8Array): Int32Array;
  clear(): void;
}

/**
 * Linear probe of an open-addressing array of (group id + 1, hash) slot pairs for the key `kw[base … base + W2)`, the
 * groups' keys being `W2` words each in `words`: the group id when present, else `−1 − s` for the empty slot `s` where
 * it belongs.
 *
 * @example
 * const r = probeSlots(slots, mask, h, words, keyWords, row * W2, W2); // r >= 0: found; else insert at -1 - r
 */
export function probeSlots(slots: Int32Array, mask: number, h: number, words: Int32Array, kw: Int32Array, base: number, W2: number): number {
  let s = h & mask;
  for (;;) {
    const g = slots[2 * s]!;
    if (g === 0) return -1 - s;
    if (slots[2 * s + 1] === h) {
      const kb = (g - 1) * W2;
      let w = 0;
      while (w < W2 && words[kb + w] === kw[base + w]) w++;
      if (w === W2) return g - 1;
    }
    s = (s + 1) & mask;
  }
}

/** Rows whose slots and keys `findOrInsert` and `find` touch ahead of probing them. */
const PREFETCH = 256;

/**
 * Touches the slots of rows `from … to` (hashes `rh`), then their groups' keys, in loops of independent loads: the
 * cache misses overlap there instead of stalling the probe loop one by one. Returns what the loads read (keep it, so
 * the compiler cannot drop them).
 */
function touchAhead(slots: Int32Array, mask: number, words: Int32Array, W2: number, rh: Int32Array, from: number, to: number): number {
  let touched = 0;
  for (let j = from; j < to; j++) touched ^= slots[2 * (rh[j]! & mask)]!;
  for (let j = from; j < to; j++) {
    const g = slots[2 * (rh[j]! & mask)]!;
    if (g !== 0) touched ^= words[(g - 1) * W2]!;
  }
  return touched;
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
export class GroupTable implements GroupIndex {
  readonly width: number;
  keys: Float64Array;
  private words: Int32Array;
  private hashes: Int32Array;
  private slots: Int32Array;
  private mask: number;
  size = 0;
  /** Scratch of `findOrInsert`: the hash of each input row. */
  private rowHashes = new Int32Array(0);
  /** Where the prefetching loads of `findOrInsert` land (kept, so the compiler cannot drop them). */
  private touched = 0;

  constructor(width: number, capacity = 1024) {
    this.width = width;
    let cap = 16;
    while (cap < capacity) cap <<= 1;
    this.keys = new Float64Array(cap * width);
    this.words = new Int32Array(this.keys.buffer);
    this.hashes = new Int32Array(cap);
    this.slots = new Int32Array(cap * 4);
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

  /** Rebuilds the slot array with `slotCap` slots (a power of two). */
  private rehash(slotCap: number): void {
    this.slots = new Int32Array(slotCap * 2);
    this.mask = slotCap - 1;
    const mask = this.mask;
    const slots = this.slots;
    const hashes = this.hashes;
    for (let g = 0; g < this.size; g++) {
      const h = hashes[g]!;
      let s = h & mask;
      while (slots[2 * s] !== 0) s = (s + 1) & mask;
      slots[2 * s] = g + 1;
      slots[2 * s + 1] = h;
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
    // Hash every row first, then probe: the probe loop then has independent loads the CPU can overlap, instead of
    // waiting for each cache miss after a burst of arithmetic.
    if (this.rowHashes.length < rows) this.rowHashes = new Int32Array(Math.max(rows, 1024));
    const rh = this.rowHashes;
    hashKeyRows(kw, rows, W2, rh, 0);
    let touched = 0;
    for (let i = 0; i < rows; i++) {
      if ((i & (PREFETCH - 1)) === 0) touched ^= touchAhead(slots, mask, words, W2, rh, i, Math.min(rows, i + PREFETCH));
      const base = i * W2;
      const h = rh[i]!;
      const found = probeSlots(slots, mask, h, words, kw, base, W2);
      if (found >= 0) {
        out[i] = found;
        continue;
      }
      let s = -1 - found;
      if (size === cap) {
        this.size = size;
        this.growGroups();
        slots = this.slots;
        mask = this.mask;
        hashes = this.hashes;
        words = this.words;
        cap = hashes.length;
        s = h & mask;
        while (slots[2 * s] !== 0) s = (s + 1) & mask;
      }
      const id = size++;
      hashes[id] = h;
      const kb = id * W2;
      for (let w = 0; w < W2; w++) words[kb + w] = kw[base + w]!;
      slots[2 * s] = id + 1;
      slots[2 * s + 1] = h;
      out[i] = id;
    }
    this.size = size;
    this.touched = touched;
    return size - before;
  }

  /**
   * Looks up keys without inserting; -1 where absent. Like `findOrInsert`, the next rows' slots and keys are touched
   * ahead of probing them (a join's probe side: 1 M lookups in a 100 k-key table, 120 → 60-70 ms).
   */
  find(keyMatrix: Float64Array, rows: number, out: Int32Array): void {
    const W2 = this.width * 2;
    const kw = new Int32Array(keyMatrix.buffer, keyMatrix.byteOffset, rows * W2);
    if (this.rowHashes.length < rows) this.rowHashes = new Int32Array(Math.max(rows, 1024));
    const rh = this.rowHashes;
    hashKeyRows(kw, rows, W2, rh, 0);
    const slots = this.slots;
    const mask = this.mask;
    const words = this.words;
    let touched = 0;
    for (let i = 0; i < rows; i++) {
      if ((i & (PREFETCH - 1)) === 0) touched ^= touchAhead(slots, mask, words, W2, rh, i, Math.min(rows, i + PREFETCH));
      const found = probeSlots(slots, mask, rh[i]!, words, kw, i * W2, W2);
      out[i] = found >= 0 ? found : -1;
    }
    this.touched = touched;
  }

  /**
   * Keeps the groups for which `keep[id]` is 1, renumbering them densely in order; returns old id → new id (-1 for
   * removed).
   */
  compact(keep: Uint8Array): Int32Array {
    const remap = compactKeys(this.keys, this.width, this.size, keep, this.hashes);
    this.size = keptCount(remap);
    this.rehash(this.slots.length / 2);
    return remap;
  }

  /** Removes every group. */
  clear(): void {
    this.size = 0;
    this.slots.fill(0);
  }
}

/**
 * Moves the key rows (`W` doubles each) of the groups with `keep[id]` = 1 to the front, in order, and with them each
 * group's entry of `also`; returns old id → new id (-1: removed).
 *
 * @example
 * const remap = compactKeys(keys, 3, size, keep, null); // keptCount(remap) groups remain
 */
export function compactKeys(keys: Float64Array, W: number, size: number, keep: Uint8Array, also: Int32Array | null): Int32Array {
  const remap = new Int32Array(size);
  let next = 0;
  for (let g = 0; g < size; g++) {
    if (keep[g]) {
      if (next !== g) {
        keys.copyWithin(next * W, g * W, g * W + W);
        if (also !== null) also[next] = also[g]!;
      }
      remap[g] = next++;
    } else remap[g] = -1;
  }
  return remap;
}

/** The number of ids a `compactKeys` remap keeps. */
export function keptCount(remap: Int32Array): number {
  let n = 0;
  for (let g = 0; g < remap.length; g++) if (remap[g]! >= 0) n++;
  return n;
}

const f64 = new Float64Array(1);
const f64w = new Int32Array(f64.buffer);

/**
 * The rows of each partition, in row order, from `partitionIds`' output.
 *
 * @example
 * rowsByPartition(Int32Array.of(1, 0, 1), 2); // [Int32Array [1], Int32Array [0, 2]]
 */
export function rowsByPartition(ids: Int32Array, partitions: number): Int32Array[] {
  const n = ids.length;
  const counts = new Int32Array(partitions);
  for (let i = 0; i < n; i++) counts[ids[i]!]!++;
  const sels = Array.from(counts, (c) => new Int32Array(c));
  const pos = new Int32Array(partitions);
  for (let i = 0; i < n; i++) {
    const p = ids[i]!;
    sels[p]![pos[p]!++] = i;
  }
  return sels;
}

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
            if (c.big !== null) {
              const x = Number(BigInt.asIntN(32, c.big[r]!));
              h[i] = mix(mix(h[i]!, x), Number(BigInt.asIntN(32, c.big[r]! >> 32n)));
            } else {
              const y = v[r]!;
              // The int64's low and high words; an int32 value's high word is its sign (no division).
              const lo = y | 0;
              if (lo === y) h[i] = mix(mix(h[i]!, lo), lo >> 31);
              else {
                const hi = Math.floor(y / TWO32);
                h[i] = mix(mix(h[i]!, (y - hi * TWO32) | 0), hi | 0);
              }
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
  if ((partitions & (partitions - 1)) === 0) {
    // A power of two: the low bits are the same remainder, without a floating-point modulo.
    const mask = partitions - 1;
    for (let i = 0; i < m; i++) out[i] = fmix(h[i]!) & mask;
  } else for (let i = 0; i < m; i++) out[i] = (fmix(h[i]!) >>> 0) % partitions;
  return out;
}
