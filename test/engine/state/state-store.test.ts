import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { col, count, MemoryStream, Session, window } from '../../../engine/index.js';
import { deltaSchema, OP_DELETE, OP_PUT, StateStore } from '../../../engine/state/state-store.js';
import { field, schemaOf } from '../../../engine/types/data-type.js';
import { batchFromRows } from '../../../engine/types/values.js';
import { CorruptCheckpointError } from '../../../engine/checkpoint/atomic-file.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'sluice-state-test-'));
const STATE = schemaOf([field('k', 'string'), field('n', 'long')]);
const delta = (rows: [number, string, number | null][]) =>
  batchFromRows(rows.map(([op, k, n]) => ({ __op: op, k, n })), deltaSchema(STATE));
const rowsOf = (b: { numRows: number; toArray(): unknown[] } | null) =>
  b === null ? [] : b.toArray().map((r) => JSON.parse(JSON.stringify((r as { toJSON(): unknown }).toJSON(), (_, v) => (typeof v === 'bigint' ? Number(v) : v))));

describe('StateStore', () => {
  it('replays deltas, and reports the highest eviction watermark they recorded', async () => {
    const store = new StateStore(tmp(), STATE, 1);
    await store.commit(1, delta([[OP_PUT, 'a', 1], [OP_PUT, 'b', 2]]));
    await store.commit(2, delta([[OP_PUT, 'a', 3]]), 5_000);
    await store.commit(3, delta([[OP_DELETE, 'b', null], [OP_PUT, 'c', 4]]), 4_000);
    await store.commit(4, null);
    expect(await store.load(1)).toMatchObject({ evictedUpToMs: null });
    const at2 = await store.load(2);
    expect(at2.evictedUpToMs).toBe(5_000);
    expect(rowsOf(at2.rows)).toEqual([{ k: 'b', n: 2 }, { k: 'a', n: 3 }]);
    const at4 = await store.load(4);
    expect(at4.evictedUpToMs).toBe(5_000);
    expect(rowsOf(at4.rows)).toEqual([{ k: 'a', n: 3 }, { k: 'c', n: 4 }]);
    // A snapshot at version 3 holds the live rows; the deltas before it (and their watermarks) are not read.
    await store.snapshot(3, at4.rows);
    expect(await store.load(4)).toMatchObject({ evictedUpToMs: null });
  });

  it('reads files without an eviction watermark (the earlier format) and checks the watermark bytes', async () => {
    const dir = tmp();
    const store = new StateStore(dir, STATE, 1);
    await store.commit(1, delta([[OP_PUT, 'a', 1]]));
    await store.commit(2, delta([[OP_PUT, 'b', 2]]), 1_717_027_200_000);
    expect(readFileSync(join(dir, '1.delta')).subarray(-4).toString()).toBe('SLST');
    const f = join(dir, '2.delta');
    const bytes = readFileSync(f);
    expect(bytes.subarray(-4).toString()).toBe('SLSE');
    expect(bytes.readDoubleLE(bytes.length - 16)).toBe(1_717_027_200_000);
    bytes[bytes.length - 12] = bytes[bytes.length - 12]! ^ 0x01; // inside the watermark
    writeFileSync(f, bytes);
    await expect(store.load(2)).rejects.toThrow(CorruptCheckpointError);
    await expect(store.load(2)).rejects.toThrow(/2\.delta is corrupt \(checksum mismatch\)/);
    writeFileSync(f, bytes.subarray(0, 10));
    await expect(store.load(2)).rejects.toThrow(/2\.delta is truncated or not a sluice state file/);
  });

  it('a windowed aggregation records evicted windows as one watermark, not delete rows, and restores without them', async () => {
    const ckpt = tmp();
    type Row = { user: string; ts: number };
    const run = async (batches: Row[][], replay: Row[][] = []) => {
      const session = new Session();
      const input = new MemoryStream(session, { user: 'string', ts: 'timestamp' });
      // The batches the checkpoint already consumed, so the restarted query finds its offsets.
      for (const b of replay) input.addData(b);
      const out: unknown[] = [];
      const q = input.toDF().withWatermark('ts', '1 second').groupBy(window(col('ts'), '10 seconds'), col('user')).agg(count('*').as('n'))
        .writeStream.foreachBatch(async (df) => void out.push(...(await df.collect()))).outputMode('append').option('checkpointLocation', ckpt).start();
      for (const b of batches) {
        input.addData(b);
        await q.processAllAvailable();
      }
      await q.stop();
      return { out, input, session };
    };
    const users = ['a', 'b', 'c', 'd'];
    const batches: Row[][] = [
      users.map((user, i) => ({ user, ts: 1_000 + i })), // window [0, 10 s) for 4 users
      [{ user: 'a', ts: 25_000 }], // watermark → 24 s: the next batch evicts [0, 10 s)
    ];
    const first = await run(batches);
    // The second batch's watermark (24 s) closes [0, 10 s): a no-data batch emits and evicts it.
    expect(first.out).toHaveLength(4);
    const dir = join(ckpt, 'state', '0', '0');
    const files = readdirSync(dir).filter((f) => f.endsWith('.delta')).sort();
    const evicting = files.map((f) => readFileSync(join(dir, f))).filter((b) => b.subarray(-4).toString() === 'SLSE');
    expect(evicting).toHaveLength(1);
    const ops = tableFromIPC(evicting[0]!.subarray(0, evicting[0]!.length - 16)).getChild('__op')!.toArray();
    expect(Array.from(ops as Int32Array).filter((o) => o === OP_DELETE)).toEqual([]);
    // A restart replays the deltas: the evicted window must not come back (it would be emitted a second time).
    const second = await run([[{ user: 'e', ts: 40_000 }]], batches);
    expect(second.out.map((r) => (r as { user: string }).user)).toEqual(['a']);
  });
});
