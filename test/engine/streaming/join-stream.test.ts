/**
 * Stream–stream joins end to end: the batch each unmatched row is emitted in and the state each batch holds, Spark's
 * refusals, the warning for state that is never evicted, explain(), and the same answer on 1, 2 and 4 partitions.
 */
import { describe, expect, it } from 'vitest';
import { col, count, interval, MemoryStream, Session, UnsupportedOperationError, window, type StreamingQueryProgress } from '../../../engine/index.js';
import { planPhysical } from '../../../engine/planner/planner.js';
import { addData, assertProgress, checkNewAnswer, execute, processAllAvailable, t, testStream, win } from '../../helpers/stream-test.js';

const s = (sec: number) => 3_600_000 + sec * 1000;

function inputs(session: Session) {
  const lIn = new MemoryStream(session, { id: 'int', lt: 'timestamp' });
  const rIn = new MemoryStream(session, { rid: 'int', rt: 'timestamp' });
  const L = lIn.toDF().withWatermark('lt', '0 seconds');
  const R = rIn.toDF().withWatermark('rt', '0 seconds');
  const on = col('id').eq(col('rid')).and(col('lt').between(col('rt').minus(interval('5 seconds')), col('rt').plus(interval('5 seconds'))));
  return { lIn, rIn, L, R, on };
}

/** Per executed batch: [batchId, numRowsTotal, numRowsUpdated, numRowsRemoved]. */
const stateByBatch = (all: StreamingQueryProgress[]) =>
  all.filter((p) => p.durationMs['addBatch'] !== undefined).map((p) => [p.batchId, p.stateOperators[0]!.numRowsTotal, p.stateOperators[0]!.numRowsUpdated, p.stateOperators[0]!.numRowsRemoved]);

describe('stream–stream left outer join, batch by batch', () => {
  it('emits an unmatched row in the no-data batch after the watermark passes its state watermark, and evicts both sides there', async () => {
    const session = new Session();
    const { lIn, rIn, L, R, on } = inputs(session);
    let batches: Map<number, Record<string, unknown>[]> = new Map();
    await testStream(L.join(R, on, 'leftOuter'), { outputMode: 'append' }, [
      addData(lIn, [{ id: 1, lt: s(10) }, { id: 2, lt: s(12) }]),
      addData(rIn, [{ rid: 1, rt: s(11) }]),
      checkNewAnswer([{ id: 1, lt: t(s(10)), rid: 1, rt: t(s(11)) }]),
      // batch 0 stores 3 rows; W = min(12 s, 11 s) = 11 s, state watermark 5 999 ms: the no-data batch 1 evicts nothing
      addData(lIn, [{ id: 3, lt: s(30) }]),
      addData(rIn, [{ rid: 9, rt: s(30) }]),
      checkNewAnswer([{ id: 2, lt: t(s(12)), rid: null, rt: null }]),
      execute('sink batches', (_q, sink) => void (batches = sink.batches)),
      assertProgress('state rows per batch', (_last, all) => {
        // batch 2 (data, W = 11 s) stores 2; the no-data batch 3 (W = 30 s → 24 999) evicts ids 1, 2 and rid 1
        expect(stateByBatch(all)).toEqual([
          [0, 3, 3, 0],
          [1, 3, 0, 0],
          [2, 5, 2, 0],
          [3, 2, 0, 3],
        ]);
      }),
      addData(lIn, [{ id: 4, lt: s(20) }]), // late: 20 s ≤ 30 s
      processAllAvailable(),
      assertProgress('late row dropped', (last) => expect(last.stateOperators[0]!.numRowsDroppedByWatermark).toBe(1)),
    ]);
    expect(batches.get(3)).toEqual([{ id: 2, lt: t(s(12)), rid: null, rt: null }]);
    expect(batches.get(2)).toEqual([]);
  });
});

