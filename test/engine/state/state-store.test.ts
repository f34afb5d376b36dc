import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { col, count, MemoryStream, Session, window, type OutputMode } from '../../../engine/index.js';
import { deltaSchema, OP_DELETE, OP_PUT, StateStore } from '../../../engine/state/state-store.js';
import { field, schemaOf } from '../../../engine/types/data-type.js';
import { batchFromRows } from '../../../engine/types/values.js';
import { CorruptCheckpointError, writeAllV } from '../../../engine/checkpoint/atomic-file.js';
import { crc32 } from 'node:zlib';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'sluice-state-test-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

// State rows keyed by (window start, user), as a windowed count keeps them.
const STATE = schemaOf([field('start', 'timestamp'), field('k', 'string'), field('n', 'long')]);
type Op = [op: number, start: number | null, k: string, n: number | null];
const delta = (rows: Op[]) => batchFromRows(rows.map(([op, start, k, n]) => ({ __op: op, start, k, n })), deltaSchema(STATE));
const keysOf = (b: { numRows: number; getChild(n: string): { get(i: number): unknown } | null } | null) =>
  b === null ? [] : Array.from({ length: b.numRows }, (_, i) => b.getChild('k')!.get(i) as string).sort();
const TEN_S = { windowSizeMs: 10_000, keyColumn: 0 };

