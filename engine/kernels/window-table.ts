/**
 * A group table for time-windowed aggregation that stays in cache: one small open-addressing table per window start.
 *
 * A windowed aggregation's groups are (window, key) pairs, and a batch of event-time-ordered rows touches only the few
 * windows that are open. One table over every group scatters those few windows' groups across a table sized for all of
 * them (tens of MB after a day of windows), so nearly every probe misses the cache and the TLB. Here each window start
 * has its own slot array sized for its groups: the open windows' slots fit in L2, and a closed window's slots are never
 * touched again. Group ids stay dense and global (the accumulators are indexed by them), and keys stay in one row-major
 * matrix, as in `GroupTable`.
 *
 * @module
 */
import { compactKeys, hashKeyRows, keptCount, probeSlots, type GroupIndex } from './hash-kernel.js';

/** One window's slots: (group id + 1, hash of the key without its window) pairs, open addressing. */
interface WindowSlots {
  slots: Int32Array;
  mask: number;
  count: number;
}

/** Entries of the direct-mapped cache from a window start's bits to its slots (a power of two). */
const CACHE_BITS = 8;
const CACHE = 1 << CACHE_BITS;
/** Slots of a new window's table (it doubles as it fills: sparse windows stay small). */
const FIRST_SLOTS = 8;
/** Slot arrays of dropped windows kept for new ones (a stream closes a window about as often as it opens one). */
const SPARE_SLOT_ARRAYS = 8;
/** Bytes a window costs beyond its slots (its record, the typed array object, the map entry), for `memoryBytes`. */
const WINDOW_OVERHEAD_BYTES = 200;

/**
 * Composite keys whose first slot is a window start → dense group ids, ids assigned in first-seen order. Same contract
 * as `GroupTable` (`findOrInsert`, `compact`, `clear`, the `keys` matrix); keys are compared on all their bits.
 *
 * @example
 * const t = new WindowGroupTable(3); // window start, user, null bits
 * const ids = new Int32Array(rows);
 * t.findOrInsert(keyMatrix, rows, ids);
 */
export class WindowGroupTable implements GroupIndex {
  readonly width: number;
  keys: Float64Array;
  private words: Int32Array;
  size = 0;
  private windows = new Map<number, WindowSlots>();
  private cacheLo = new Int32Array(CACHE);
  private cacheHi = new Int32Array(CACHE);
  private cacheSlots: (WindowSlots | null)[] = new Array<WindowSlots | null>(CACHE).fill(null);
  private rowHashes = new Int32Array(0);
  /** Slot arrays of windows dropped by `clear` or `compact`, biggest last, for new windows. */
  private spare: Int32Array[] = [];
  /**
   * The window created last: a new window without a spare array starts at its size then (windows of one stream hold
   * similar numbers of keys; growing each from `FIRST_SLOTS` rehashed its keys ~10 times over).
   */
  private lastCreated: WindowSlots | null = null;

  constructor(width: number, capacity = 1024) {
    if (width < 1) throw new RangeError('WindowGroupTable: the key needs its window start slot');
    this.width = width;
    let cap = 16;
    while (cap < capacity) cap <<= 1;
    this.keys = new Float64Array(cap * width);
    this.words = new Int32Array(this.keys.buffer);
  }

  /** Bytes held by the keys, every window's slots and the spare slot arrays. */
  get memoryBytes(): number {
    let b = this.keys.byteLength + this.windows.size * WINDOW_OVERHEAD_BYTES;
    for (const w of this.windows.values()) b += w.slots.byteLength;
    for (const x of this.spare) b += x.byteLength;
    return b;
  }

  /** Number of windows that hold groups. */
  get windowCount(): number {
    return this.windows.size;
  }

  /** The slots of the window whose start has bits (lo, hi) and value `start`, created when new. */
  private slotsOf(lo: number, hi: number, start: number): WindowSlots {
    const c = Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> (32 - CACHE_BITS);
    const hit = this.cacheSlots[c]!;
    if (hit !== null && this.cacheLo[c] === lo && this.cacheHi[c] === hi) return hit;
    let w = this.windows.get(start);
    if (w === undefined) {
      const spare = this.spare.pop();
      if (spare === undefined) {
        const cap = this.lastCreated === null ? FIRST_SLOTS : this.lastCreated.mask + 1;
        w = { slots: new Int32Array(2 * cap), mask: cap - 1, count: 0 };
      }
      else {
        spare.fill(0);
        w = { slots: spare, mask: spare.length / 2 - 1, count: 0 };
      }
      this.windows.set(start, w);
      this.lastCreated = w;
    }
    this.cacheLo[c] = lo;
    this.cacheHi[c] = hi;
    this.cacheSlots[c] = w;
    return w;
  }

  private growKeys(): void {
    const keys = new Float64Array(this.keys.length * 2);
    keys.set(this.keys);
    this.keys = keys;
    this.words = new Int32Array(keys.buffer);
  }

  /** Doubles a window's slot array. */
  private static grow(w: WindowSlots): void {
    const old = w.slots;
    const n = (w.mask + 1) * 2;
    const slots = new Int32Array(2 * n);
    const mask = n - 1;
    for (let s = 0; s < old.length; s += 2) {
      const g = old[s]!;
      if (g === 0) continue;
      const h = old[s + 1]!;
      let t = h & mask;
      while (slots[2 * t] !== 0) t = (t + 1) & mask;
      slots[2 * t] = g;
      slots[2 * t + 1] = h;
    }
    w.slots = slots;
    w.mask = mask;
  }

