import { describe, expect, it } from 'vitest';
import { GroupTable } from '../../../engine/kernels/hash-kernel.js';
import { WindowGroupTable } from '../../../engine/kernels/window-table.js';
import { prng } from '../../helpers/prng.js';

/** `rows` key rows of (window start, key, null bits): `windows` starts around 1970 and 2026, `keys` distinct keys. */
function keyRows(r: () => number, rows: number, windows: number, keys: number): Float64Array {
  const m = new Float64Array(rows * 3);
  for (let i = 0; i < rows; i++) {
    const w = Math.floor(r() * windows);
    m[3 * i] = (w % 2 === 0 ? -1 : 1_767_225_600) * 1000 + w * 60_000;
    const isNull = r() < 0.02;
    m[3 * i + 1] = isNull ? 0 : Math.floor(r() * keys) - keys / 2;
    m[3 * i + 2] = isNull ? 2 : 0;
  }
  return m;
}

describe('WindowGroupTable', () => {
  it('assigns the same first-seen ids as GroupTable, across batches, growth and many windows', () => {
    const r = prng(7);
    const plain = new GroupTable(3);
    const win = new WindowGroupTable(3);
    const starts = new Set<number>();
    for (let b = 0; b < 20; b++) {
      const rows = 1 + Math.floor(r() * 5000);
      const m = keyRows(r, rows, 1 + b * 5, 3000);
      for (let i = 0; i < rows; i++) starts.add(m[3 * i]!);
      const a = new Int32Array(rows);
      const w = new Int32Array(rows);
      const newA = plain.findOrInsert(m, rows, a);
      const newW = win.findOrInsert(m, rows, w);
      expect(newW).toBe(newA);
      expect(Array.from(w)).toEqual(Array.from(a));
    }
    expect(win.size).toBe(plain.size);
    expect(win.size).toBeGreaterThan(20_000);
    expect(Array.from(win.keys.subarray(0, win.size * 3))).toEqual(Array.from(plain.keys.subarray(0, plain.size * 3)));
    expect(starts.size).toBeGreaterThan(50);
    expect(win.windowCount).toBe(starts.size);
  });

  it('gives runs of equal consecutive keys the same ids as GroupTable, and breaks a run on any bit', () => {
    const r = prng(19);
    const plain = new GroupTable(3);
    const win = new WindowGroupTable(3);
    for (let b = 0; b < 10; b++) {
      // Runs of 1–40 copies of a row; some runs change only the window, only the key, only the sign of zero or
      // only the null bits, so the previous row's group must not be reused for them.
      const base = keyRows(r, 400, 1 + b, 50);
      const rows: number[] = [];
      for (let i = 0; i < 400; i++) {
        const row = [base[3 * i]!, base[3 * i + 1]!, base[3 * i + 2]!];
        const copies = 1 + Math.floor(r() * 40);
        for (let c = 0; c < copies; c++) rows.push(...row);
        const twist = Math.floor(r() * 5);
        if (twist === 1) rows.push(row[0]! + 60_000, row[1]!, row[2]!);
        else if (twist === 2) rows.push(row[0]!, row[1]! + 1, row[2]!);
        else if (twist === 3) rows.push(row[0]!, row[1] === 0 ? -0 : 0, row[2]!);
        else if (twist === 4) rows.push(row[0]!, row[1]!, row[2]! ^ 2);
      }
      const m = Float64Array.from(rows);
      const n = m.length / 3;
      const a = new Int32Array(n);
      const w = new Int32Array(n);
      expect(win.findOrInsert(m, n, w)).toBe(plain.findOrInsert(m, n, a));
      expect(Array.from(w)).toEqual(Array.from(a));
    }
    expect(win.size).toBe(plain.size);
    expect(Array.from(win.keys.subarray(0, win.size * 3))).toEqual(Array.from(plain.keys.subarray(0, plain.size * 3)));
  });

  it('compacts like GroupTable, drops emptied windows, and keeps finding the kept keys', () => {
    const r = prng(11);
    const plain = new GroupTable(3);
    const win = new WindowGroupTable(3);
    const m = keyRows(r, 30_000, 12, 500);
    plain.findOrInsert(m, 30_000, new Int32Array(30_000));
    win.findOrInsert(m, 30_000, new Int32Array(30_000));
    // Remove every group of the first window start seen, and a random tenth of the others.
    const first = win.keys[0]!;
    const keep = new Uint8Array(win.size);
    for (let g = 0; g < win.size; g++) keep[g] = win.keys[g * 3] === first || r() < 0.1 ? 0 : 1;
    expect(Array.from(win.compact(keep))).toEqual(Array.from(plain.compact(keep)));
    expect(win.size).toBe(plain.size);
    expect(win.windowCount).toBe(11);
    const again = keyRows(r, 10_000, 12, 600);
    const a = new Int32Array(10_000);
    const w = new Int32Array(10_000);
    expect(win.findOrInsert(again, 10_000, w)).toBe(plain.findOrInsert(again, 10_000, a));
    expect(Array.from(w)).toEqual(Array.from(a));
  });

  it('drops whole windows in place (the others keep their slots, renumbered) like GroupTable compacts', () => {
    const r = prng(12);
    const plain = new GroupTable(3);
    const win = new WindowGroupTable(3);
    const m = keyRows(r, 30_000, 12, 500);
    plain.findOrInsert(m, 30_000, new Int32Array(30_000));
    win.findOrInsert(m, 30_000, new Int32Array(30_000));
    // A watermark's eviction: every group of five window starts, none of the others.
    const starts = [...new Set(Array.from({ length: win.size }, (_, g) => win.keys[g * 3]!))].slice(0, 5);
    const keep = new Uint8Array(win.size);
    for (let g = 0; g < win.size; g++) keep[g] = starts.includes(win.keys[g * 3]!) ? 0 : 1;
    const bytesBefore = win.memoryBytes;
    expect(Array.from(win.compact(keep))).toEqual(Array.from(plain.compact(keep)));
    expect(win.size).toBe(plain.size);
    expect(win.windowCount).toBe(7);
    // No slot array was rebuilt or added: the dropped windows' arrays wait for new windows.
    expect(win.memoryBytes).toBeLessThanOrEqual(bytesBefore);
    // A new window no bigger than a dropped one (~500 groups each) takes a spare array instead of growing its own.
    const fresh = new Float64Array(400 * 3);
    for (let i = 0; i < 400; i++) (fresh[3 * i] = 9e12), (fresh[3 * i + 1] = i);
    // Slot bytes (windows' and spares'): what memoryBytes counts beyond the keys and the per-window overhead.
    const slotBytes = () => win.memoryBytes - win.keys.byteLength - win.windowCount * 200;
    const sizeBefore = win.size;
    const slotsMid = slotBytes();
    win.findOrInsert(fresh, 400, new Int32Array(400));
    plain.findOrInsert(fresh, 400, new Int32Array(400));
    expect(win.size - sizeBefore).toBe(400);
    expect(win.windowCount).toBe(8);
    expect(slotBytes()).toBe(slotsMid);
    const again = keyRows(r, 10_000, 12, 600);
    const a = new Int32Array(10_000);
    const w = new Int32Array(10_000);
    expect(win.findOrInsert(again, 10_000, w)).toBe(plain.findOrInsert(again, 10_000, a));
    expect(Array.from(w)).toEqual(Array.from(a));
    expect(Array.from(win.keys.subarray(0, win.size * 3))).toEqual(Array.from(plain.keys.subarray(0, plain.size * 3)));
  });

  it('compacts down to no groups, then fills again from id 0; sparse windows stay small', () => {
    const t = new WindowGroupTable(3);
    // 5,000 windows of one group each (a sparse, fine-grained window): a few hundred bytes each, not kilobytes.
    const m = new Float64Array(5000 * 3);
    for (let i = 0; i < 5000; i++) m[3 * i] = i * 1000;
    t.findOrInsert(m, 5000, new Int32Array(5000));
    expect(t.windowCount).toBe(5000);
    expect(t.memoryBytes / 5000).toBeLessThan(400);
    const remap = t.compact(new Uint8Array(5000));
    expect(remap.every((x) => x === -1)).toBe(true);
    expect(t.size).toBe(0);
    expect(t.windowCount).toBe(0);
    const ids = new Int32Array(3);
    expect(t.findOrInsert(m.subarray(0, 9), 3, ids)).toBe(3);
    expect(Array.from(ids)).toEqual([0, 1, 2]);
  });

  it('starts a new window at the size the window created before it has grown to', () => {
    const t = new WindowGroupTable(3);
    const rows = (start: number, keys: number) => {
      const m = new Float64Array(keys * 3);
      for (let i = 0; i < keys; i++) {
        m[3 * i] = start;
        m[3 * i + 1] = i;
      }
      return m;
    };
    t.findOrInsert(rows(0, 4000), 4000, new Int32Array(4000));
    const before = t.memoryBytes;
    // One key in the next window: its slot array is already as big as the first window's (≥ 2 × 4000 slots of 8 bytes).
    t.findOrInsert(rows(60_000, 1), 1, new Int32Array(1));
    expect(t.memoryBytes - before).toBeGreaterThanOrEqual(8 * 8000);
    // It then takes the next window's 4000 keys without growing its slots (only the key matrix may grow), and finds
    // every key of both windows.
    const slotBytes = t.memoryBytes - t.keys.byteLength;
    t.findOrInsert(rows(60_000, 4000), 4000, new Int32Array(4000));
    expect(t.memoryBytes - t.keys.byteLength).toBe(slotBytes);
    const ids = new Int32Array(8000);
    const both = new Float64Array(8000 * 3);
    both.set(rows(0, 4000));
    both.set(rows(60_000, 4000), 4000 * 3);
    expect(t.findOrInsert(both, 8000, ids)).toBe(0);
    expect(ids[0]).toBe(0);
    expect(ids[4000]).toBe(4000);
    expect(ids[7999]).toBe(7999);
  });

  it('compares keys on every bit: keys equal in value but differing in a key bit stay apart', () => {
    const t = new WindowGroupTable(3);
    // Same window and key value, one marked null; a window start that differs only in its sign of zero is its own group.
    const m = Float64Array.of(0, 5, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, -0, 0, 0);
    const ids = new Int32Array(5);
    expect(t.findOrInsert(m, 5, ids)).toBe(4);
    expect(Array.from(ids)).toEqual([0, 0, 1, 2, 3]);
    t.clear();
    expect(t.size).toBe(0);
    expect(t.findOrInsert(m, 2, ids)).toBe(1);
  });
});
