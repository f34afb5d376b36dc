import { tableFromIPC, tableToIPC, Table } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { fromWire, gatherToWire, toWire, wireTransferables } from '../../../engine/workers/wire.js';
import { field, schemaOf, structType, type ArrayType } from '../../../engine/types/data-type.js';
import { batchFromRows, batchFromVecs, columnVec, rowsFromBatch as rowsOf } from '../../../engine/types/values.js';
import { numVec, vecFromData } from '../../../engine/kernels/vec.js';

const schema = schemaOf([
  field('id', 'long'),
  field('n', 'int'),
  field('x', 'double'),
  field('ok', 'boolean'),
  field('s', 'string'),
  field('ts', 'timestamp'),
  field('w', structType([field('start', 'timestamp'), field('end', 'timestamp')])),
  field('tags', { kind: 'array', element: 'string' } satisfies ArrayType),
]);

const rows = Array.from({ length: 9 }, (_, i) => ({
  id: i === 4 ? 2n ** 60n + 3n : i * 1000,
  n: i % 3 === 0 ? null : i,
  x: i / 4,
  ok: i % 2 === 0 ? true : i === 5 ? null : false,
  s: i === 2 ? null : `row-${'é'.repeat(i)}`,
  ts: new Date(Date.UTC(2026, 4, 30, 9, 55, i)),
  w: i === 7 ? null : { start: new Date(i * 10_000), end: new Date(i * 10_000 + 10_000) },
  tags: i === 1 ? null : Array.from({ length: i % 4 }, (_, k) => `t${i}.${k}`),
}));

describe('WireBatch (batches between threads as raw column buffers)', () => {
  it('carries any row range of every column type exactly, leaving the source intact', () => {
    const batch = batchFromRows(rows, schema);
    const before = rowsOf(batch, schema);
    for (const [a, b] of [
      [0, 9],
      [3, 7],
      [8, 9],
      [5, 5],
    ] as const) {
      const wire = toWire(batch, schema, a, b);
      // What postMessage does with a transfer list: the receiver gets the buffers, the sender's views detach.
      const received = structuredClone(wire, { transfer: wireTransferables([wire]) });
      expect(wire.vecs.every((v) => v.kind !== 'num' || v.values.length === 0)).toBe(true);
      expect(rowsOf(fromWire(received), schema)).toEqual(before.slice(a, b));
    }
    expect(rowsOf(batch, schema)).toEqual(before);
  });

  it('gathers chosen rows straight into a wire batch, copying (never handing out) the source on an identity pick', () => {
    const batch = batchFromRows(rows, schema);
    const before = rowsOf(batch, schema);
    for (const sel of [Int32Array.of(7, 0, 4, 4), Int32Array.from(before.keys())]) {
      const wire = gatherToWire(batch, schema, sel);
      const received = structuredClone(wire, { transfer: wireTransferables([wire]) });
      expect(rowsOf(fromWire(received), schema)).toEqual([...sel].map((i) => before[i]));
    }
    expect(rowsOf(batch, schema)).toEqual(before);
  });

  it('lists each buffer once, so a transfer never fails on a duplicate', () => {
    const wire = toWire(batchFromRows(rows, schema), schema, 1, 6);
    const buffers = wireTransferables([wire, null, wire]);
    expect(new Set(buffers).size).toBe(buffers.length);
    expect(() => structuredClone(wire, { transfer: buffers })).not.toThrow();
  });
});

describe('long and timestamp columns built from doubles', () => {
  it('write their Int64 buffer only when it is read, and then with the exact values', () => {
    const s = schemaOf([field('v', 'long'), field('t', 'timestamp')]);
    const v = numVec('long', Float64Array.from([1, -2, 2 ** 53 - 1, NaN]), Uint8Array.from([1, 1, 1, 0]));
    const t = numVec('timestamp', Float64Array.from([0, 1_780_000_000_123, -1, 5]));
    const batch = batchFromVecs(s, [v, t]);
    // The engine reads back the very same doubles (no conversion).
    expect(columnVec(batch, s, 0)).toBe(v);
    expect(vecFromData(batch.data.children[1]!, 'timestamp')).toBe(t);
    // Arrow (IPC here) reads the Int64 buffer, written on demand.
    const back = tableFromIPC(tableToIPC(new Table([batch]), 'stream'));
    expect([...back.getChildAt(0)!]).toEqual([1n, -2n, 2n ** 53n - 1n, null]);
    expect(back.getChildAt(1)!.data[0]!.values).toEqual(BigInt64Array.from([0n, 1_780_000_000_123n, -1n, 5n]));
    expect(batch.getChildAt(0)!.get(2)).toBe(2n ** 53n - 1n);
  });
});

describe('Worker results', () => {
  it("move their batches' buffers to the calling thread (piscina transfers them) instead of cloning them", async () => {
    const { Piscina } = await import('piscina');
    const { movable } = await import('../../../engine/workers/worker.js');
    const batch = batchFromRows(rows, schema);
    const output = toWire(batch, schema);
    const moved = movable({ type: 'finished', output, metrics: { numRowsTotal: 1, numRowsUpdated: 0, numRowsRemoved: 0, numRowsDroppedByWatermark: 0, memoryUsedBytes: 0 } }) as unknown as Record<symbol, unknown>;
    // What piscina's worker loop reads: the buffers to transfer and the value to post.
    expect(moved[Piscina.transferableSymbol]).toEqual(wireTransferables([output]));
    expect((moved[Piscina.valueSymbol] as { output: unknown }).output).toBe(output);
    const partials = [toWire(batch, schema, 0, 4), null, toWire(batch, schema, 4, 9)];
    const fromMap = movable({ type: 'partials', partials, lateKeys: [null, null, null], lateRows: 0, panes: false }) as unknown as Record<symbol, unknown>;
    expect(fromMap[Piscina.transferableSymbol]).toEqual(wireTransferables(partials));
    // A result without batches goes as it is.
    expect(movable({ type: 'ok' })).toEqual({ type: 'ok' });
  });
});
