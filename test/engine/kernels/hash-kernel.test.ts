import { describe, expect, it } from 'vitest';
import { GroupTable, rowsByPartition, StringDict } from '../../../engine/kernels/hash-kernel.js';
import { binVecFromArrays, strVecFromStrings } from '../../../engine/kernels/vec.js';

/** Key rows of `width` doubles: row i is [f(i, 0), f(i, 1), …]. */
function keyRows(n: number, width: number, f: (i: number, c: number) => number): Float64Array {
  const k = new Float64Array(n * width);
  for (let i = 0; i < n; i++) for (let c = 0; c < width; c++) k[i * width + c] = f(i, c);
  return k;
}

describe('GroupTable', () => {
  it('gives dense ids in first-seen order across many groups and growth', () => {
    const t = new GroupTable(2, 16);
    const n = 300_000;
    const keys = keyRows(n, 2, (i, c) => (c === 0 ? i % 100_000 : (i % 100_000) * 0.5));
    const ids = new Int32Array(n);
    expect(t.findOrInsert(keys, n, ids)).toBe(100_000);
    expect(t.size).toBe(100_000);
    let wrong = 0;
    for (let i = 0; i < n; i++) if (ids[i] !== i % 100_000) wrong++;
    expect(wrong).toBe(0);
    expect(t.capacity).toBeGreaterThanOrEqual(100_000);
  });

  it('compares raw bits: 0 and −0 differ, NaNs with equal bits match, int64 bit patterns that are NaNs stay exact', () => {
    const t = new GroupTable(1);
    const k = new Float64Array(4);
    const w = new Int32Array(k.buffer);
    k[0] = 0;
    k[1] = -0;
    w[4] = 1;
    w[5] = 0x7ff00000; // a signalling-NaN bit pattern (an int64 key's raw bits)
    w[6] = 1;
    w[7] = 0x7ff00000;
    const ids = new Int32Array(4);
    t.findOrInsert(k, 4, ids);
    expect([...ids]).toEqual([0, 1, 2, 2]);
  });

  it('find looks up without inserting', () => {
    const t = new GroupTable(1);
    t.findOrInsert(Float64Array.of(5, 6), 2, new Int32Array(2));
    const out = new Int32Array(3);
    t.find(Float64Array.of(6, 7, 5), 3, out);
    expect([...out]).toEqual([1, -1, 0]);
    expect(t.size).toBe(2);
  });

  it('compaction keeps the survivors in order, with lookups and inserts still right', () => {
    const t = new GroupTable(2, 16);
    const n = 50_000;
    t.findOrInsert(keyRows(n, 2, (i, c) => i * 10 + c), n, new Int32Array(n));
    const keep = new Uint8Array(n);
    for (let g = 0; g < n; g++) keep[g] = g % 3 === 0 ? 1 : 0;
    const remap = t.compact(keep);
    expect(t.size).toBe(Math.ceil(n / 3));
    let wrong = 0;
    for (let g = 0; g < n; g++) if (remap[g] !== (g % 3 === 0 ? g / 3 : -1)) wrong++;
    const out = new Int32Array(n);
    t.find(keyRows(n, 2, (i, c) => i * 10 + c), n, out);
    for (let i = 0; i < n; i++) if (out[i] !== (i % 3 === 0 ? i / 3 : -1)) wrong++;
    expect(wrong).toBe(0);
    // Re-inserting a removed key makes a new group at the end; a kept key finds its new id.
    const ids = new Int32Array(2);
    expect(t.findOrInsert(Float64Array.of(10, 11, 30, 31), 2, ids)).toBe(1);
    expect([...ids]).toEqual([t.size - 1, 1]);
  });

  it('clear empties the table', () => {
    const t = new GroupTable(1);
    t.findOrInsert(Float64Array.of(1, 2), 2, new Int32Array(2));
    t.clear();
    const ids = new Int32Array(1);
    t.findOrInsert(Float64Array.of(2), 1, ids);
    expect([ids[0], t.size]).toEqual([0, 1]);
  });
});