describe('stream–stream join refusals and warnings', () => {
  const session = new Session();
  const { L, R, on } = inputs(session);
  const start = (df: ReturnType<typeof L.join>, mode: 'append' | 'update' = 'append') => df.writeStream.format('memory').queryName(`j${Math.random()}`.replace('.', '')).outputMode(mode).start();

  it("refuses what Spark refuses, with Spark's messages", () => {
    expect(() => start(L.join(R, on), 'update')).toThrow(
      /^Join between two streaming DataFrames\/Datasets is not supported in Update output mode, only in Append output mode/,
    );
    expect(() => start(L.join(R, col('lt').geq(col('rt'))))).toThrow(/^Stream-stream join without equality predicate is not supported/);
    expect(() => start(L.join(R, on, 'leftAnti'))).toThrow(UnsupportedOperationError);
    expect(() => start(L.join(R, on, 'leftAnti'))).toThrow(/^LeftAnti joins with a streaming DataFrame\/Dataset on the right are not supported/);
    expect(() => start(L.join(R, col('id').eq(col('rid')), 'leftOuter'))).toThrow(
      /^Stream-stream LeftOuter join between two streaming DataFrame\/Datasets is not supported without a watermark in the join keys, or a watermark on the nullable side and an appropriate range condition/,
    );
    expect(() => start(L.join(R, col('id').eq(col('rid')).and(col('lt').geq(col('rt'))), 'rightOuter'))).toThrow(/Stream-stream RightOuter join/);
    expect(() => start(L.join(R, col('id').eq(col('rid')), 'leftSemi'))).toThrow(/Stream-stream LeftSemi join/);
  });

  it('starts an inner join whose state is never evicted with a warning naming the side and the missing condition', async () => {
    const warned: (readonly string[])[] = [];
    session.streams.addListener({ onQueryStarted: (e) => void warned.push(e.warnings) });
    const q = start(L.join(R, col('id').eq(col('rid')).and(col('lt').geq(col('rt')))));
    await q.stop();
    expect(q.warnings).toEqual([
      "Stream-stream Inner join on [(id = rid)]: the right side's state is never evicted: no condition bounds the right side's rt from below by the left side's lt. " +
        "Add a range condition such as right.rt >= left.lt - interval('1 hour'), or join on a watermarked time or window.",
    ]);
    expect(warned.at(-1)).toEqual(q.warnings);
    const noWm = start(L.join(new MemoryStream(session, { rid: 'int', rt: 'timestamp' }).toDF(), col('id').eq(col('rid'))));
    await noWm.stop();
    expect(noWm.warnings.map((w) => w.replace(/: .*?: /, ': … : ').slice(0, 120))).toHaveLength(2);
    expect(noWm.warnings[1]).toContain("the right side's state is never evicted: the right input has no watermark. Call withWatermark(column, delay) on it");
    const bounded = start(L.join(R, on));
    await bounded.stop();
    expect(bounded.warnings).toEqual([]);
  });

  it('explain() shows the join type, keys, condition and each side’s eviction rule over the two exchanges', () => {
    expect(planPhysical(L.join(R, on, 'leftOuter').plan, { parallelism: 2 }).toString()).toMatchInlineSnapshot(`
      "StreamingSymmetricHashJoinExec: LeftOuter keys=[(id = rid)] condition=((id = rid) AND ((lt >= (rt - INTERVAL '5 seconds')) AND (lt <= (rt + INTERVAL '5 seconds')))) leftState=evict(lt <= watermark - 5001ms) rightState=evict(rt <= watermark - 5001ms)
        Exchange: hashpartitioning(id, 2)
          EventTimeWatermarkExec: lt delay=0 milliseconds
            StreamScanExec: MemoryStream[0] [id, lt]
        Exchange: hashpartitioning(rid, 2)
          EventTimeWatermarkExec: rt delay=0 milliseconds
            StreamScanExec: MemoryStream[1] [rid, rt]"
    `);
  });
});