  /**
   * Looks up (inserting when absent) each of `rows` keys of `keyMatrix` (row-major, `width` doubles per row, the
   * window start first) and writes the group ids to `out`. Returns the number of new groups.
   */
  findOrInsert(keyMatrix: Float64Array, rows: number, out: Int32Array): number {
    const W = this.width;
    const W2 = W * 2;
    const kw = new Int32Array(keyMatrix.buffer, keyMatrix.byteOffset, rows * W2);
    if (this.rowHashes.length < rows) this.rowHashes = new Int32Array(Math.max(rows, 1024));
    const rh = this.rowHashes;
    // The window is found by its own slot array: hash the rest of the key.
    hashKeyRows(kw, rows, W2, rh, 2);
    const before = this.size;
    let size = this.size;
    let words = this.words;
    let cap = this.keys.length / W;
    let cur: WindowSlots | null = null;
    let curLo = 0;
    let curHi = 0;
    for (let i = 0; i < rows; i++) {
      const base = i * W2;
      if (i > 0 && rh[i] === rh[i - 1]) {
        // A row with the previous row's key (a window-only grouping over time-ordered input, or input sorted by key)
        // takes its group without a probe. The hashes (of the key without the window) differ for most other rows.
        let w = 0;
        while (w < W2 && kw[base + w] === kw[base - W2 + w]) w++;
        if (w === W2) {
          out[i] = out[i - 1]!;
          continue;
        }
      }
      const lo = kw[base]!;
      const hi = kw[base + 1]!;
      if (cur === null || lo !== curLo || hi !== curHi) {
        cur = this.slotsOf(lo, hi, keyMatrix[i * W]!);
        curLo = lo;
        curHi = hi;
      }
      const h = rh[i]!;
      const found = probeSlots(cur.slots, cur.mask, h, words, kw, base, W2);
      if (found >= 0) {
        out[i] = found;
        continue;
      }
      if (size === cap) {
        this.size = size;
        this.growKeys();
        words = this.words;
        cap = this.keys.length / W;
      }
      const id = size++;
      const kb = id * W2;
      for (let w = 0; w < W2; w++) words[kb + w] = kw[base + w]!;
      const s = -1 - found;
      cur.slots[2 * s] = id + 1;
      cur.slots[2 * s + 1] = h;
      if (++cur.count * 2 > cur.mask + 1) WindowGroupTable.grow(cur);
      out[i] = id;
    }
    this.size = size;
    return size - before;
  }

  /**
   * Keeps the groups for which `keep[id]` is 1, renumbering them densely in order; returns old id → new id (-1 for
   * removed). Windows left without groups are dropped.
   */
  compact(keep: Uint8Array): Int32Array {
    const W = this.width;
    const whole = this.wholeWindows(keep);
    const remap = compactKeys(this.keys, W, this.size, keep, null);
    const n = keptCount(remap);
    if (whole !== null) {
      // Whole windows go (a watermark closes a window's groups together): drop their slot arrays and renumber the
      // ids in the others' slots, whose hashes and places stay as they are.
      for (const start of whole) {
        const w = this.windows.get(start)!;
        if (w === this.lastCreated) this.lastCreated = null;
        this.keepSpare(w.slots);
        this.windows.delete(start);
      }
      this.cacheSlots.fill(null);
      for (const w of this.windows.values()) {
        const slots = w.slots;
        for (let s = 0; s < slots.length; s += 2) if (slots[s] !== 0) slots[s] = remap[slots[s]! - 1]! + 1;
      }
      this.size = n;
      return remap;
    }
    this.clear();
    if (n > 0) {
      // Re-insert the kept keys (all distinct): findOrInsert over the key matrix assigns 0 … n−1 in order again.
      const kept = this.keys.slice(0, n * W);
      this.findOrInsert(kept, n, new Int32Array(n));
    }
    return remap;
  }

  /**
   * The window starts whose groups `keep` drops, when it drops each window's groups all or none; else null.
   */
  private wholeWindows(keep: Uint8Array): number[] | null {
    const out: number[] = [];
    for (const [start, w] of this.windows) {
      const slots = w.slots;
      let kept = -1;
      for (let s = 0; s < slots.length; s += 2) {
        const g = slots[s]!;
        if (g === 0) continue;
        const k = keep[g - 1]! !== 0 ? 1 : 0;
        if (kept === -1) kept = k;
        else if (k !== kept) return null;
      }
      if (kept === 0) out.push(start);
    }
    return out;
  }

  /** Keeps a dropped window's slot array for a new window, if it is among the `SPARE_SLOT_ARRAYS` biggest. */
  private keepSpare(slots: Int32Array): void {
    const spare = this.spare;
    if (spare.length === SPARE_SLOT_ARRAYS) {
      if (slots.length <= spare[0]!.length) return;
      spare.shift();
    }
    // Ascending by size: new windows take the biggest (the last).
    let i = spare.length;
    while (i > 0 && spare[i - 1]!.length > slots.length) i--;
    spare.splice(i, 0, slots);
  }

  /**
   * Removes every group. The biggest slot arrays are kept for the next windows (a table refilled batch after batch
   * with similar windows, as a pane scratch is, then does not grow them again).
   */
  clear(): void {
    this.size = 0;
    for (const w of this.windows.values()) this.keepSpare(w.slots);
    this.windows.clear();
    this.lastCreated = null;
    this.cacheSlots.fill(null);
  }
}
