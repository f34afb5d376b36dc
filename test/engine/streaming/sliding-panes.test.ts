/**
 * Sliding windows whose size is a multiple of the slide are aggregated by panes in big input chunks
 * (`AggregatePartition.absorbByPanes`); chunks under 2048 rows go pair by pair. The same micro-batches, fed once as
 * whole chunks and once cut into 1000-row chunks, must give the same output rows and the same state metrics, with a
 * watermark, in append and update mode, inline and on two workers, including batches that hold late rows.
 */
import { describe, expect, it } from 'vitest';
import { avg, col, count, first, last, max, MemoryStream, min, Session, sum, window, type Row } from '../../../engine/index.js';
import { prng } from '../../helpers/prng.js';

const BASE = 1_767_225_600_000;
type Ev = { key: string; v: number | null; ts: number | null };

/** Six micro-batches of 5000 rows, a minute of event time each; batches 2 and 4 also hold rows minutes late. */
function microBatches(): Ev[][] {
  const r = prng(21);
  return Array.from({ length: 6 }, (_, b) =>
    Array.from({ length: 5000 }, () => {
      let ts: number | null = BASE + b * 60_000 + Math.floor(r() * 60_000);
      if ((b === 2 || b === 4) && r() < 0.03) ts -= 60_000 + Math.floor(r() * 120_000);
      if (r() < 0.002) ts = null;
      return { key: `k${Math.floor(r() * 40)}`, v: r() < 0.05 ? null : Math.floor(r() * 1000) - 300, ts };
    }),
  );
}

async function run(mode: 'append' | 'update', parallelism: number, chunkRows: number): Promise<{ rows: string[]; metrics: unknown[] }> {
  const session = new Session({ conf: { parallelism, parallelThresholdRows: 0, parallelMinRowNs: 0 } });
  const input = new MemoryStream(session, { key: 'string', v: 'long', ts: 'timestamp' });
  const name = `panes_${mode}_${parallelism}_${chunkRows}`;
  const q = input
    .toDF()
    .withWatermark('ts', '30 seconds')
    .groupBy(window(col('ts'), '1 minute', '20 seconds'), col('key'))
    .agg(count('*').as('n'), sum('v').as('s'), min('v').as('lo'), max('v').as('hi'), avg('v').as('a'), first('v').as('f'), last('v').as('l'))
    .writeStream.format('memory').queryName(name).outputMode(mode).start();
  const metrics: unknown[] = [];
  for (const batch of microBatches()) {
    for (let i = 0; i < batch.length; i += chunkRows) input.addData(batch.slice(i, i + chunkRows));
    await q.processAllAvailable();
  }
  for (const p of q.recentProgress) {
    const op = p.stateOperators[0]!;
    metrics.push([p.numInputRows, op.numRowsTotal, op.numRowsUpdated, op.numRowsRemoved, op.numRowsDroppedByWatermark]);
  }
  const rows = (await session.table(name).collect()).map((x: Row) => JSON.stringify(x)).sort();
  await q.stop();
  return { rows, metrics };
}

describe('Sliding windows by panes', () => {
  for (const mode of ['append', 'update'] as const) {
    it(`gives the pair-by-pair rows and metrics in ${mode} mode, inline and on two workers`, async () => {
      const pairs = await run(mode, 1, 1000);
      expect(pairs.rows.length).toBeGreaterThan(100);
      // Late rows were dropped (and counted) in the batches that hold them.
      expect(pairs.metrics.some((m) => (m as number[])[4]! > 0)).toBe(true);
      const panes = await run(mode, 1, 5000);
      expect(panes.rows).toEqual(pairs.rows);
      expect(panes.metrics).toEqual(pairs.metrics);
      const workers = await run(mode, 2, 5000);
      expect(workers.rows).toEqual(pairs.rows);
      expect(workers.metrics).toEqual(pairs.metrics);
    }, 60_000);
  }
});