describe('stream–stream join on 1, 2 and 4 partitions', () => {
  it('gives the same rows in the same batches with the same state', async () => {
    const runAt = async (parallelism: number) => {
      const session = new Session({ conf: parallelism > 1 ? { parallelism, parallelThresholdRows: 1, parallelMinRowNs: 0 } : { parallelism: 1 } });
      const { lIn, rIn, L, R, on } = inputs(session);
      const rows = (from: number, n: number, step: number) => Array.from({ length: n }, (_, i) => ({ id: i % 7, lt: s(from + i * step) }));
      let out: [number, string[]][] = [];
      let state: unknown[] = [];
      let instances = 0;
      await testStream(L.join(R, on, 'fullOuter'), { outputMode: 'append' }, [
        addData(lIn, rows(1, 40, 0.5)),
        addData(rIn, rows(3, 30, 0.5).map((r) => ({ rid: r.id + 2, rt: r.lt }))),
        processAllAvailable(),
        addData(lIn, rows(40, 40, 0.5)),
        addData(rIn, rows(38, 40, 0.5).map((r) => ({ rid: r.id, rt: r.lt }))),
        processAllAvailable(),
        addData(lIn, [{ id: 100, lt: s(200) }]),
        addData(rIn, [{ rid: 100, rt: s(200) }]),
        processAllAvailable(),
        execute('collect', (_q, sink) => void (out = [...sink.batches].map(([b, r]) => [b, r.map((x) => JSON.stringify(x)).sort()]))),
        assertProgress('state', (_l, all) => {
          state = stateByBatch(all);
          instances = Math.max(...all.map((p) => p.stateOperators[0]!.numStateStoreInstances));
        }),
      ]);
      expect(instances).toBe(parallelism);
      return { out, state };
    };
    const one = await runAt(1);
    expect(one.out.flatMap(([, r]) => r).length).toBeGreaterThan(60);
    expect(one.out.some(([, r]) => r.some((x) => x.includes('"rid":null')))).toBe(true);
    expect(await runAt(2)).toEqual(one);
    expect(await runAt(4)).toEqual(one);
  });
});

describe('stream–stream full outer join on using columns with a watermarked time key', () => {
  it('evicts both sides by the key and emits each unmatched row once, its using columns coalesced', async () => {
    const session = new Session();
    const lIn = new MemoryStream(session, { id: 'int', ts: 'timestamp', lv: 'string' });
    const rIn = new MemoryStream(session, { id: 'long', ts: 'timestamp', rv: 'string' });
    const L = lIn.toDF().withWatermark('ts', '5 seconds');
    const R = rIn.toDF().withWatermark('ts', '5 seconds');
    const df = L.join(R, ['id', 'ts'], 'fullOuter');
    expect(planPhysical(df.plan).toString().split('\n')[0]).toBe(
      'StreamingSymmetricHashJoinExec: FullOuter keys=[(id = id), (ts = ts)] condition=USING (id, ts) leftState=evict(key (ts = ts) <= watermark) rightState=evict(key (ts = ts) <= watermark)',
    );
    await testStream(df, { outputMode: 'append' }, [
      addData(lIn, [{ id: 1, ts: s(10), lv: 'a' }, { id: 2, ts: s(10), lv: 'b' }]),
      addData(rIn, [{ id: 1, ts: s(10), rv: 'x' }, { id: 3, ts: s(11), rv: 'y' }]),
      checkNewAnswer([{ id: 1, ts: t(s(10)), lv: 'a', rv: 'x' }]),
      // W = 11 s − 5 s = 6 s: nothing at or below it yet
      addData(lIn, [{ id: 4, ts: s(20), lv: 'c' }]),
      addData(rIn, [{ id: 5, ts: s(20), rv: 'z' }]),
      // W = 15 s: the no-data batch evicts the keys at 10 s and 11 s
      checkNewAnswer([
        { id: 2, ts: t(s(10)), lv: 'b', rv: null },
        { id: 3, ts: t(s(11)), lv: null, rv: 'y' },
      ]),
      assertProgress('state', (last) => expect(last.stateOperators[0]!.customMetrics).toMatchObject({ leftStateRows: 1, rightStateRows: 1 })),
    ]);
  });
});

