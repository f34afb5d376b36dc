// transformWithState keeps bounded state when its values have a TTL (1 M keys never revisited, on a ManualClock), and
// a processor that throws fails the query naming the key and the batch without committing it; the restart re-runs it.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { col, ManualClock, MemoryStream, ranBatch, Session, TransformWithStateUserError, type StreamingQuery, type StreamingQueryProgress } from '../../../engine/index.js';
import { processorRef, SeenWithTtl, THROW_FLAG_ENV } from '../../helpers/tws-processors.js';

const BATCHES = 20;
const KEYS_PER_BATCH = 50_000;
const STEP_MS = 10_000;

/**
 * Runs 20 batches of 50 k new keys through `processor` (processing time, 10 s apart), inline or (parallelism 2) on
 * two worker threads from the first batch; returns the progress of every executed batch.
 */
async function runDistinctKeys(processor: 'SeenWithTtl' | 'SeenForever', parallelism = 1): Promise<{ progress: StreamingQueryProgress[]; ms: number }> {
  const t0 = performance.now();
  const clock = new ManualClock(Date.parse('2026-06-01T00:00:00Z'));
  const session = new Session({ clock, conf: parallelism > 1 ? { parallelism, parallelThresholdRows: 1, parallelMinRowNs: 0 } : { parallelism: 1 } });
  const stream = new MemoryStream(session, { user: 'string' });
  const q = stream
    .toDF()
    .groupByKey(col('user'))
    .transformWithState(processorRef(processor), { outputSchema: { user: 'string' }, timeMode: 'processingTime' })
    .writeStream.foreachBatch(async () => {})
    .option('checkpointLocation', mkdtempSync(join(tmpdir(), 'sluice-tws-ttl-')))
    .start();
  // executed batches (data and no-data) by id; idle triggers repeat the last batch's state numbers
  const batches = new Map<number, StreamingQueryProgress>();
  const collect = () => q.recentProgress.filter(ranBatch).forEach((p) => batches.set(p.batchId, p));
  for (let b = 0; b < BATCHES; b++) {
    const base = b * KEYS_PER_BATCH;
    stream.addData(Array.from({ length: KEYS_PER_BATCH }, (_, i) => ({ user: `k${base + i}` })));
    await q.processAllAvailable();
    collect();
    clock.advance(STEP_MS);
  }
  await q.processAllAvailable();
  collect();
  await q.stop();
  if (q.exception) throw q.exception;
  return { progress: [...batches.keys()].sort((a, b) => a - b).map((id) => batches.get(id)!), ms: performance.now() - t0 };
}

describe('transformWithState state with a TTL stays bounded', () => {
  for (const parallelism of [1, 2]) {
    it(`1 M distinct keys never revisited: numRowsTotal stays at the keys of the last TTL window, and the TTL removed the rest (parallelism ${parallelism})`, async () => {
      const { progress, ms } = await runDistinctKeys('SeenWithTtl', parallelism);
      const data = progress.filter((p) => p.numInputRows > 0);
      expect(data.map((p) => p.stateOperators[0]!.numStateStoreInstances)).toEqual(Array(BATCHES).fill(parallelism));
      expect(data.map((p) => p.numInputRows)).toEqual(Array(BATCHES).fill(KEYS_PER_BATCH));
      // A key written by the batch at T expires at T + 25 s: batches 10 s apart read it in the next two batches and the
      // third one removes it (§10: expired when batch timestamp ≥ expiry, removed by the end-of-batch cleanup).
      const alive = Math.ceil(SeenWithTtl.TTL_MS / STEP_MS) * KEYS_PER_BATCH;
      const bound = 2 * (SeenWithTtl.TTL_MS / STEP_MS) * KEYS_PER_BATCH;
      for (const [b, p] of data.entries()) {
        const total = p.stateOperators[0]!.numRowsTotal;
        expect(total, `batch ${p.batchId}`).toBeLessThanOrEqual(bound);
        expect(total, `batch ${p.batchId}`).toBe(Math.min(b + 1, alive / KEYS_PER_BATCH) * KEYS_PER_BATCH);
      }
      const last = progress.at(-1)!.stateOperators[0]!;
      const removedByTtl = progress.reduce((s, p) => s + (p.stateOperators[0]!.customMetrics?.['numValuesRemovedDueToTTLExpiry'] ?? 0), 0);
      const removed = progress.reduce((s, p) => s + p.stateOperators[0]!.numRowsRemoved, 0);
      expect(removedByTtl).toBe(BATCHES * KEYS_PER_BATCH - last.numRowsTotal);
      expect(removed).toBe(removedByTtl);
      console.log(`1 M keys with a TTL, parallelism ${parallelism}: ${Math.round(ms)} ms`);
    }, 120_000);
  }

  it('without the TTL the same stream keeps every key: 1 M rows', async () => {
    const { progress, ms } = await runDistinctKeys('SeenForever');
    const data = progress.filter((p) => p.numInputRows > 0);
    expect(data.map((p) => p.stateOperators[0]!.numRowsTotal)).toEqual(data.map((_, b) => (b + 1) * KEYS_PER_BATCH));
    expect(progress.at(-1)!.stateOperators[0]!.numRowsTotal).toBe(BATCHES * KEYS_PER_BATCH);
    console.log(`1 M keys without a TTL: ${Math.round(ms)} ms`);
  }, 120_000);
});

