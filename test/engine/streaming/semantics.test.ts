import { describe, expect, it } from 'vitest';
import { col, count, MemoryStream, Session, sessionWindow, window, UnsupportedOperationError, countDistinct } from '../../../engine/index.js';
import {
  addData,
  assertProgress,
  assertWatermark,
  checkNewAnswer,
  execute,
  processAllAvailable,
  startStream,
  stopStream,
  testStream,
  win,
} from '../../helpers/stream-test.js';

const s = (sec: number) => sec * 1000;

describe('Triggers', () => {
  it('trigger once runs one batch over everything available and no trailing no-data batch', async () => {
    const session = new Session();
    const input = new MemoryStream(session, { value: 'int', eventTime: 'timestamp' });
    input.addData([{ value: 1, eventTime: s(1) }]);
    input.addData([{ value: 2, eventTime: s(20) }]);
    const df = input.toDF().withWatermark('eventTime', '0 seconds').groupBy(window(col('eventTime'), '5 seconds')).agg(count('*').as('n'));
    const q = df.writeStream.format('memory').queryName('once').outputMode('append').trigger({ once: true }).start();
    await q.awaitTermination();
    expect(q.recentProgress.map((p) => p.numInputRows)).toEqual([2]);
    // The watermark moved to 20 s, but trigger once does not run the no-data batch that would emit [0, 5).
    expect(await session.table('once').collect()).toEqual([]);
  });

  it('availableNow reads what is there at start in batches bounded by read limits, then runs the no-data batch and stops', async () => {
    const session = new Session();
    const input = new MemoryStream(session, { value: 'int', eventTime: 'timestamp' });
    input.addData([{ value: 1, eventTime: s(1) }]);
    input.addData([{ value: 2, eventTime: s(20) }]);
    const df = input.toDF().withWatermark('eventTime', '0 seconds').groupBy(window(col('eventTime'), '5 seconds')).agg(count('*').as('n'));
    const q = df.writeStream.format('memory').queryName('an').outputMode('append').trigger({ availableNow: true }).start();
    await q.awaitTermination();
    expect(q.recentProgress.map((p) => p.numInputRows)).toEqual([2, 0]);
    expect(await session.table('an').collect()).toEqual([{ window: win(0, s(5)), n: 1 }]);
  });

  it('trigger once with no new input runs nothing, and records one idle progress entry (Spark)', async () => {
    const session = new Session();
    const input = new MemoryStream(session, { value: 'int' });
    const q = input.toDF().writeStream.format('memory').queryName('empty').trigger({ once: true }).start();
    await q.awaitTermination();
    expect(q.recentProgress.map((p) => ({ batchId: p.batchId, numInputRows: p.numInputRows, out: p.sink.numOutputRows }))).toEqual([
      { batchId: -1, numInputRows: 0, out: 0 },
    ]);
    expect(await session.table('empty').collect()).toEqual([]);
  });
});

describe('Multiple watermarks', () => {
  function twoInputs(policy: 'min' | 'max') {
    const session = new Session({ conf: { multipleWatermarkPolicy: policy } });
    const a = new MemoryStream(session, { value: 'int', eventTime: 'timestamp' });
    const b = new MemoryStream(session, { value: 'int', eventTime: 'timestamp' });
    const df = a
      .toDF()
      .withWatermark('eventTime', '10 seconds')
      .union(b.toDF().withWatermark('eventTime', '20 seconds'))
      .groupBy(window(col('eventTime'), '5 seconds'))
      .agg(count('*').as('n'));
    return { a, b, df };
  }

  it("'min' (default) holds the global watermark at the slower input, counting an input with no data as 0", async () => {
    const { a, b, df } = twoInputs('min');
    await testStream(df, { outputMode: 'append' }, [
      addData(a, [{ value: 1, eventTime: s(100) }]),
      processAllAvailable(),
      assertWatermark(0), // b has seen nothing: counts as 0
      addData(b, [{ value: 1, eventTime: s(50) }]),
      processAllAvailable(),
      assertWatermark(s(30)), // min(100 − 10, 50 − 20)
    ]);
  });

  it("'max' follows the faster input", async () => {
    const { a, b, df } = twoInputs('max');
    await testStream(df, { outputMode: 'append' }, [
      addData(a, [{ value: 1, eventTime: s(100) }]),
      addData(b, [{ value: 1, eventTime: s(50) }]),
      processAllAvailable(),
      assertWatermark(s(90)),
    ]);
  });

  it('the watermark never goes back', async () => {
    const { a, df } = twoInputs('max');
    await testStream(df, { outputMode: 'append' }, [
      addData(a, [{ value: 1, eventTime: s(100) }]),
      processAllAvailable(),
      assertWatermark(s(90)),
      addData(a, [{ value: 1, eventTime: s(50) }]),
      processAllAvailable(),
      assertWatermark(s(90)),
    ]);
  });

  it('the policy saved in the checkpoint wins over the session setting on restart', async () => {
    const { a, b, df } = twoInputs('max');
    await testStream(df, { outputMode: 'append' }, [
      addData(a, [{ value: 1, eventTime: s(100) }]),
      processAllAvailable(),
      stopStream(),
      execute('switch the session to min', () => void df.session.conf.set('multipleWatermarkPolicy', 'min')),
      startStream(),
      addData(b, [{ value: 1, eventTime: s(200) }]),
      addData(a, [{ value: 1, eventTime: s(150) }]),
      processAllAvailable(),
      assertWatermark(s(180)), // max(150 − 10, 200 − 20): still 'max'
    ]);
  });
});

