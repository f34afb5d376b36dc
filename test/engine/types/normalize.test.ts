import {
  Bool,
  DateDay,
  DateMillisecond,
  Decimal,
  Dictionary,
  Duration,
  Field,
  FixedSizeBinary,
  FixedSizeList,
  Float16,
  Float32,
  Int16,
  Int32,
  Int64,
  Int8,
  LargeBinary,
  LargeList,
  LargeUtf8,
  List,
  Map_,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimeMillisecond,
  TimeUnit,
  TimestampMicrosecond,
  TimestampMillisecond,
  TimestampNanosecond,
  TimestampSecond,
  Uint16,
  Uint32,
  Uint64,
  Uint8,
  Utf8,
  Utf8View,
  makeData,
  tableFromIPC,
  tableToIPC,
  vectorFromArray,
  type Data,
  type DataType,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import {
  SchemaError,
  WINDOW_TYPE,
  fromArrowSchema,
  toArrowType,
  typeEquals,
  type DataType as SluiceType,
} from '../../../engine/types/data-type.js';
import {
  canonicalArrowType,
  canonicalSchemaOf,
  normalizeRecordBatch,
  normalizeTable,
  TimestampOutOfRangeError,
} from '../../../engine/types/normalize.js';

function batchOf(columns: Record<string, Data>, nullable = true): RecordBatch {
  const fields = Object.entries(columns).map(([name, d]) => new Field(name, d.type, nullable));
  const length = Object.values(columns)[0]?.length ?? 0;
  return new RecordBatch(
    new Schema(fields),
    makeData({ type: new Struct(fields), length, nullCount: 0, children: Object.values(columns) }),
  );
}

function dataOf<T extends DataType>(values: readonly unknown[], type: T): Data<T> {
  return vectorFromArray(values as never[], type).data[0]! as Data<T>;
}

/** Bitmap with bit i set when `valid[i]`. */
function bitmapOf(valid: readonly boolean[]): Uint8Array {
  const out = new Uint8Array((valid.length + 7) >> 3);
  valid.forEach((v, i) => {
    if (v) out[i >> 3]! |= 1 << (i & 7);
  });
  return out;
}

function column(batch: RecordBatch, name: string): unknown[] {
  return [...batch.getChild(name)!];
}

function expectCanonical(batch: RecordBatch, name: string, t: SluiceType): void {
  const f = batch.schema.fields.find((x) => x.name === name)!;
  expect(f.nullable).toBe(true);
  expect(String(f.type)).toBe(String(toArrowType(t)));
  expect(typeEquals(fromArrowSchema(new Schema([f])).fields[0]!.type, t)).toBe(true);
  const d = batch.getChild(name)!.data[0]!;
  expect(String(d.type)).toBe(String(toArrowType(t)));
}

/** Reference floor division on bigints. */
function floorDivBig(x: bigint, d: bigint): bigint {
  const q = x / d;
  return x % d < 0n ? q - 1n : q;
}

describe('normalizeRecordBatch', () => {
  it('returns the same batch when every column is canonical and nullable', () => {
    const b = batchOf({
      s: dataOf(['a', null], new Utf8()),
      n: dataOf([1, 2], new Int32()),
      l: dataOf([1n, 2n], new Int64()),
      t: dataOf([0, 1], new TimestampMillisecond('UTC')),
      ok: dataOf([true, null], new Bool()),
    });
    expect(normalizeRecordBatch(b)).toBe(b);
  });

  it('marks non-nullable fields nullable without copying their data', () => {
    const s = dataOf(['a', 'b'], new Utf8());
    const b = batchOf({ s }, false);
    const out = normalizeRecordBatch(b);
    expect(out).not.toBe(b);
    expect(out.schema.fields[0]!.nullable).toBe(true);
    expect(out.getChild('s')!.data[0]).toBe(s);
  });

  it('decodes dictionaries of strings with any index width, keeping nulls', () => {
    const values = ['grüße', null, '', '日本語', 'grüße', 'x'];
    const dicts: Data[] = [new Int8(), new Int16(), new Int32(), new Uint8(), new Uint32()].map((idx) =>
      dataOf(values, new Dictionary(new Utf8(), idx)),
    );
    // Arrow JS cannot build Int64 indices (its builder mixes number and bigint), so widen the Int32 ones by hand.
    const int32 = dicts[2]!;
    dicts.push(
      makeData({
        type: new Dictionary(new Utf8(), new Int64() as unknown as Int32),
        length: values.length,
        data: BigInt64Array.from(int32.values as Int32Array, (k) => BigInt(k)) as unknown as Int32Array,
        nullBitmap: int32.nullBitmap,
        dictionary: int32.dictionary!,
      }),
    );
    for (const d of dicts) {
      const out = normalizeRecordBatch(batchOf({ s: d }));
      expectCanonical(out, 's', 'string');
      expect(column(out, 's')).toEqual(values);
    }
  });

  it('decodes dictionaries of large strings and of numbers', () => {
    const big = dataOf(['a', 'bb', null, 'a'], new Dictionary(new LargeUtf8(), new Int32()));
    const nums = dataOf([1.5, null, 1.5, -2], new Dictionary(new Float32(), new Int16()));
    const longs = dataOf([2n ** 62n, 5n, null, 5n], new Dictionary(new Int64(), new Int32()));
    const out = normalizeRecordBatch(batchOf({ big, nums, longs }));
    expect(column(out, 'big')).toEqual(['a', 'bb', null, 'a']);
    expectCanonical(out, 'nums', 'double');
    expect(column(out, 'nums')).toEqual([1.5, null, 1.5, -2]);
    expectCanonical(out, 'longs', 'long');
    expect(column(out, 'longs')).toEqual([2n ** 62n, 5n, null, 5n]);
  });

  it('converts LargeUtf8, Utf8View, LargeBinary and FixedSizeBinary to flat Utf8/Binary', () => {
    const long = 'a string longer than twelve bytes';
    const viewsBuf = new Uint8Array(16 * 3);
    const v32 = new Int32Array(viewsBuf.buffer);
    const enc = new TextEncoder();
    viewsBuf.set(enc.encode('short'), 4);
    v32[0] = 5;
    v32[4] = long.length; // row 1: in buffer 0 at offset 3
    v32[6] = 0;
    v32[7] = 3;
    v32[8] = 0; // row 2: null
    const variadic = new Uint8Array(3 + long.length);
    variadic.set(enc.encode(long), 3);
    const view = makeData({
      type: new Utf8View(),
      length: 3,
      views: viewsBuf,
      variadicBuffers: [variadic],
      nullBitmap: bitmapOf([true, true, false]),
    });
    const out = normalizeRecordBatch(
      batchOf({
        large: dataOf(['x', 'yé', null], new LargeUtf8()),
        view,
        lbin: dataOf([new Uint8Array([1, 2]), null, new Uint8Array([])], new LargeBinary()),
        fixed: makeData({
          type: new FixedSizeBinary(2),
          length: 3,
          data: new Uint8Array([1, 2, 3, 4, 5, 6]),
          nullBitmap: bitmapOf([true, false, true]),
        }),
      }),
    );
    expectCanonical(out, 'large', 'string');
    expect(column(out, 'large')).toEqual(['x', 'yé', null]);
    expectCanonical(out, 'view', 'string');
    expect(column(out, 'view')).toEqual(['short', long, null]);
    expectCanonical(out, 'lbin', 'binary');
    expect(column(out, 'lbin')).toEqual([new Uint8Array([1, 2]), null, new Uint8Array([])]);
    expectCanonical(out, 'fixed', 'binary');
    expect(column(out, 'fixed')).toEqual([new Uint8Array([1, 2]), null, new Uint8Array([5, 6])]);
  });

  it('widens narrow and unsigned integers', () => {
    const out = normalizeRecordBatch(
      batchOf({
        i8: dataOf([-128, 127, null], new Int8()),
        i16: dataOf([-32768, 32767, null], new Int16()),
        u8: dataOf([0, 255, null], new Uint8()),
        u16: dataOf([0, 65535, null], new Uint16()),
        u32: dataOf([0, 4294967295, null], new Uint32()),
        u64: dataOf([0n, 2n ** 63n - 1n, null], new Uint64()),
      }),
    );
    for (const c of ['i8', 'i16', 'u8', 'u16']) expectCanonical(out, c, 'int');
    expect(column(out, 'i8')).toEqual([-128, 127, null]);
    expect(column(out, 'i16')).toEqual([-32768, 32767, null]);
    expect(column(out, 'u8')).toEqual([0, 255, null]);
    expect(column(out, 'u16')).toEqual([0, 65535, null]);
    expectCanonical(out, 'u32', 'long');
    expect(column(out, 'u32')).toEqual([0n, 4294967295n, null]);
    expectCanonical(out, 'u64', 'long');
    expect(column(out, 'u64')).toEqual([0n, 2n ** 63n - 1n, null]);
  });

  it('refuses unsigned 64-bit values above 2^63-1, naming the column', () => {
    const b = batchOf({ big: dataOf([1n, 2n ** 63n], new Uint64()) });
    expect(() => normalizeRecordBatch(b)).toThrow(SchemaError);
    expect(() => normalizeRecordBatch(b)).toThrow(/'big'.*DOUBLE or DECIMAL/);
    // …but a null row may hold anything.
    const nulls = makeData({
      type: new Uint64(),
      length: 2,
      data: new BigUint64Array([1n, 2n ** 64n - 1n]),
      nullBitmap: bitmapOf([true, false]),
    });
    expect(column(normalizeRecordBatch(batchOf({ big: nulls })), 'big')).toEqual([1n, null]);
  });

  it('widens Float16, Float32 and Decimal to Float64', () => {
    const half = makeData({
      type: new Float16(),
      length: 7,
      // 1, -2, 0.5, -0, Infinity, NaN, smallest subnormal
      data: new Uint16Array([0x3c00, 0xc000, 0x3800, 0x8000, 0x7c00, 0x7e00, 0x0001]),
    });
    // Decimal(5, 2): 123.45, -0.01, 0, and (2^64 + 5) / 100
    const dec = new Uint32Array([12345, 0, 0, 0, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0, 0, 0, 0, 5, 0, 1, 0]);
    const out = normalizeRecordBatch(
      batchOf({ half, single: dataOf([1.5, -0, Infinity, NaN, null, 0, 1], new Float32()) }),
    );
    const decimals = normalizeRecordBatch(batchOf({ dec: makeData({ type: new Decimal(2, 38, 128), length: 4, data: dec }) }));
    expectCanonical(out, 'half', 'double');
    expect(column(out, 'half')).toEqual([1, -2, 0.5, -0, Infinity, NaN, 2 ** -24]);
    expect(Object.is(column(out, 'half')[3], -0)).toBe(true);
    expectCanonical(out, 'single', 'double');
    expect(column(out, 'single')).toEqual([1.5, -0, Infinity, NaN, null, 0, 1]);
    expectCanonical(decimals, 'dec', 'double');
    expect(column(decimals, 'dec')).toEqual([123.45, -0.01, 0, (2 ** 64 + 5) / 100]);
  });

  it('converts timestamps of every unit to UTC milliseconds, rounding toward negative infinity', () => {
    const s = new BigInt64Array([0n, -1n, 1_700_000_000n, -8_640_000_000_000n, 8_640_000_000_000n]);
    const us = new BigInt64Array([-1n, -1000n, -1001n, 1_700_000_000_123_999n, 999n]);
    const ns = new BigInt64Array([-1n, 1_700_000_000_123_456_789n, -(2n ** 63n), 2n ** 63n - 1n, -1_000_000n]);
    const out = normalizeRecordBatch(
      batchOf({
        s: makeData({ type: new TimestampSecond(), length: 5, data: s }),
        ms: dataOf([1, 2, null, -1, 0], new TimestampMillisecond('Europe/Paris')),
        us: makeData({ type: new TimestampMicrosecond('UTC'), length: 5, data: us }),
        ns: makeData({ type: new TimestampNanosecond('+01:00'), length: 5, data: ns }),
      }),
    );
    for (const c of ['s', 'ms', 'us', 'ns']) expectCanonical(out, c, 'timestamp');
    const raw = (name: string) => [...(out.getChild(name)!.data[0]!.values as BigInt64Array)];
    expect(raw('s')).toEqual([0n, -1000n, 1_700_000_000_000n, -8_640_000_000_000_000n, 8_640_000_000_000_000n]);
    expect(raw('us')).toEqual([-1n, -1n, -2n, 1_700_000_000_123n, 0n]);
    expect(raw('ns')).toEqual([...ns].map((x) => floorDivBig(x, 1_000_000n)));
    expect(column(out, 'ms')).toEqual([1, 2, null, -1, 0]);
    // ms columns are only re-labelled: the values buffer is shared.
    expect(out.getChild('ms')!.data[0]!.values).toBe(out.getChild('ms')!.data[0]!.values);
  });

  it('matches BigInt floor division on random 64-bit values', () => {
    const n = 10_000;
    const src = new BigInt64Array(n);
    const w = new Uint32Array(src.buffer);
    for (let i = 0; i < w.length; i++) w[i] = (Math.random() * 2 ** 32) >>> 0;
    // Microseconds beyond ±8.64e18 are outside a Date's range (refused, see below): keep µs values within it.
    const usSrc = src.map((x) => x % 8_640_000_000_000_000_000n);
    const out = normalizeRecordBatch(
      batchOf({
        us: makeData({ type: new TimestampMicrosecond(), length: n, data: usSrc }),
        ns: makeData({ type: new TimestampNanosecond(), length: n, data: src }),
      }),
    );
    const us = out.getChild('us')!.data[0]!.values as BigInt64Array;
    const ns = out.getChild('ns')!.data[0]!.values as BigInt64Array;
    for (let i = 0; i < n; i++) {
      expect(us[i]).toBe(floorDivBig(usSrc[i]!, 1000n));
      expect(ns[i]).toBe(floorDivBig(src[i]!, 1_000_000n));
    }
  });

  it('refuses timestamps outside a Date\'s range (±8.64e15 ms), naming the column, row and stored value', () => {
    const ms = (vals: bigint[], type = new TimestampMillisecond('UTC') as TimestampMillisecond | TimestampMicrosecond | TimestampSecond) =>
      batchOf({ ts: makeData({ type, length: vals.length, data: new BigInt64Array(vals) }) });
    expect(() => normalizeRecordBatch(ms([0n, 8_640_000_000_000_000n, -8_640_000_000_000_000n]))).not.toThrow();
    expect(() => normalizeRecordBatch(ms([0n, 8_640_000_000_000_001n]))).toThrow(SchemaError);
    expect(() => normalizeRecordBatch(ms([0n, 8_640_000_000_000_001n]))).toThrow(
      "Column 'ts', row 1: the timestamp 8640000000000001 ms is outside the range of sluice timestamps",
    );
    expect(() => normalizeRecordBatch(ms([2n ** 63n - 1n], new TimestampMicrosecond()))).toThrow("row 0: the timestamp 9223372036854775807 µs");
    expect(() => normalizeRecordBatch(ms([1n, -8_640_000_000_001n], new TimestampSecond()))).toThrow("row 1: the timestamp -8640000000001 s");
    // A null row may hold anything.
    const nulls = makeData({
      type: new TimestampMillisecond('UTC'),
      length: 2,
      nullCount: 1,
      nullBitmap: new Uint8Array([0b01]),
      data: new BigInt64Array([5n, 2n ** 62n]),
    });
    expect(column(normalizeRecordBatch(batchOf({ ts: nulls })), 'ts')).toEqual([5, null]);
  });

  it('refuses dates beyond ±1e8 days (a Date\'s range), as Date(DAY) and Date(MILLISECOND), naming column, row and value', () => {
    const days = (vals: number[]) => batchOf({ d: makeData({ type: new DateDay(), length: vals.length, data: new Int32Array(vals) }) });
    expect(() => normalizeRecordBatch(days([0, 100_000_000, -100_000_000]))).not.toThrow();
    expect(() => normalizeRecordBatch(days([0, 100_000_001]))).toThrow(TimestampOutOfRangeError);
    expect(() => normalizeRecordBatch(days([0, 100_000_001]))).toThrow(
      "Column 'd', row 1: the date 100000001 days is outside the range of sluice dates (±1e8 days, years −271821 to 275760)",
    );
    const ms = (vals: bigint[]) => batchOf({ d: makeData({ type: new DateMillisecond(), length: vals.length, data: new BigInt64Array(vals) }) });
    expect(() => normalizeRecordBatch(ms([8_640_000_000_000_000n]))).not.toThrow();
    expect(() => normalizeRecordBatch(ms([0n, -8_640_000_086_400_000n]))).toThrow("row 1: the date -8640000086400000 ms is outside");
    // A null row may hold anything.
    const nulls = makeData({ type: new DateDay(), length: 2, nullCount: 1, nullBitmap: new Uint8Array([0b01]), data: new Int32Array([5, 2 ** 31 - 1]) });
    expect(normalizeRecordBatch(batchOf({ d: nulls })).getChild('d')!.nullCount).toBe(1);
  });

  it('converts Date(MILLISECOND) to Date(DAY), flooring before 1970', () => {
    const ms = new BigInt64Array([0n, -1n, -86_400_000n, -86_400_001n, 86_400_000n * 19_000n + 5n]);
    const out = normalizeRecordBatch(batchOf({ d: makeData({ type: new DateMillisecond(), length: 5, data: ms }) }));
    expectCanonical(out, 'd', 'date');
    expect([...(out.getChild('d')!.data[0]!.values as Int32Array)]).toEqual([0, -1, -1, -2, 19_000]);
  });

  it('keeps validity when a converted column starts at a non-byte-aligned offset', () => {
    const valid = Array.from({ length: 40 }, (_, i) => i % 3 !== 0);
    const us = makeData({
      type: new TimestampMicrosecond(),
      length: 40,
      data: BigInt64Array.from({ length: 40 }, (_, i) => BigInt(i) * 1000n),
      nullBitmap: bitmapOf(valid),
    });
    const i8 = makeData({ type: new Int8(), length: 40, data: Int8Array.from({ length: 40 }, (_, i) => i), nullBitmap: bitmapOf(valid) });
    const sliced = batchOf({ us, i8 }).slice(5, 35); // RecordBatch.slice takes (begin, end)
    expect(sliced.getChild('us')!.data[0]!.offset).toBe(5);
    const out = normalizeRecordBatch(sliced);
    const expected = valid.slice(5, 35).map((v, j) => (v ? j + 5 : null));
    expect(out.getChild('us')!.data[0]!.offset).toBe(0);
    expect(column(out, 'us')).toEqual(expected);
    expect(column(out, 'i8')).toEqual(expected);
    expect(out.getChild('us')!.nullCount).toBe(expected.filter((x) => x === null).length);
  });

  it('converts sliced LargeUtf8 and dictionary columns from their first row', () => {
    const words = ['zero', null, 'two', 'drei', '', '五'];
    const b = batchOf({
      large: dataOf(words, new LargeUtf8()),
      dict: dataOf(words, new Dictionary(new Utf8(), new Int16())),
    }).slice(1, 6);
    const out = normalizeRecordBatch(b);
    expect(column(out, 'large')).toEqual(words.slice(1));
    expect(column(out, 'dict')).toEqual(words.slice(1));
    expect((out.getChild('large')!.data[0]!.valueOffsets as Int32Array)[0]).toBe(0);
  });

  it('passes a sliced Utf8 column (non-zero first offset) through, readable and IPC-serialisable', () => {
    const s = dataOf(['alpha', null, 'γ', 'delta', '', 'epsilon'], new Utf8()).slice(2, 3);
    const b = batchOf({ s });
    expect((s.valueOffsets as Int32Array)[0]).toBeGreaterThan(0);
    const out = normalizeRecordBatch(b);
    expect(out).toBe(b);
    expect(column(out, 's')).toEqual(['γ', 'delta', '']);
    const back = tableFromIPC(tableToIPC(new Table([out]), 'stream'));
    expect([...back.getChild('s')!]).toEqual(['γ', 'delta', '']);
  });

  it('normalizes structs and lists recursively, including the window struct', () => {
    const us = (xs: (bigint | null)[]) =>
      makeData({
        type: new TimestampMicrosecond(),
        length: xs.length,
        data: BigInt64Array.from(xs.map((x) => x ?? 0n)),
        nullBitmap: bitmapOf(xs.map((x) => x !== null)),
      });
    const windowFields = [new Field('start', new TimestampMicrosecond(), false), new Field('end', new TimestampMicrosecond(), false)];
    const window = makeData({
      type: new Struct(windowFields),
      length: 3,
      nullBitmap: bitmapOf([true, false, true]),
      children: [us([0n, 0n, -5_000_000n]), us([5_000_000n, 0n, 0n])],
    });
    const tags = dataOf([[1, 2], null, []], new List(new Field('item', new Int16(), true)));
    const large = dataOf([['a'], ['b', null], null], new LargeList(new Field('item', new LargeUtf8(), true)));
    const fixed = dataOf([[1, 2], [3, 4], null], new FixedSizeList(2, new Field('item', new Uint8(), true)));
    const out = normalizeRecordBatch(batchOf({ window, tags, large, fixed }));
    expectCanonical(out, 'window', WINDOW_TYPE);
    expect(column(out, 'window').map((r) => (r === null ? null : (r as { toJSON(): unknown }).toJSON()))).toEqual([
      { start: 0, end: 5000 },
      null,
      { start: -5000, end: 0 },
    ]);
    expectCanonical(out, 'tags', { kind: 'array', element: 'int' });
    expectCanonical(out, 'large', { kind: 'array', element: 'string' });
    expectCanonical(out, 'fixed', { kind: 'array', element: 'int' });
    for (const c of ['tags', 'large', 'fixed']) {
      const t = out.schema.fields.find((f) => f.name === c)!.type as List;
      expect(t.children[0]!.name).toBe('element');
    }
    const arrays = (name: string) => column(out, name).map((v) => (v === null ? null : [...(v as Iterable<unknown>)]));
    expect(arrays('tags')).toEqual([[1, 2], null, []]);
    expect(arrays('large')).toEqual([['a'], ['b', null], null]);
    expect(arrays('fixed')).toEqual([[1, 2], [3, 4], null]);
  });

  it('keeps a sliced struct aligned with its children', () => {
    const s = dataOf(
      [{ a: 1, b: 'x' }, null, { a: 3, b: null }, { a: 4, b: 'w' }],
      new Struct([new Field('a', new Int8(), true), new Field('b', new LargeUtf8(), true)]),
    );
    const out = normalizeRecordBatch(batchOf({ s }).slice(1, 4));
    expect(column(out, 's').map((r) => (r === null ? null : (r as { toJSON(): unknown }).toJSON()))).toEqual([
      null,
      { a: 3, b: null },
      { a: 4, b: 'w' },
    ]);
  });

  it('throws a SchemaError naming the column for types sluice cannot read', () => {
    const time = dataOf([1, 2], new TimeMillisecond());
    expect(() => normalizeRecordBatch(batchOf({ at: time }))).toThrow(/Column 'at' has Arrow type Time/);
    const nested = dataOf([{ d: 1n }], new Struct([new Field('d', new Duration(TimeUnit.SECOND), true)]));
    expect(() => normalizeRecordBatch(batchOf({ w: nested }))).toThrow(/Column 'w\.d'/);
    const entries = new Struct([new Field('key', new Utf8(), false), new Field('value', new Int32(), true)]);
    const map = new Map_(new Field('entries', entries, false) as never);
    expect(() => canonicalArrowType(map, 'm')).toThrow(SchemaError);
  });

  it('handles zero-row batches', () => {
    const out = normalizeRecordBatch(batchOf({ t: dataOf([], new TimestampNanosecond()), s: dataOf([], new LargeUtf8()) }));
    expect(out.numRows).toBe(0);
    expectCanonical(out, 't', 'timestamp');
    expectCanonical(out, 's', 'string');
  });
});

describe('normalizeTable', () => {
  it('normalizes every batch', () => {
    const t = new Table([
      batchOf({ n: dataOf([1, 2], new Int16()) }),
      batchOf({ n: dataOf([3], new Int16()) }),
    ]);
    const out = normalizeTable(t);
    expect(out.map((b) => column(b, 'n'))).toEqual([[1, 2], [3]]);
  });
});

describe('canonicalSchemaOf', () => {
  it('maps an Arrow schema to the sluice schema of its normalized layout', () => {
    const s = canonicalSchemaOf(
      new Schema([
        new Field('user', new Dictionary(new LargeUtf8(), new Int16()), false),
        new Field('ts', new TimestampNanosecond('America/New_York'), false),
        new Field('n', new Uint32()),
        new Field('tags', new LargeList(new Field('item', new Utf8View()))),
      ]),
    );
    expect(s.fields).toEqual([
      { name: 'user', type: 'string', nullable: true },
      { name: 'ts', type: 'timestamp', nullable: true },
      { name: 'n', type: 'long', nullable: true },
      { name: 'tags', type: { kind: 'array', element: 'string' }, nullable: true },
    ]);
  });
});
