/**
 * Property: random two-sided inputs cut into random micro-batches, with watermarks far enough behind that nothing is
 * late, give the multiset of sluice's batch join over all the rows (and of a nested-loop reference written here), also
 * when the query is stopped and restarted from its checkpoint between micro-batches. A last pair of far-future rows (a key
 * nobody else has) moves the watermark past everything, so the outer joins' unmatched rows are emitted too.
 */
import { describe, expect, it } from 'vitest';
import { col, interval, lit, MemoryStream, Session } from '../../../engine/index.js';
import { prng } from '../../helpers/prng.js';
import { addData, normalizeRows, processAllAvailable, startStream, stopStream, testStream } from '../../helpers/stream-test.js';

type L = { id: number | null; lt: Date; lv: number };
type R = { rid: number | null; rt: Date; rv: number };
type Out = Record<string, unknown>;

const BASE = Date.UTC(2026, 0, 1);
const FAR = BASE + 24 * 3_600_000;

/** The join the streams run: `id = rid AND lt BETWEEN rt − 20s AND rt + 30s AND lv + rv <> 3 AND lv <> 1`. */
function matches(l: L, r: R): boolean {
  if (l.id === null || r.rid === null || l.id !== r.rid) return false;
  const lt = l.lt.getTime();
  const rt = r.rt.getTime();
  return lt >= rt - 20_000 && lt <= rt + 30_000 && l.lv + r.rv !== 3 && l.lv !== 1;
}

function reference(type: string, ls: L[], rs: R[]): Out[] {
  const out: Out[] = [];
  const rMatched = new Set<number>();
  for (const l of ls) {
    let any = false;
    rs.forEach((r, j) => {
      if (!matches(l, r)) return;
      any = true;
      rMatched.add(j);
      if (type !== 'leftSemi') out.push({ ...l, ...r });
    });
    if (type === 'leftSemi' && any) out.push({ ...l });
    if (!any && (type === 'leftOuter' || type === 'fullOuter')) out.push({ ...l, rid: null, rt: null, rv: null });
  }
  if (type === 'rightOuter' || type === 'fullOuter') rs.forEach((r, j) => rMatched.has(j) || out.push({ id: null, lt: null, lv: null, ...r }));
  return out;
}

function randomInputs(seed: number) {
  const r = prng(seed);
  const key = () => (r() < 0.08 ? null : Math.floor(r() * 6));
  const time = () => new Date(BASE + Math.floor(r() * 120) * 1000);
  const ls: L[] = Array.from({ length: 20 + Math.floor(r() * 40) }, () => ({ id: key(), lt: time(), lv: Math.floor(r() * 4) }));
  const rs: R[] = Array.from({ length: 20 + Math.floor(r() * 40) }, () => ({ rid: key(), rt: time(), rv: Math.floor(r() * 4) }));
  // Cut both sides into the same number of micro-batches at random points (a batch may hold one side only).
  const batches = 2 + Math.floor(r() * 5);
  const cut = <T,>(xs: T[]) => {
    const points = Array.from({ length: batches - 1 }, () => Math.floor(r() * (xs.length + 1))).sort((a, b) => a - b);
    return [0, ...points, xs.length].slice(1).map((end, i, ends) => xs.slice(i === 0 ? 0 : ends[i - 1]!, end));
  };
  return { ls, rs, lBatches: cut(ls), rBatches: cut(rs) };
}

describe('stream–stream join = batch join (property)', () => {
  for (const type of ['inner', 'leftOuter', 'rightOuter', 'fullOuter', 'leftSemi']) {
    it(`${type}: random inputs in random micro-batches, with and without restarts, give the batch join's multiset`, async () => {
      for (const seed of [1, 2, 3, 4, 5, 6]) {
        const { ls, rs, lBatches, rBatches } = randomInputs(seed * 101 + type.length);
        const session = new Session();
        const lIn = new MemoryStream(session, { id: 'int', lt: 'timestamp', lv: 'int' });
        const rIn = new MemoryStream(session, { rid: 'int', rt: 'timestamp', rv: 'int' });
        const on = col('id')
          .eq(col('rid'))
          .and(col('lt').between(col('rt').minus(interval('20 seconds')), col('rt').plus(interval('30 seconds'))))
          .and(col('lv').plus(col('rv')).notEqual(lit(3)))
          .and(col('lv').notEqual(lit(1)));
        // A 1-hour delay: the 2-minute spread of the data is never late and never evicted before the final rows.
        const df = lIn.toDF().withWatermark('lt', '1 hour').join(rIn.toDF().withWatermark('rt', '1 hour'), on, type);
        // Odd seeds stop and restart the query (state restored from the checkpoint) after every other micro-batch.
        const restart = seed % 2 === 1;
        const steps = lBatches.flatMap((lb, i) => [
          addData(lIn, lb),
          addData(rIn, rBatches[i]!),
          processAllAvailable(),
          ...(restart && i % 2 === 0 ? [stopStream(), startStream()] : []),
        ]);
        const sink = await testStream(df, { outputMode: 'append' }, [
          ...steps,
          addData(lIn, [{ id: 99, lt: new Date(FAR), lv: 0 }]),
          addData(rIn, [{ rid: 98, rt: new Date(FAR), rv: 0 }]),
          processAllAvailable(),
        ]);
        const want = normalizeRows(reference(type, ls, rs));
        expect(normalizeRows(sink.allRows()), `seed ${seed}`).toEqual(want);
        // The same join as a batch query over every row gives the same multiset.
        const batch = await session
          .createDataFrame(ls, { id: 'int', lt: 'timestamp', lv: 'int' })
          .join(session.createDataFrame(rs, { rid: 'int', rt: 'timestamp', rv: 'int' }), on, type)
          .collect();
        expect(normalizeRows(batch), `seed ${seed} (batch join)`).toEqual(want);
      }
    });
  }
});