describe('Deduplication', () => {
  it('dropDuplicatesWithinWatermark drops repeats while the first occurrence is within the delay', async () => {
    const session = new Session();
    const input = new MemoryStream(session, { id: 'string', eventTime: 'timestamp' });
    const df = input.toDF().withWatermark('eventTime', '10 seconds').dropDuplicatesWithinWatermark(['id']);
    await testStream(df, { outputMode: 'append' }, [
      addData(input, [
        { id: 'a', eventTime: s(1) },
        { id: 'a', eventTime: s(2) },
        { id: 'b', eventTime: s(3) },
      ]),
      checkNewAnswer([
        { id: 'a', eventTime: new Date(s(1)) },
        { id: 'b', eventTime: new Date(s(3)) },
      ]),
      addData(input, [{ id: 'a', eventTime: s(25) }]), // watermark was 0 → this batch: a is still remembered
      checkNewAnswer([]),
      // watermark is now 15 s: a's state (expires at 1 + 10 = 11 s) was evicted, so a comes through again
      addData(input, [{ id: 'a', eventTime: s(30) }]),
      checkNewAnswer([{ id: 'a', eventTime: new Date(s(30)) }]),
      addData(input, [{ id: 'c', eventTime: s(5) }]), // late: 5 ≤ watermark 20
      checkNewAnswer([]),
      assertProgress('late row counted', (p) => expect(p.stateOperators[0]!.numRowsDroppedByWatermark).toBe(1)),
    ]);
  });

  it('dropDuplicates on a key that includes the event time evicts keys behind the watermark', async () => {
    const session = new Session();
    const input = new MemoryStream(session, { id: 'string', eventTime: 'timestamp' });
    const df = input.toDF().withWatermark('eventTime', '5 seconds').dropDuplicates(['id', 'eventTime']);
    await testStream(df, { outputMode: 'append' }, [
      addData(input, [
        { id: 'a', eventTime: s(10) },
        { id: 'a', eventTime: s(10) },
      ]),
      checkNewAnswer([{ id: 'a', eventTime: new Date(s(10)) }]),
      addData(input, [{ id: 'b', eventTime: s(30) }]),
      checkNewAnswer([{ id: 'b', eventTime: new Date(s(30)) }]),
      processAllAvailable(),
      assertProgress('a evicted', (p) => expect(p.stateOperators[0]!.numRowsTotal).toBe(1)),
    ]);
  });

  it('dropDuplicates without a watermark keeps every key across restarts', async () => {
    const session = new Session();
    const input = new MemoryStream(session, { id: 'int' });
    const df = input.toDF().dropDuplicates();
    await testStream(df, { outputMode: 'append' }, [
      addData(input, [{ id: 1 }, { id: 2 }, { id: 1 }]),
      checkNewAnswer([{ id: 1 }, { id: 2 }]),
      stopStream(),
      startStream(),
      addData(input, [{ id: 2 }, { id: 3 }]),
      checkNewAnswer([{ id: 3 }]),
    ]);
  });
});

describe('Refused queries', () => {
  const session = new Session();
  const input = new MemoryStream(session, { user: 'string', eventTime: 'timestamp' });
  const start = (df: ReturnType<typeof input.toDF>, mode: 'append' | 'update' | 'complete') =>
    df.writeStream.format('memory').queryName(`refused-${Math.random()}`).outputMode(mode).start();

  it('append with an aggregation but no watermark', () => {
    expect(() => start(input.toDF().groupBy(window(col('eventTime'), '5 seconds')).agg(count('*')), 'append')).toThrow(
      /Append output mode not supported when there are streaming aggregations.*without watermark.*withWatermark/,
    );
  });
  it('update with session windows', () => {
    const df = input.toDF().withWatermark('eventTime', '1 second').groupBy(sessionWindow(col('eventTime'), '5 seconds'), 'user').agg(count('*'));
    expect(() => start(df, 'update')).toThrow(UnsupportedOperationError);
    expect(() => start(df, 'update')).toThrow(/Update output mode not supported for session window/);
  });
  it('complete without an aggregation', () => {
    expect(() => start(input.toDF(), 'complete')).toThrow(/Complete output mode not supported when there are no streaming aggregations/);
  });
  it('a session window with no other key', () => {
    const df = input.toDF().withWatermark('eventTime', '1 second').groupBy(sessionWindow(col('eventTime'), '5 seconds')).agg(count('*'));
    expect(() => start(df, 'append')).toThrow(/Global aggregation with session window/);
  });
  it('distinct aggregates, sorting outside complete mode, and collect() on a stream', async () => {
    expect(() => start(input.toDF().groupBy('user').agg(countDistinct('eventTime')), 'update')).toThrow(/Distinct aggregations/);
    expect(() => start(input.toDF().orderBy('user'), 'append')).toThrow(/Sorting is not supported on streaming/);
    await expect(input.toDF().collect()).rejects.toThrow(/must be executed with writeStream.start\(\); collect\(\)/);
  });
  it('a second withWatermark on the same input', () => {
    expect(() => input.toDF().withWatermark('eventTime', '1 second').withWatermark('eventTime', '2 seconds')).toThrow(/Redefining watermark is disallowed/);
  });
  it('a sink without a checkpoint location', () => {
    expect(() => input.toDF().writeStream.format('jsonl').option('path', '/tmp/x').start()).toThrow(/checkpointLocation/);
  });
});