describe('A processor that throws', () => {
  const flag = join(mkdtempSync(join(tmpdir(), 'sluice-tws-throw-')), 'throw');
  afterEach(() => rmSync(flag, { force: true }));

  /** A query over a MemoryStream that replays `batches`, as a restarted process would re-read its source. */
  function start(ckpt: string, batches: { user: string }[][], seen: Map<number, string[]>, parallelism: number) {
    const session = new Session(parallelism > 1 ? { conf: { parallelism, parallelThresholdRows: 1, parallelMinRowNs: 0 } } : {});
    const input = new MemoryStream(session, { user: 'string' });
    for (const b of batches) input.addData(b);
    const q: StreamingQuery = input
      .toDF()
      .groupByKey(col('user'))
      .transformWithState(processorRef('ThrowsOnKey'), { outputSchema: { user: 'string', total: 'long' }, outputMode: 'update' })
      .writeStream.outputMode('update')
      .foreachBatch(async (df, id) => {
        seen.set(id, (await df.collect()).map((r) => `${r['user']}=${r['total']}`).sort());
      })
      .option('checkpointLocation', ckpt)
      .start();
    return { input, q };
  }

  for (const parallelism of [1, 2]) {
    it(`fails the query naming the key and the batch, does not commit the batch, and the restart re-runs it (parallelism ${parallelism})`, async () => {
      process.env[THROW_FLAG_ENV] = flag;
      const ckpt = mkdtempSync(join(tmpdir(), 'sluice-tws-throw-ckpt-'));
      const data = [[{ user: 'alice' }, { user: 'bob' }], [{ user: 'alice' }, { user: 'mallory' }, { user: 'mallory' }], [{ user: 'mallory' }]];
      const seen = new Map<number, string[]>();
      const a = start(ckpt, [data[0]!], seen, parallelism);
      await a.q.processAllAvailable();
      writeFileSync(flag, '');
      a.input.addData(data[1]!);
      await expect(a.q.processAllAvailable()).rejects.toThrow();
      await a.q.awaitTermination().catch(() => {});
      const err = a.q.exception;
      expect(err).not.toBeNull();
      const text = `${err!.message} ${(err!.cause as Error | undefined)?.message ?? ''}`;
      expect(text).toContain('mallory is not welcome here');
      expect(text).toContain('handleInputRows');
      expect(text).toMatch(/\bmallory\b.*\bbatch 1\b|\bbatch 1\b.*\bmallory\b/s);
      // the processor's error keeps its class wherever it ran (the calling thread, or a worker)
      expect(err!.cause).toBeInstanceOf(TransformWithStateUserError);
      expect(existsSync(join(ckpt, 'offsets', '1'))).toBe(true);
      expect(existsSync(join(ckpt, 'commits', '1'))).toBe(false);
      expect([...seen.keys()]).toEqual([0]);

      rmSync(flag);
      const again = new Map<number, string[]>();
      const b = start(ckpt, data.slice(0, 2), again, parallelism);
      await b.q.processAllAvailable();
      b.input.addData(data[2]!);
      await b.q.processAllAvailable();
      await b.q.stop();
      expect(b.q.exception).toBeNull();
      expect(existsSync(join(ckpt, 'commits', '1'))).toBe(true);
      // batch 1 runs again from batch 0's state: alice's count continues, mallory's starts; batch 2 follows it
      expect([...again.entries()]).toEqual([
        [1, ['alice=2', 'mallory=2']],
        [2, ['mallory=3']],
      ]);
    });
  }
});
