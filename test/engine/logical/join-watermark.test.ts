/** The state watermarks of stream–stream joins (Spark's StreamingJoinHelper / StreamingSymmetricHashJoinHelper). */
import { describe, expect, it } from 'vitest';
import { col, interval, MemoryStream, Session, window } from '../../../engine/index.js';
import type { Column } from '../../../engine/api/column.js';
import type { DataFrame } from '../../../engine/api/dataframe.js';
import { analyzeJoin } from '../../../engine/logical/join-analysis.js';
import { canEvictPreserved, joinOutputWatermark, joinWatermarks } from '../../../engine/logical/join-watermark.js';
import type { JoinNode } from '../../../engine/logical/plan.js';

const session = new Session();
const lIn = new MemoryStream(session, { id: 'int', lt: 'timestamp', lv: 'string' });
const rIn = new MemoryStream(session, { rid: 'int', rt: 'timestamp', rv: 'string' });
const L = lIn.toDF().withWatermark('lt', '10 seconds');
const R = rIn.toDF().withWatermark('rt', '20 seconds');
const on = (c: Column | null) => (c === null ? col('id').eq(col('rid')) : col('id').eq(col('rid')).and(c));
const analysis = (df: DataFrame) => analyzeJoin(df.plan as JoinNode);

describe('joinWatermarks', () => {
  it('l BETWEEN r − 5s AND r + 5s: both sides evict time ≤ W − 5001 (≥/≤ subtract 1 ms)', () => {
    const w = joinWatermarks(analysis(L.join(R, on(col('lt').between(col('rt').minus(interval('5 seconds')), col('rt').plus(interval('5 seconds')))))));
    expect(w.left).toMatchObject({ kind: 'value', ordinal: 1, offsetMs: -5001 });
    expect(w.right).toMatchObject({ kind: 'value', ordinal: 1, offsetMs: -5001 });
    expect(w.lateLeft).toMatchObject({ ordinal: 1, window: false });
    expect(joinOutputWatermark(w, 100_000)).toBe(100_000 - 5001);
  });

  it("Spark's ad example: impressions evict at W − 1h − 1ms, clicks at W − 1ms", () => {
    const w = joinWatermarks(analysis(L.join(R, on(col('rt').geq(col('lt')).and(col('rt').leq(col('lt').plus(interval('1 hour'))))))));
    expect(w.left).toMatchObject({ kind: 'value', offsetMs: -3_600_001 });
    expect(w.right).toMatchObject({ kind: 'value', offsetMs: -1 });
    expect(w.left!.text).toBe('lt <= watermark - 3600001ms');
  });

  it('a strict bound keeps the millisecond; several bounds give the smallest', () => {
    const w = joinWatermarks(analysis(L.join(R, on(col('lt').gt(col('rt').minus(interval('1 minute'))).and(col('lt').gt(col('rt').minus(interval('2 minutes'))))))));
    expect(w.left).toMatchObject({ offsetMs: -120_000 });
    expect(w.right).toBeNull(); // only upper bounds on rt
  });

  it('a watermarked equi-key (a time, or a window on it) evicts both sides by the key', () => {
    const byTime = joinWatermarks(analysis(L.join(R, col('id').eq(col('rid')).and(col('lt').eq(col('rt'))))));
    expect(byTime.left).toMatchObject({ kind: 'key', key: 1, window: false });
    expect(byTime.right).toMatchObject({ kind: 'key', key: 1, window: false });
    const lw = L.select(col('id'), window(col('lt'), '1 minute').as('lw'));
    const rw = R.select(col('rid'), window(col('rt'), '1 minute').as('rw'));
    const byWindow = joinWatermarks(analysis(lw.join(rw, col('id').eq(col('rid')).and(col('lw').eq(col('rw'))))));
    expect(byWindow.left).toMatchObject({ kind: 'key', key: 1, window: true });
  });

  it('no watermark on the other side, or no range: no eviction; outer joins need it on the preserved side', () => {
    const plainR = rIn.toDF();
    const noWm = analysis(L.join(plainR, on(col('lt').geq(col('rt')))));
    expect(joinWatermarks(noWm).left).toBeNull();
    expect(canEvictPreserved(analysis(L.join(plainR, on(col('lt').geq(col('rt'))), 'leftOuter')))).toBe(false);
    expect(canEvictPreserved(analysis(L.join(R, on(col('lt').geq(col('rt'))), 'leftOuter')))).toBe(true);
    expect(canEvictPreserved(analysis(L.join(R, on(col('lt').geq(col('rt'))), 'rightOuter')))).toBe(false);
    expect(canEvictPreserved(analysis(L.join(R, on(col('lt').geq(col('rt'))), 'fullOuter')))).toBe(true);
    expect(canEvictPreserved(analysis(L.join(R, on(null), 'leftSemi')))).toBe(false);
  });
});
