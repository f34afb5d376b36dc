import { describe, expect, it } from 'vitest';
import { col, count, MemoryStream, Session, sessionWindow, sum, window, max } from '../../../engine/index.js';
import {
  addData,
  assertProgress,
  assertWatermark,
  checkAnswer,
  checkLastBatch,
  checkNewAnswer,
  processAllAvailable,
  startStream,
  stopStream,
  testStream,
  win,
} from '../../helpers/stream-test.js';

const s = (sec: number) => sec * 1000;

function setup(conf: Record<string, unknown> = {}) {
  const session = new Session({ conf });
  const input = new MemoryStream(session, { value: 'int', eventTime: 'timestamp' });
  const rows = (...secs: number[]) => secs.map((x) => ({ value: x, eventTime: s(x) }));
  return { session, input, rows };
}

describe('Streaming window aggregation', () => {
  it('append mode emits a window once, when the watermark passes its end (Spark EventTimeWatermarkSuite)', async () => {
    const { input, rows } = setup();
    const df = input.toDF().withWatermark('eventTime', '10 seconds').groupBy(window(col('eventTime'), '5 seconds')).agg(count('*').as('count'));
    await testStream(df, { outputMode: 'append' }, [
      addData(input, rows(10, 11, 12, 13, 14, 15)),
      checkNewAnswer([]),
      assertWatermark(s(5)),
      addData(input, rows(25)), // watermark → 15 s: closes [10, 15)
      checkNewAnswer([{ window: win(s(10), s(15)), count: 5 }]),
      assertProgress('two windows kept', (p) => expect(p.stateOperators[0]!.numRowsTotal).toBe(2)),
      addData(input, rows(10)), // late: window end 15 ≤ watermark 15
      checkNewAnswer([]),
      assertProgress('one late group dropped', (p) => {
        expect(p.stateOperators[0]!.numRowsDroppedByWatermark).toBe(1);
        expect(p.stateOperators[0]!.numRowsTotal).toBe(2);
      }),
    ]);
  });

  it('an event time equal to the watermark is late, and a window ending at the watermark closes', async () => {
    const { input, rows } = setup();
    const df = input.toDF().withWatermark('eventTime', '5 seconds').groupBy(window(col('eventTime'), '5 seconds')).agg(count('*').as('count'));
    await testStream(df, { outputMode: 'append' }, [
      addData(input, rows(10)), // watermark → 5
      checkNewAnswer([]),
      assertWatermark(s(5)),
      addData(input, rows(4, 5)), // [0,5) ends at 5 = watermark: late; [5,10) is open
      checkNewAnswer([]),
      assertProgress('[0,5) dropped as late', (_p, all) => {
        const dropped = all.reduce((n, p) => n + p.stateOperators[0]!.numRowsDroppedByWatermark, 0);
        expect(dropped).toBe(1);
      }),
      addData(input, rows(15)), // watermark → 10: closes [5,10) and ... [10,15) stays
      checkNewAnswer([{ window: win(s(5), s(10)), count: 1 }]),
    ]);
  });

  it('update mode emits changed groups every batch and evicts closed ones silently', async () => {
    const { input, rows } = setup();
    const df = input.toDF().withWatermark('eventTime', '10 seconds').groupBy(window(col('eventTime'), '5 seconds')).agg(count('*').as('count'));
    await testStream(df, { outputMode: 'update' }, [
      addData(input, rows(10, 11, 12, 13, 14, 15)),
      checkNewAnswer([
        { window: win(s(10), s(15)), count: 5 },
        { window: win(s(15), s(20)), count: 1 },
      ]),
      addData(input, rows(16, 25)),
      checkNewAnswer([
        { window: win(s(15), s(20)), count: 2 },
        { window: win(s(25), s(30)), count: 1 },
      ]),
      // watermark is now 15: [10,15) was evicted, so a row for it is late and nothing is emitted
      addData(input, rows(12)),
      checkNewAnswer([]),
      assertProgress('late', (p) => expect(p.stateOperators[0]!.numRowsDroppedByWatermark).toBe(1)),
    ]);
  });

  it('complete mode emits the whole result every batch, never evicts and keeps late rows', async () => {
    const { input, rows } = setup();
    const df = input.toDF().withWatermark('eventTime', '10 seconds').groupBy(window(col('eventTime'), '5 seconds')).agg(count('*').as('count'));
    await testStream(df, { outputMode: 'complete' }, [
      addData(input, rows(10, 11, 25)),
      checkLastBatch([
        { window: win(s(10), s(15)), count: 2 },
        { window: win(s(25), s(30)), count: 1 },
      ]),
      addData(input, rows(1)), // far behind the watermark (15): complete mode still counts it
      checkLastBatch([
        { window: win(s(0), s(5)), count: 1 },
        { window: win(s(10), s(15)), count: 2 },
        { window: win(s(25), s(30)), count: 1 },
      ]),
      assertProgress('no late rows in complete mode', (p) => expect(p.stateOperators[0]!.numRowsDroppedByWatermark).toBe(0)),
    ]);
  });

  it('sliding windows in append mode: each row in every window that contains it', async () => {
    const { input, rows } = setup();
    const df = input
      .toDF()
      .withWatermark('eventTime', '0 seconds')
      .groupBy(window(col('eventTime'), '10 seconds', '5 seconds'))
      .agg(count('*').as('count'), max('value').as('max'));
    await testStream(df, { outputMode: 'append' }, [
      addData(input, rows(7)),
      checkNewAnswer([]), // watermark → 7: [0,10) ends at 10 > 7
      addData(input, rows(12)), // watermark → 12: [0,10) closes
      checkNewAnswer([{ window: win(0, s(10)), count: 1, max: 7 }]),
      addData(input, rows(30)),
      checkNewAnswer([
        { window: win(s(5), s(15)), count: 2, max: 12 },
        { window: win(s(10), s(20)), count: 1, max: 12 },
      ]),
    ]);
  });

  it('session windows in append mode merge per key and emit when the session closes', async () => {
    const session = new Session();
    const input = new MemoryStream(session, { user: 'string', eventTime: 'timestamp' });
    const df = input
      .toDF()
      .withWatermark('eventTime', '10 seconds')
      .groupBy(sessionWindow(col('eventTime'), '5 seconds'), col('user'))
      .agg(count('*').as('n'));
    await testStream(df, { outputMode: 'append' }, [
      addData(input, [
        { user: 'a', eventTime: s(10) },
        { user: 'a', eventTime: s(13) },
        { user: 'b', eventTime: s(11) },
      ]),
      checkNewAnswer([]),
      // a row at 18 touches a's session [10, 18) → merges to [10, 23)
      addData(input, [{ user: 'a', eventTime: s(18) }]),
      checkNewAnswer([]),
      addData(input, [{ user: 'c', eventTime: s(40) }]), // watermark → 30: closes a [10,23) and b [11,16)
      checkNewAnswer([
        { session_window: win(s(10), s(23)), user: 'a', n: 3 },
        { session_window: win(s(11), s(16)), user: 'b', n: 1 },
      ]),
      // late for sessions: t + gap ≤ watermark (30); 26 + 5 = 31 is still accepted
      addData(input, [
        { user: 'b', eventTime: s(20) },
        { user: 'b', eventTime: s(26) },
      ]),
      checkNewAnswer([]),
      assertProgress('one late row', (p) => expect(p.stateOperators[0]!.numRowsDroppedByWatermark).toBe(1)),
      addData(input, [{ user: 'c', eventTime: s(60) }]),
      checkNewAnswer([
        { session_window: win(s(26), s(31)), user: 'b', n: 1 },
        { session_window: win(s(40), s(45)), user: 'c', n: 1 },
      ]),
    ]);
  });

  it('session windows in complete mode: sessions bridged by a later row merge, with their counts', async () => {
    const session = new Session();
    const input = new MemoryStream(session, { user: 'string', eventTime: 'timestamp' });
    const df = input.toDF().groupBy(sessionWindow(col('eventTime'), '5 seconds'), col('user')).agg(count('*').as('n'));
    await testStream(df, { outputMode: 'complete' }, [
      addData(input, [
        { user: 'a', eventTime: s(0) },
        { user: 'a', eventTime: s(10) },
      ]),
      checkLastBatch([
        { session_window: win(0, s(5)), user: 'a', n: 1 },
        { session_window: win(s(10), s(15)), user: 'a', n: 1 },
      ]),
      addData(input, [{ user: 'a', eventTime: s(5) }]), // [5,10) touches both: one session [0,15)
      checkLastBatch([{ session_window: win(0, s(15)), user: 'a', n: 3 }]),
    ]);
  });

  it('runs a no-data batch after the watermark moves, so closed windows are emitted without new input', async () => {
    const { input, rows } = setup();
    const df = input.toDF().withWatermark('eventTime', '0 seconds').groupBy(window(col('eventTime'), '5 seconds')).agg(count('*').as('count'));
    await testStream(df, { outputMode: 'append' }, [
      addData(input, rows(1, 2)),
      processAllAvailable(),
      addData(input, rows(7)), // watermark → 7 after this batch; [0,5) closes in the following no-data batch
      checkNewAnswer([{ window: win(0, s(5)), count: 2 }]),
      assertProgress('last batch had no input', (p) => expect(p.numInputRows).toBe(0)),
    ]);
  });

  it('with noDataMicroBatches=false, closed windows wait for the next data batch', async () => {
    const { input, rows } = setup({ noDataMicroBatches: false });
    const df = input.toDF().withWatermark('eventTime', '0 seconds').groupBy(window(col('eventTime'), '5 seconds')).agg(count('*').as('count'));
    await testStream(df, { outputMode: 'append' }, [
      addData(input, rows(1, 2)),
      processAllAvailable(),
      addData(input, rows(7)),
      checkNewAnswer([]),
      addData(input, rows(8)),
      checkNewAnswer([{ window: win(0, s(5)), count: 2 }]),
    ]);
  });

  it('restores state and watermark on restart', async () => {
    const { input, rows } = setup();
    const df = input
      .toDF()
      .withWatermark('eventTime', '10 seconds')
      .groupBy(window(col('eventTime'), '5 seconds'))
      .agg(count('*').as('count'), sum('value').as('sum'));
    await testStream(df, { outputMode: 'append' }, [
      addData(input, rows(10, 11, 12)),
      checkNewAnswer([]),
      stopStream(),
      startStream(),
      assertWatermark(s(2)),
      addData(input, rows(13, 14, 25)),
      checkNewAnswer([{ window: win(s(10), s(15)), count: 5, sum: 60 }]),
      stopStream(),
      startStream(),
      addData(input, rows(11)), // still late after restart: the watermark (15 s) survived
      checkNewAnswer([]),
      assertProgress('late after restart', (p) => expect(p.stateOperators[0]!.numRowsDroppedByWatermark).toBe(1)),
      addData(input, rows(40)),
      checkAnswer([
        { window: win(s(10), s(15)), count: 5, sum: 60 },
        { window: win(s(25), s(30)), count: 1, sum: 25 },
      ]),
    ]);
  });

  it('update mode without a watermark keeps every group and emits changes', async () => {
    const session = new Session();
    const input = new MemoryStream(session, { user: 'string', amount: 'double' });
    const df = input.toDF().groupBy('user').agg(sum('amount').as('total'));
    await testStream(df, { outputMode: 'update' }, [
      addData(input, [
        { user: 'a', amount: 1 },
        { user: 'b', amount: 2 },
      ]),
      checkNewAnswer([
        { user: 'a', total: 1 },
        { user: 'b', total: 2 },
      ]),
      addData(input, [{ user: 'a', amount: 5 }]),
      checkNewAnswer([{ user: 'a', total: 6 }]),
      stopStream(),
      startStream(),
      addData(input, [{ user: 'b', amount: 1 }]),
      checkNewAnswer([{ user: 'b', total: 3 }]),
    ]);
  });
});
