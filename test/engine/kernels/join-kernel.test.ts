/**
 * The hash-join kernel on its own: which keys match (nulls, null-safe keys, NaN and −0, windows, booleans, dates),
 * bounded output for a skewed key, pairs handed out in pieces, and a probe side whose strings outgrow the build
 * side's dictionary.
 */
import { describe, expect, it } from 'vitest';
import { col, Session, window, type DataFrame } from '../../../engine/index.js';
import { JOIN_BATCH_ROWS, JoinHashTable, PairCursor, matchableRows } from '../../../engine/kernels/join-kernel.js';
import { numVec, strVecFromStrings } from '../../../engine/kernels/vec.js';
import { normalizeRows } from '../../helpers/stream-test.js';

const session = new Session({ conf: { parallelism: 1 } });

describe('JoinHashTable', () => {
  it('groups build rows by key in build order; a null key never matches, a null-safe one matches null', () => {
    const build = numVec('long', Float64Array.of(5, 7, 5, 0, 9), Uint8Array.of(1, 1, 1, 0, 1));
    const probe = numVec('long', Float64Array.of(5, 0, 8, 7), Uint8Array.of(1, 0, 1, 1));
    const t = new JoinHashTable(['long'], [false]);
    t.build([build], 5, null);
    const g = t.probe([probe], 4, null);
    expect(Array.from(g).map((x) => (x < 0 ? [] : Array.from(t.rows.subarray(t.start[x]!, t.start[x + 1]!))))).toEqual([[0, 2], [], [], [1]]);
    const safe = new JoinHashTable(['long'], [true]);
    safe.build([build], 5, null);
    const s = safe.probe([probe], 4, null);
    expect(Array.from(safe.rows.subarray(safe.start[s[1]!]!, safe.start[s[1]! + 1]!))).toEqual([3]);
  });

  it('a row whose own side conjuncts are false cannot match', () => {
    expect(Array.from(matchableRows([numVec('int', Float64Array.of(1, 2, 3))], [false], Uint8Array.of(1, 0, 1), 3))).toEqual([0, 2]);
  });

  it('rebuilds when probing strings the build side never had grew its dictionary, and still matches', () => {
    // Two keys: the probe encodes whole key rows, adding its strings to the dictionary.
    const t = new JoinHashTable(['string', 'long'], [false, false]);
    const build = [strVecFromStrings(['a', 'b']), numVec('long', Float64Array.of(1, 2))];
    t.build(build, 2, null);
    let rebuilt = false;
    for (let round = 0; round < 3; round++) {
      const probe = strVecFromStrings([...Array.from({ length: 40_000 }, (_, i) => `miss-${round}-${i}`), 'b']);
      const g = t.probe([probe, numVec('long', new Float64Array(probe.length).fill(2))], probe.length, null);
      expect(g[probe.length - 1]).toBeGreaterThanOrEqual(0);
      if (t.bloated) {
        rebuilt = true;
        t.build(build, 2, null);
        expect(t.bloated).toBe(false);
      }
    }
    expect(rebuilt).toBe(true);
  });

  it('a lone string key is probed without adding the probe side\'s strings; nulls and false conjuncts do not match', () => {
    const t = new JoinHashTable(['string'], [false]);
    // 'x' fails the build side's conjunct: in the dictionary, but no group.
    t.build([strVecFromStrings(['a', 'b', 'x', 'a', null])], 5, Uint8Array.of(1, 1, 0, 1, 1));
    for (let round = 0; round < 3; round++) {
      const probe = strVecFromStrings([...Array.from({ length: 40_000 }, (_, i) => `miss-${round}-${i}`), 'b', 'x', null, 'a', 'a']);
      const n = probe.length;
      const ok = new Uint8Array(n).fill(1);
      ok[n - 1] = 0;
      const g = t.probe([probe], n, ok);
      const rowsOf = (x: number) => (x < 0 ? [] : Array.from(t.rows.subarray(t.start[x]!, t.start[x + 1]!)));
      expect(Array.from(g.subarray(n - 5)).map(rowsOf)).toEqual([[1], [], [], [0, 3], []]);
      expect(g.subarray(0, n - 5).every((x) => x === -1)).toBe(true);
      expect(t.bloated).toBe(false);
    }
  });

  it('a lone integer key over a dense range is probed by value, with the same groups as the hashed table', () => {
    const rowsOf = (t: JoinHashTable, g: Int32Array) => Array.from(g).map((x) => (x < 0 ? [] : Array.from(t.rows.subarray(t.start[x]!, t.start[x + 1]!))));
    // Keys 100…104 with a duplicate, a null and a row failing its conjunct (104); then the same with one far key (sparse: hashed).
    const keys = Float64Array.of(102, 100, 0, 104, 102, 101);
    const valid = Uint8Array.of(1, 1, 0, 1, 1, 1);
    const ok = Uint8Array.of(1, 1, 1, 0, 1, 1);
    const probe = numVec('long', Float64Array.of(102, 99, 104, 100, 105, 101, 0, 103, -5, 1e12), Uint8Array.of(1, 1, 1, 1, 1, 1, 0, 1, 1, 1));
    const probeOk = Uint8Array.of(1, 1, 1, 1, 1, 0, 1, 1, 1, 1);
    const want = [[0, 4], [], [], [1], [], [], [], [], [], []];
    for (const type of ['long', 'int'] as const) {
      const t = new JoinHashTable([type], [false]);
      t.build([numVec(type, keys, valid)], 6, ok);
      expect(t.byValue).toBe(true);
      expect(rowsOf(t, t.probe([numVec(type, probe.values, probe.valid)], 10, probeOk))).toEqual(want);
    }
    const sparse = new JoinHashTable(['long'], [false]);
    sparse.build([numVec('long', Float64Array.of(...keys, 5e9), Uint8Array.of(...valid, 1))], 7, Uint8Array.of(...ok, 1));
    expect(sparse.byValue).toBe(false);
    expect(rowsOf(sparse, sparse.probe([probe], 10, probeOk))).toEqual(want);
    // A long beyond ±2^53 on the probe side is matched by its 64 bits (the hashed table), not its rounded double.
    const big = BigInt64Array.of(2n ** 60n + 1n, 102n);
    const t = new JoinHashTable(['long'], [false]);
    t.build([numVec('long', keys, valid)], 6, ok);
    expect(rowsOf(t, t.probe([numVec('long', Float64Array.of(2 ** 60, 102), null, big)], 2, null))).toEqual([[], [0, 4]]);
  });

  it('a build side of one row per key pairs each probe row with its row directly, skipping rows that cannot match', () => {
    const build = numVec('long', Float64Array.of(10, 20, 30, 40), Uint8Array.of(1, 0, 1, 1));
    const probe = numVec('long', Float64Array.of(40, 10, 20, 50, 30, 40));
    const pairsOf = (t: JoinHashTable) => {
      const c = t.pairs(t.probe([probe], 6, null));
      const p = new Int32Array(4);
      const b = new Int32Array(4);
      const out: [number, number][] = [];
      for (let n = c.next(p, b); n > 0; n = c.next(p, b)) for (let i = 0; i < n; i++) out.push([p[i]!, b[i]!]);
      return out;
    };
    const t = new JoinHashTable(['long'], [false]);
    t.build([build], 4, null);
    expect(t.unique && !t.identity).toBe(true);
    expect(pairsOf(t)).toEqual([[0, 3], [1, 0], [4, 2], [5, 3]]);
    const all = new JoinHashTable(['long'], [false]);
    all.build([numVec('long', Float64Array.of(10, 20, 30, 40))], 4, null);
    expect(all.identity).toBe(true);
    expect(pairsOf(all)).toEqual([[0, 3], [1, 0], [2, 1], [4, 2], [5, 3]]);
    const dup = new JoinHashTable(['long'], [false]);
    dup.build([numVec('long', Float64Array.of(10, 40, 30, 40))], 4, null);
    expect(dup.unique).toBe(false);
    expect(pairsOf(dup)).toEqual([[0, 1], [0, 3], [1, 0], [4, 2], [5, 1], [5, 3]]);
  });
});

