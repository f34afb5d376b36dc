import { cpSync, existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BatchInfo } from '../../../engine/physical/partitions/keyed-operator.js';
import { field, schemaOf } from '../../../engine/types/data-type.js';
import { batchFromRows, rowsFromBatch } from '../../../engine/types/values.js';
import { PartitionRunner, type WorkerContext } from '../../../engine/workers/partition-runner.js';
import type { WorkerPool } from '../../../engine/workers/pool.js';
import { pairCountLoading, type PairCountSpec } from './pair-count-kind.js';
import { inProcessPool } from './in-process-pool.js';

const LEFT = schemaOf([field('k', 'string', false), field('v', 'int', false)]);
const RIGHT = schemaOf([field('id', 'int', false), field('key', 'string', false)]);
const spec = (movable = true): PairCountSpec => ({ kind: 'test-pair-count', inputSchemas: [LEFT, RIGHT], keyColumns: [0, 1], movable });

const info = (batchId: number): BatchInfo => ({
  batchId,
  streaming: true,
  outputMode: 'update',
  lateWatermarkMs: 0,
  evictionWatermarkMs: 0,
  batchTimestampMs: 1_000 * batchId,
});

/** Batch `b`'s rows: keys a–f on the left, c–h on the right, a few of each per batch. */
function inputs(b: number) {
  const left = Array.from({ length: 7 + b }, (_, i) => ({ k: 'abcdef'[(i * 5 + b) % 6]!, v: i }));
  const right = Array.from({ length: 5 + 2 * b }, (_, i) => ({ id: i, key: 'cdefgh'[(i * 7 + b) % 6]! }));
  return { left: batchFromRows(left, LEFT), right: batchFromRows(right, RIGHT) };
}

const inline: WorkerContext = { parallelism: 1, thresholdRows: 1, minRowNs: 0, pool: () => { throw new Error('no pool inline'); } };
const onWorkers = (pool: WorkerPool): WorkerContext => ({ parallelism: pool.size, thresholdRows: 1, minRowNs: 0, pool: () => pool });

interface Run {
  rows: Record<string, unknown>[][];
  custom: Record<string, number>[];
  due: (number | null)[];
  partitions: number[];
}

/** Runs batches `from`..`to` − 1, each committed as version batch + 1 under `dir`. */
async function run(runner: PartitionRunner, w: WorkerContext, dir: string, from: number, to: number): Promise<Run> {
  const out: Run = { rows: [], custom: [], due: [], partitions: [] };
  for (let b = from; b < to; b++) {
    const { left, right } = inputs(b);
    await runner.start(info(b), w);
    await runner.absorb(left, 0, info(b));
    await runner.absorb(right, left.numRows, info(b), 1);
    const f = await runner.finish(info(b));
    out.rows.push(f.outputs.flatMap((o) => rowsFromBatch(o, o.schema.fields.length === 3 ? schemaOf([field('k', 'string'), field('left', 'int'), field('right', 'int')]) : LEFT)).sort((x, y) => String(x['k']).localeCompare(String(y['k']))));
    out.custom.push(f.custom);
    out.due.push(f.nextDueMs);
    out.partitions.push(f.partitions);
    await runner.commit((p) => join(dir, String(p)), b + 1, false);
  }
  return out;
}

afterEach(() => {
  pairCountLoading.loadable = true;
});