describe('a stateful operator above a stream–stream join', () => {
  it("reads the join's output watermark (min of the state watermarks and W), so a row the join emits late is neither dropped nor put in a closed window", async () => {
    const session = new Session();
    const { lIn, rIn, L, R, on } = inputs(session);
    const counts = L.join(R, on).groupBy(window(col('lt'), '1 second')).agg(count('*').as('n'));
    await testStream(counts, { outputMode: 'append' }, [
      addData(lIn, [{ id: 1, lt: s(12.5) }]),
      addData(rIn, [{ rid: 9, rt: s(10) }]),
      processAllAvailable(), // W = 10 s
      addData(lIn, [{ id: 8, lt: s(15) }]),
      addData(rIn, [{ rid: 8, rt: s(15) }]),
      processAllAvailable(), // W = 15 s: the aggregation's watermark is 15 s − 5 001 ms
      // joins the left row of 12.5 s, kept in the join's state down to W − 5 001 ms: its window [12 s, 13 s) ended
      // before W, but not before the join's output watermark
      addData(rIn, [{ rid: 1, rt: s(15.5) }]),
      processAllAvailable(),
      addData(lIn, [{ id: 50, lt: s(100) }]),
      addData(rIn, [{ rid: 51, rt: s(100) }]),
      checkNewAnswer([
        { window: win(s(12), s(13)), n: 1 },
        { window: win(s(15), s(16)), n: 1 },
      ]),
      assertProgress('nothing dropped as late by the aggregation', (_l, all) => {
        expect(all.reduce((n, p) => n + p.stateOperators[0]!.numRowsDroppedByWatermark + p.stateOperators[1]!.numRowsDroppedByWatermark, 0)).toBe(0);
      }),
    ]);
  });
});

describe('stream–stream join on a window of watermarked times', () => {
  for (const parallelism of [1, 2]) {
    it(`joins rows of the same 10-second window and evicts a window once the watermark reaches its end (parallelism ${parallelism})`, async () => {
      const session = new Session({ conf: parallelism > 1 ? { parallelism, parallelThresholdRows: 1, parallelMinRowNs: 0 } : { parallelism: 1 } });
      const { lIn, rIn, L, R } = inputs(session);
      const lw = L.select(col('id'), window(col('lt'), '10 seconds').as('lw'));
      const rw = R.select(col('rid'), window(col('rt'), '10 seconds').as('rw'));
      const df = lw.join(rw, col('id').eq(col('rid')).and(col('lw').eq(col('rw'))), 'leftOuter');
      await testStream(df, { outputMode: 'append' }, [
        addData(lIn, [{ id: 1, lt: s(11) }, { id: 2, lt: s(12) }, { id: 3, lt: s(25) }]),
        addData(rIn, [{ rid: 1, rt: s(19) }, { rid: 2, rt: s(21) }, { rid: 3, rt: s(22) }]),
        checkNewAnswer([
          { id: 1, lw: win(s(10), s(20)), rid: 1, rw: win(s(10), s(20)) },
          { id: 3, lw: win(s(20), s(30)), rid: 3, rw: win(s(20), s(30)) },
          { id: 2, lw: win(s(10), s(20)), rid: null, rw: null },
        ]),
        // W = min(25 s, 22 s) = 22 s: in the no-data batch 1 the window ending at 20 s leaves, id 2 with nulls
        execute('batch 1', (_q, sink) => expect(sink.batches.get(1)).toEqual([{ id: 2, lw: win(s(10), s(20)), rid: null, rw: null }])),
        assertProgress('state', (last) => {
          expect(last.stateOperators[0]!.customMetrics).toMatchObject({ leftStateRows: 1, rightStateRows: 2 });
          expect(last.stateOperators[0]!.numStateStoreInstances).toBe(parallelism);
        }),
      ]);
    });
  }
});

describe('no-data batches of a stream–stream join', () => {
  it('runs one after the watermark rises only when a side has a state watermark rule', async () => {
    const executed = async (withRange: boolean) => {
      const session = new Session();
      const { lIn, rIn, L, R, on } = inputs(session);
      let ran: number[] = [];
      await testStream(L.join(R, withRange ? on : col('id').eq(col('rid'))), { outputMode: 'append' }, [
        addData(lIn, [{ id: 1, lt: s(10) }]),
        addData(rIn, [{ rid: 1, rt: s(11) }]),
        processAllAvailable(),
        assertProgress('batches', (_l, all) => void (ran = all.filter((p) => p.durationMs['addBatch'] !== undefined).map((p) => p.numInputRows))),
      ]);
      return ran;
    };
    expect(await executed(true)).toEqual([2, 0]);
    expect(await executed(false)).toEqual([2]);
  });
});