describe('PairCursor', () => {
  it('hands out a hot key’s pairs in pieces of the buffer size, in probe order', () => {
    const start = Int32Array.of(0, 3);
    const rows = Int32Array.of(10, 11, 12);
    const c = new PairCursor(Int32Array.of(0, -1, 0), start, rows);
    const p = new Int32Array(4);
    const b = new Int32Array(4);
    const pieces: number[][] = [];
    for (let n = c.next(p, b); n > 0; n = c.next(p, b)) pieces.push(Array.from({ length: n }, (_, i) => p[i]! * 100 + b[i]!));
    expect(pieces).toEqual([
      [10, 11, 12, 210],
      [211, 212],
    ]);
  });
});

describe('joins through the kernel', () => {
  const rowsOf = async (df: DataFrame) => normalizeRows(await df.collect());

  it('a skewed key gives output batches of at most JOIN_BATCH_ROWS rows', async () => {
    const l = session.createDataFrame(Array.from({ length: 1_000 }, (_, i) => ({ a: i % 2 === 0 ? 1 : 1_000 + i })), { a: 'long' });
    const r = session.createDataFrame(Array.from({ length: 400 }, () => ({ b: 1 })), { b: 'long' });
    const batches = await l.join(r, col('a').eq(col('b'))).toBatches();
    expect(batches.reduce((s, x) => s + x.numRows, 0)).toBe(500 * 400);
    expect(Math.max(...batches.map((x) => x.numRows))).toBeLessThanOrEqual(JOIN_BATCH_ROWS);
    expect(batches.length).toBeGreaterThan(1);
  });

  it('NaN matches NaN and −0 matches 0 (Spark normalises join keys); a null double never matches', async () => {
    const l = session.createDataFrame([{ d: NaN, x: 'nan' }, { d: -0, x: 'negzero' }, { d: null, x: 'null' }], { d: 'double', x: 'string' });
    const r = session.createDataFrame([{ e: NaN, y: 1 }, { e: 0, y: 2 }, { e: null, y: 3 }], { e: 'double', y: 'int' });
    expect(await rowsOf(l.join(r, col('d').eq(col('e'))).select('x', 'y'))).toEqual(normalizeRows([{ x: 'nan', y: 1 }, { x: 'negzero', y: 2 }]));
  });

  it('window, boolean and date keys', async () => {
    const l = session.createDataFrame(
      [
        { t: 60_000, f: true, day: '2024-01-02', x: 1 },
        { t: 119_999, f: false, day: '2024-01-02', x: 2 },
        { t: 120_000, f: true, day: '2024-01-03', x: 3 },
      ],
      { t: 'timestamp', f: 'boolean', day: 'date', x: 'int' },
    );
    const r = session.createDataFrame(
      [
        { u: 61_000, g: true, d2: '2024-01-02', y: 10 },
        { u: 150_000, g: true, d2: '2024-01-03', y: 20 },
      ],
      { u: 'timestamp', g: 'boolean', d2: 'date', y: 'int' },
    );
    const lw = l.withColumn('w', window(col('t'), '1 minute')).alias('l');
    const rw = r.withColumn('w', window(col('u'), '1 minute')).alias('r');
    expect(await rowsOf(lw.join(rw, col('l.w').eq(col('r.w'))).select('x', 'y'))).toEqual(normalizeRows([{ x: 1, y: 10 }, { x: 2, y: 10 }, { x: 3, y: 20 }]));
    expect(await rowsOf(l.join(r, col('f').eq(col('g')).and(col('day').eq(col('d2')))).select('x', 'y'))).toEqual(normalizeRows([{ x: 1, y: 10 }, { x: 3, y: 20 }]));
  });

  it('an empty side: outer joins keep the other side, semi keeps nothing, anti keeps everything', async () => {
    const some = session.createDataFrame([{ a: 1, x: 'p' }, { a: null, x: 'q' }], { a: 'long', x: 'string' });
    const none = session.createDataFrame([], { b: 'long', y: 'string' });
    const on = col('a').eq(col('b'));
    const count = async (df: DataFrame) => (await df.collect()).length;
    expect(await count(some.join(none, on, 'inner'))).toBe(0);
    expect(await count(some.join(none, on, 'left'))).toBe(2);
    expect(await count(some.join(none, on, 'right'))).toBe(0);
    expect(await count(some.join(none, on, 'full'))).toBe(2);
    expect(await count(some.join(none, on, 'semi'))).toBe(0);
    expect(await count(some.join(none, on, 'anti'))).toBe(2);
    expect(await count(none.join(some, col('b').eq(col('a')), 'full'))).toBe(2);
    expect(await count(none.join(some, col('b').eq(col('a')), 'right'))).toBe(2);
    expect(await count(some.crossJoin(none))).toBe(0);
    expect(await rowsOf(none.join(some, col('b').eq(col('a')), 'right'))).toEqual(normalizeRows([{ b: null, y: null, a: 1, x: 'p' }, { b: null, y: null, a: null, x: 'q' }]));
  });
});