describe('StateStore', () => {
  it('replays an eviction at its version: it removes the rows live then (end ≤ watermark), not rows put later', async () => {
    const store = new StateStore(tmp(), STATE, 2);
    await store.commit(1, delta([[OP_PUT, 0, 'a', 1], [OP_PUT, 1, 'c', 1], [OP_PUT, 10_000, 'b', 2], [OP_PUT, null, 'z', 1]]));
    // Windows ending at or before 10 s close: [0, 10 s) ends exactly at the watermark; the one starting at 1 ms does not.
    await store.commit(2, delta([[OP_PUT, 10_000, 'b', 3]]), { watermarkMs: 10_000, ...TEN_S });
    // A later version puts a group the eviction would have covered (a restart in complete mode keeps such windows).
    await store.commit(3, delta([[OP_PUT, 0, 'y', 7], [OP_DELETE, 10_000, 'b', null]]));
    expect(keysOf(await store.load(1))).toEqual(['a', 'b', 'c', 'z']);
    expect(keysOf(await store.load(2))).toEqual(['b', 'c', 'z']); // a null event time never expires
    expect(keysOf(await store.load(3))).toEqual(['c', 'y', 'z']);
    // The window size recorded with the eviction decides, whatever the operator's window is now.
    await store.commit(4, null, { watermarkMs: 5_000, windowSizeMs: 5_000, keyColumn: 0 });
    expect(keysOf(await store.load(4))).toEqual(['c', 'z']);
    // A snapshot at version 3 replaces everything before it.
    await store.snapshot(3, await store.load(3));
    expect(keysOf(await store.load(4))).toEqual(['c', 'z']);
  });

  it("refuses an eviction by a key column that is not one of the state's timestamp keys (another query's checkpoint)", async () => {
    const store = new StateStore(tmp(), STATE, 2);
    await store.commit(1, delta([[OP_PUT, 0, 'a', 1]]), { watermarkMs: 10_000, windowSizeMs: 0, keyColumn: 2 });
    await expect(store.load(1)).rejects.toThrow(/1\.delta evicts by key column 2, which is not a timestamp key of this operator's state \(start: timestamp, k: string\)/);
    await expect(store.load(1)).rejects.toThrow(CorruptCheckpointError);
    // A key column that is not a timestamp (here the string key) is refused too, never compared as a time.
    const other = new StateStore(tmp(), STATE, 2);
    await other.commit(1, delta([[OP_PUT, 0, 'a', 1]]), { watermarkMs: 10_000, windowSizeMs: 0, keyColumn: 1 });
    await expect(other.load(1)).rejects.toThrow(/evicts by key column 1, which is not a timestamp key/);
  });

  it('reads files without an eviction (the earlier format); the eviction and end marker are under the checksum', async () => {
    const dir = tmp();
    const store = new StateStore(dir, STATE, 2);
    await store.commit(1, delta([[OP_PUT, 0, 'a', 1]]));
    await store.commit(2, delta([[OP_PUT, 20_000, 'b', 2]]), { watermarkMs: 15_000, ...TEN_S });
    expect(readFileSync(join(dir, '1.delta')).subarray(-4).toString()).toBe('SLST');
    const f = join(dir, '2.delta');
    const good = readFileSync(f);
    expect(good.subarray(-4).toString()).toBe('SLSE');
    expect(good.readDoubleLE(good.length - 32)).toBe(15_000);
    expect(good.readDoubleLE(good.length - 24)).toBe(10_000);
    expect(good.readDoubleLE(good.length - 16)).toBe(0);
    const corrupt = async (at: number, value: number, message: RegExp) => {
      const bytes = Buffer.from(good);
      bytes[at] = value;
      writeFileSync(f, bytes);
      await expect(store.load(2)).rejects.toThrow(message);
    };
    await corrupt(good.length - 28, good[good.length - 28]! ^ 0x01, /2\.delta is corrupt \(checksum mismatch\)/); // the watermark
    await corrupt(good.length - 1, 'T'.charCodeAt(0), /2\.delta is corrupt \(checksum mismatch\)/); // SLSE → SLST
    writeFileSync(f, good.subarray(0, 10));
    await expect(store.load(2)).rejects.toThrow(/2\.delta is truncated or not a sluice state file/);
    writeFileSync(f, good);
    expect(keysOf(await store.load(2))).toEqual(['b']); // [0, 10 s) ended by 15 s
  });

  it('writes a state file in pieces that hold the same bytes as the joined Arrow IPC stream, then its trailer', async () => {
    const dir = tmp();
    const store = new StateStore(dir, STATE, 2);
    const d = delta([[OP_PUT, 0, 'a', 1], [OP_DELETE, 10_000, 'b', null], [OP_PUT, null, 'c', 3]]);
    await store.commit(1, d);
    await store.commit(2, d, { watermarkMs: 5_000, ...TEN_S });
    const ipc = Buffer.from(tableToIPC(new Table([d]), 'stream'));
    const plain = readFileSync(join(dir, '1.delta'));
    expect(plain.subarray(0, ipc.length).equals(ipc)).toBe(true);
    expect(plain.length).toBe(ipc.length + 8);
    expect(plain.readUInt32LE(ipc.length)).toBe(crc32(ipc));
    const evicting = readFileSync(join(dir, '2.delta'));
    expect(evicting.subarray(0, ipc.length).equals(ipc)).toBe(true);
    expect(evicting.length).toBe(ipc.length + 32);
    expect(evicting.readUInt32LE(ipc.length + 24)).toBe(crc32(Buffer.from('SLSE'), crc32(evicting.subarray(0, ipc.length + 24))));
  });

  it('a vectored write resumes where a short write stopped, piece by piece', async () => {
    const pieces = [Buffer.from('abc'), Buffer.alloc(0), Buffer.from('defghijkl'), Buffer.from('m'), Buffer.from('nopqrstuvwxyz')];
    const written: Buffer[] = [];
    let calls = 0;
    // A handle that takes at most 4 bytes per call, as a kernel may on a short write.
    const handle = {
      async writev(bufs: NodeJS.ArrayBufferView[]) {
        calls++;
        let left = 4;
        for (const b of bufs) {
          const u = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
          const take = Math.min(left, u.length);
          written.push(Buffer.from(u.subarray(0, take)));
          left -= take;
          if (left === 0) break;
        }
        return { bytesWritten: 4 - left, buffers: bufs };
      },
    };
    await writeAllV(handle as never, pieces);
    expect(Buffer.concat(written).toString()).toBe('abcdefghijklmnopqrstuvwxyz');
    expect(calls).toBe(7);
  });

  it('a re-run batch removes the snapshot an earlier attempt left at its version', async () => {
    const dir = tmp();
    const store = new StateStore(dir, STATE, 2);
    await store.commit(1, delta([[OP_PUT, 0, 'a', 1], [OP_PUT, 0, 'b', 1]]));
    // The first attempt at version 2 wrote its delta and a snapshot holding only some keys, then crashed.
    await store.commit(2, delta([[OP_PUT, 0, 'c', 1]]));
    await store.snapshot(2, batchFromRows([{ start: 0, k: 'c', n: 1 }], STATE));
    // The re-run commits version 2 again without a snapshot.
    await store.commit(2, delta([[OP_PUT, 0, 'c', 1]]));
    expect(readdirSync(dir).sort()).toEqual(['1.delta', '2.delta']);
    expect(keysOf(await store.load(2))).toEqual(['a', 'b', 'c']);
  });
});

describe('Evictions in checkpoints', () => {
  type Row = { user: string; ts: number };
  /** Runs a windowed count over `batches` (after replaying the ones the checkpoint already consumed). */
  async function run(ckpt: string, mode: OutputMode, batches: Row[][], replay: Row[][] = []) {
    const session = new Session();
    const input = new MemoryStream(session, { user: 'string', ts: 'timestamp' });
    for (const b of replay) input.addData(b);
    const out: { user: string; n: number }[][] = [];
    const q = input.toDF().withWatermark('ts', '1 second').groupBy(window(col('ts'), '10 seconds'), col('user')).agg(count('*').as('n'))
      .writeStream.foreachBatch(async (df) => void out.push((await df.collect()) as { user: string; n: number }[])).outputMode(mode)
      .option('checkpointLocation', ckpt).start();
    for (const b of batches) {
      input.addData(b);
      await q.processAllAvailable();
    }
    const total = q.lastProgress?.stateOperators[0]?.numRowsTotal;
    await q.stop();
    return { out, total };
  }
  const first: Row[][] = [
    ['a', 'b', 'c', 'd'].map((user, i) => ({ user, ts: 1_000 + i })), // window [0, 10 s) for 4 users
    [{ user: 'a', ts: 25_000 }], // watermark → 24 s: [0, 10 s) closes
  ];

  for (const mode of ['append', 'update'] as const) {
    it(`${mode} mode: evicted windows are one recorded eviction, not delete rows, and do not come back on restart`, async () => {
      const ckpt = tmp();
      const a = await run(ckpt, mode, first);
      expect(a.out.flat().filter((r) => r.user !== 'a')).toHaveLength(3);
      expect(a.total).toBe(1); // only [20 s, 30 s) for 'a' is left
      const dir = join(ckpt, 'state', '0', '0');
      const evicting = readdirSync(dir).filter((f) => f.endsWith('.delta')).map((f) => readFileSync(join(dir, f))).filter((b) => b.subarray(-4).toString() === 'SLSE');
      expect(evicting).toHaveLength(1);
      const ops = tableFromIPC(evicting[0]!.subarray(0, evicting[0]!.length - 32)).getChild('__op')!.toArray() as Int32Array;
      expect(Array.from(ops).filter((o) => o === OP_DELETE)).toEqual([]);
      // A restart replays the deltas: the evicted window must not come back (append would emit it a second time).
      const b = await run(ckpt, mode, [[{ user: 'e', ts: 40_000 }]], first);
      expect(b.out.flat().map((r) => r.user).sort()).toEqual(mode === 'append' ? ['a'] : ['e']);
      expect(b.total).toBe(1);
    });
  }

  it('a restart in complete mode keeps a window an earlier eviction had closed, once re-created', async () => {
    const ckpt = tmp();
    await run(ckpt, 'append', first);
    const late: Row[] = [{ user: 'x', ts: 2_000 }]; // complete mode keeps every group: no late rows are dropped
    const again = await run(ckpt, 'complete', [late], first);
    expect(again.out.at(-1)!.filter((r) => r.user === 'x')).toEqual([expect.objectContaining({ user: 'x', n: 1 })]);
    const third = await run(ckpt, 'complete', [[{ user: 'a', ts: 26_000 }]], [...first, late]);
    expect(third.out.at(-1)!.filter((r) => r.user === 'x')).toEqual([expect.objectContaining({ user: 'x', n: 1 })]);
  });
});