describe('StringDict', () => {
  it('encodes unicode, empty strings and nulls; equal bytes get equal ids', () => {
    const d = new StringDict();
    const ids = d.encode(strVecFromStrings(['a', '', null, 'ü', 'u\u0308', '日本', '', 'emoji😀', 'a', null, 'ü']));
    expect([...ids]).toEqual([0, 1, -1, 2, 3, 4, 1, 5, 0, -1, 2]);
    expect(d.size).toBe(6);
  });

  it('a StringDict grows past its first arena and slot table', () => {
    const d = new StringDict();
    const strs = Array.from({ length: 50_000 }, (_, i) => `value-${i}-${'x'.repeat(i % 50)}`);
    const ids = d.encode(strVecFromStrings([...strs, ...strs.slice(0, 10)]));
    let wrong = 0;
    for (let i = 0; i < strs.length; i++) if (ids[i] !== i || d.valueOf(i) !== strs[i]) wrong++;
    expect(wrong).toBe(0);
    expect([...ids.subarray(50_000)]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(d.idOf('value-7-xxxxxxx')).toBe(7);
    // Every value found again, in another batch and through idOf: no id was lost while the arrays grew.
    const again = d.encode(strVecFromStrings([...strs].reverse()));
    for (let i = 0; i < strs.length; i++) if (again[i] !== strs.length - 1 - i || d.idOf(strs[i]!) !== i) wrong++;
    expect(wrong).toBe(0);
    expect(d.size).toBe(strs.length);
  });

  it('a StringDict keeps ids across batches and decodes them back', () => {
    const d = new StringDict();
    const a = d.encode(strVecFromStrings(['x', '', 'Zürich', null]));
    const b = d.encode(strVecFromStrings(['Zürich', 'new', '', 'x']));
    expect([...a]).toEqual([0, 1, 2, -1]);
    expect([...b]).toEqual([2, 3, 1, 0]);
    expect(d.values).toEqual(['x', '', 'Zürich', 'new']);
  });

  it('a StringDict tells apart values whose padded words are equal, and compares long values in full', () => {
    const d = new StringDict();
    const long = 'k'.repeat(1000);
    const vals = ['abc', 'abc\u0000', 'abcd', 'abcd\u0000', '', '\u0000', long, `${long}x`, `${long.slice(1)}x`, `x${long.slice(1)}`];
    const ids = d.encode(strVecFromStrings([...vals, ...vals.slice().reverse()]));
    expect([...ids]).toEqual([...vals.map((_, i) => i), ...vals.map((_, i) => vals.length - 1 - i)]);
    expect(d.values).toEqual(vals);
    // A fresh dictionary that saw the values one by one agrees with the batch encoding.
    const e = new StringDict();
    expect(vals.map((v) => e.idOf(v))).toEqual(vals.map((_, i) => i));
    expect([...e.encode(strVecFromStrings(vals))]).toEqual(vals.map((_, i) => i));
  });

  it('a reserved id is dense, never found by a value (not even the empty string), and survives growth', () => {
    const d = new StringDict();
    expect(d.idOf('a')).toBe(0);
    const r = d.reserveId();
    expect(r).toBe(1);
    expect(d.reserveId()).toBe(1);
    const strs = Array.from({ length: 5_000 }, (_, i) => `v${i}`);
    const ids = d.encode(strVecFromStrings(['', ...strs, '']));
    expect(ids[0]).toBe(2);
    expect(ids[ids.length - 1]).toBe(2);
    expect(ids.indexOf(r)).toBe(-1);
    expect(d.size).toBe(strs.length + 3);
    // Fresh strings, decoded each time (not cached), UTF-8 included.
    expect(d.stringOf(0)).toBe('a');
    expect(d.stringOf(2)).toBe('');
    expect(d.stringOf(ids[4_000]!)).toBe('v3999');
    expect(d.stringOf(d.idOf('Zürich 日本'))).toBe('Zürich 日本');
  });

  it('binary values round-trip byte for byte (not as UTF-8)', () => {
    const d = new StringDict();
    const bytes = [Uint8Array.of(0xff, 0x00, 0xc3), Uint8Array.of(), Uint8Array.of(0xc3, 0xbc)];
    const ids = d.encode(binVecFromArrays([...bytes, Uint8Array.of(0xff, 0x00, 0xc3)]));
    expect([...ids]).toEqual([0, 1, 2, 0]);
    expect([0, 1, 2].map((id) => [...d.bytesOf(id)])).toEqual(bytes.map((b) => [...b]));
    const back = d.gather(Int32Array.of(2, 0, 1), Uint8Array.of(1, 1, 0), 'binary');
    expect([...back.offsets]).toEqual([0, 2, 5, 5]);
    expect([...back.bytes]).toEqual([0xc3, 0xbc, 0xff, 0x00, 0xc3]);
  });
});

describe('rowsByPartition', () => {
  it('lists each partition\'s rows in row order, empty partitions included', () => {
    expect(rowsByPartition(Int32Array.of(2, 0, 2, 2, 0), 4).map((a) => [...a])).toEqual([[1, 4], [], [0, 2, 3], []]);
  });
});
