/**
 * A binary min-heap of (time, key id, slot) entries over typed arrays, for the processor operator's timers and TTL
 * expiries. Entries are never removed from the middle: the owner checks a popped entry against its own state and
 * skips it when stale (lazy deletion), and rebuilds the heap when stale entries pile up.
 *
 * @module
 */

/**
 * Min-heap ordered by time, then key id (so entries due at the same time pop in a fixed order).
 *
 * @example
 * const h = new TimeHeap();
 * h.push(5_000, 7, 0);
 * h.push(1_000, 3, 0);
 * h.topTime; // 1000
 * h.pop(); // h.lastGid === 3
 */
export class TimeHeap {
  private times = new Float64Array(64);
  private gids = new Int32Array(64);
  private slots = new Int32Array(64);
  size = 0;
  /** Key id and slot of the entry the last `pop` removed. */
  lastGid = -1;
  lastSlot = -1;

  /** The earliest time, or +Infinity when empty. */
  get topTime(): number {
    return this.size === 0 ? Number.POSITIVE_INFINITY : this.times[0]!;
  }
  get topGid(): number {
    return this.gids[0]!;
  }
  get topSlot(): number {
    return this.slots[0]!;
  }

  /** Bytes held by the heap's arrays. */
  get memoryBytes(): number {
    return this.times.byteLength + this.gids.byteLength + this.slots.byteLength;
  }

  clear(): void {
    this.size = 0;
  }

  push(time: number, gid: number, slot: number): void {
    if (this.size === this.times.length) {
      const cap = this.size * 2;
      const t = new Float64Array(cap);
      t.set(this.times);
      this.times = t;
      const g = new Int32Array(cap);
      g.set(this.gids);
      this.gids = g;
      const s = new Int32Array(cap);
      s.set(this.slots);
      this.slots = s;
    }
    const times = this.times;
    const gids = this.gids;
    const slots = this.slots;
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (times[p]! < time || (times[p] === time && gids[p]! <= gid)) break;
      times[i] = times[p]!;
      gids[i] = gids[p]!;
      slots[i] = slots[p]!;
      i = p;
    }
    times[i] = time;
    gids[i] = gid;
    slots[i] = slot;
  }

  /** Removes the earliest entry and returns its time (its key id and slot in `lastGid` / `lastSlot`). */
  pop(): number {
    const times = this.times;
    const gids = this.gids;
    const slots = this.slots;
    const t0 = times[0]!;
    this.lastGid = gids[0]!;
    this.lastSlot = slots[0]!;
    const n = --this.size;
    if (n > 0) {
      const t = times[n]!;
      const g = gids[n]!;
      const s = slots[n]!;
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && (times[c + 1]! < times[c]! || (times[c + 1] === times[c] && gids[c + 1]! < gids[c]!))) c++;
        if (t < times[c]! || (t === times[c] && g <= gids[c]!)) break;
        times[i] = times[c]!;
        gids[i] = gids[c]!;
        slots[i] = slots[c]!;
        i = c;
      }
      times[i] = t;
      gids[i] = g;
      slots[i] = s;
    }
    return t0;
  }

  /** Keeps the entries for which `keep(time, gid, slot)` holds, with key ids mapped through `remap` when given. */
  rebuild(keep: (time: number, gid: number, slot: number) => boolean, remap: Int32Array | null = null): void {
    const n = this.size;
    const t = this.times.slice(0, n);
    const g = this.gids.slice(0, n);
    const s = this.slots.slice(0, n);
    this.size = 0;
    for (let i = 0; i < n; i++) {
      if (!keep(t[i]!, g[i]!, s[i]!)) continue;
      const id = remap === null ? g[i]! : remap[g[i]!]!;
      if (id >= 0) this.push(t[i]!, id, s[i]!);
    }
  }
}