describe('PartitionRunner: an operator kind defined outside the engine', () => {
  it('with two inputs gives the same rows, custom metrics and due times inline and on 2 workers, and restores its named tables', async () => {
    const a = mkdtempSync(join(tmpdir(), 'sluice-runner-'));
    const here = await run(new PartitionRunner(spec()), inline, a, 0, 3);
    const pool = await inProcessPool(2, ['./pair-count-kind.js']);
    const b = mkdtempSync(join(tmpdir(), 'sluice-runner-'));
    const there = await run(new PartitionRunner(spec()), onWorkers(pool), b, 0, 3);
    expect(there.partitions).toEqual([2, 2, 2]);
    expect(here.partitions).toEqual([1, 1, 1]);
    expect(there.rows).toEqual(here.rows);
    // Both inputs reached the operator, on the side they came in.
    expect(here.rows[0]!.find((r) => r['k'] === 'c')).toMatchObject({ left: expect.any(Number), right: expect.any(Number) });
    expect(here.custom).toEqual([0, 1, 2].map((b) => ({ leftRows: 7 + b, rightRows: 5 + 2 * b })));
    expect(there.custom).toEqual(here.custom);
    expect(here.due).toEqual([1_000, 2_000, 3_000]);
    expect(there.due).toEqual(here.due);
    // Each named table is its own folder in the partition folder; nothing in the partition folder itself.
    expect(readdirSync(join(b, '1')).sort()).toEqual(['left', 'right']);
    expect(existsSync(join(b, '1', 'right', '3.delta'))).toBe(true);
    expect(existsSync(join(a, '0', 'left', '1.delta'))).toBe(true);

    // Restored (same layout), the counts continue from the committed ones.
    const golden = await run(new PartitionRunner(spec()), inline, mkdtempSync(join(tmpdir(), 'sluice-runner-')), 0, 5);
    const again = new PartitionRunner(spec());
    await again.restore((p) => join(a, String(p)), 3, 1, inline);
    expect((await run(again, inline, a, 3, 5)).rows).toEqual(golden.rows.slice(3));
    const againThere = new PartitionRunner(spec());
    const fresh = onWorkers(await inProcessPool(2, ['./pair-count-kind.js']));
    await againThere.restore((p) => join(b, String(p)), 3, 2, fresh);
    const continued = await run(againThere, fresh, b, 3, 5);
    expect(continued.partitions).toEqual([2, 2]);
    expect(continued.rows).toEqual(golden.rows.slice(3));
  });

  it('re-partitions every named table by its own keys when restored with another parallelism', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-runner-'));
    await run(new PartitionRunner(spec()), onWorkers(await inProcessPool(2, ['./pair-count-kind.js'])), dir, 0, 3);
    const golden = await run(new PartitionRunner(spec()), inline, mkdtempSync(join(tmpdir(), 'sluice-runner-')), 0, 5);
    for (const [name, w, written] of [
      ['inline', () => Promise.resolve(inline), 2],
      ['3 workers', async () => onWorkers(await inProcessPool(3, ['./pair-count-kind.js'])), 2],
    ] as const) {
      // A copy per layout: each restore below writes versions 4 and 5 into the folders it restored from.
      const copy = mkdtempSync(join(tmpdir(), `sluice-runner-${name.replace(' ', '')}-`));
      cpSync(dir, copy, { recursive: true });
      const ctx = await w();
      const r = new PartitionRunner(spec());
      await r.restore((p) => join(copy, String(p)), 3, written, ctx);
      const after = await run(r, ctx, copy, 3, 5);
      expect(after.rows, name).toEqual(golden.rows.slice(3));
      expect(after.partitions[0], name).toBe(ctx.parallelism);
      // The first commit after a re-partitioning restore is a full snapshot of every table.
      expect(existsSync(join(copy, '0', 'left', '4.snapshot')), name).toBe(true);
      expect(existsSync(join(copy, '0', 'right', '4.snapshot')), name).toBe(true);
    }
  });

  it('a kind that cannot be built on a worker thread (movable false) stays on the calling thread and says so', async () => {
    const pool = await inProcessPool(2, ['./pair-count-kind.js']);
    const dir = mkdtempSync(join(tmpdir(), 'sluice-runner-'));
    const runner = new PartitionRunner(spec(false));
    const r = await run(runner, onWorkers(pool), dir, 0, 3);
    expect(r.partitions).toEqual([1, 1, 1]);
    expect(pool.calls).toBe(0);
    expect(runner.placementNote).toBe("operator kind 'test-pair-count' cannot be built on a worker thread");
    expect(r.rows).toEqual((await run(new PartitionRunner(spec()), inline, mkdtempSync(join(tmpdir(), 'sluice-runner-')), 0, 3)).rows);
  });

  it('a kind whose create throws ProcessorNotLoadableError on the workers stays on the calling thread, with that message', async () => {
    const pool = await inProcessPool(2, ['./pair-count-kind.js'], (loaded) => {
      (loaded[0]!['pairCountLoading'] as { loadable: boolean }).loadable = false;
    });
    const golden = await run(new PartitionRunner(spec()), inline, mkdtempSync(join(tmpdir(), 'sluice-runner-')), 0, 3);
    // On the move to the workers (the first big input).
    const moved = new PartitionRunner(spec());
    const r = await run(moved, onWorkers(pool), mkdtempSync(join(tmpdir(), 'sluice-runner-')), 0, 3);
    expect(r.partitions).toEqual([1, 1, 1]);
    expect(r.rows).toEqual(golden.rows);
    expect(moved.placementNote).toBe('pair-count.ts cannot be loaded on this thread (test)');
    // On a restore straight into the workers.
    const dir = mkdtempSync(join(tmpdir(), 'sluice-runner-'));
    await run(new PartitionRunner(spec()), onWorkers(await inProcessPool(2, ['./pair-count-kind.js'])), dir, 0, 2);
    const restored = new PartitionRunner(spec());
    await restored.restore((p) => join(dir, String(p)), 2, 2, onWorkers(pool));
    expect(restored.placementNote).toBe('pair-count.ts cannot be loaded on this thread (test)');
    const after = await run(restored, onWorkers(pool), dir, 2, 3);
    expect(after.partitions).toEqual([1]);
    expect(after.rows).toEqual(golden.rows.slice(2));
  });

  it('any other error of create on the workers fails the operator', async () => {
    vi.resetModules();
    // Workers without the kind's module: the kind is unknown there.
    const pool = await inProcessPool(2, []);
    const runner = new PartitionRunner(spec());
    await expect(run(runner, onWorkers(pool), mkdtempSync(join(tmpdir(), 'sluice-runner-')), 0, 1)).rejects.toThrow(/No stateful operator kind 'test-pair-count'/);
    expect(runner.placementNote).toBeNull();
  });
});
