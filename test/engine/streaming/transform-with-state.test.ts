/**
 * transformWithState end to end, in the step language: the failed-login detector, an event-time lockout timer, a
 * sessionizer on ListState and a top-3 on MapState; TTL on a ManualClock; restarts; refusals. The rules are SEMANTICS
 * §10 (Spark's TransformWithStateExec and friends); the processors are in ./fixtures/processors.ts.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { col, count, ManualClock, MemoryStream, Session, UnsupportedOperationError, window, type StreamingQueryProgress } from '../../../engine/index.js';
import type { StatefulProcessorClass, TransformWithStateOptions } from '../../../engine/api/stateful-processor.js';
import {
  addData,
  advanceClock,
  assertProgress,
  assertWatermark,
  checkNewAnswer,
  execute,
  expectFailure,
  processAllAvailable,
  startStream,
  stopStream,
  testStream,
  win,
} from '../../helpers/stream-test.js';
import {
  ALERT_SCHEMA,
  BackdatedAlerter,
  CLICK_SCHEMA,
  ExpiringFailedLoginDetector,
  FailedLoginDetector,
  LOCKOUT_MS,
  LockoutAlerter,
  LOGIN_SCHEMA,
  ProcessingTimeLockoutAlerter,
  RANKED_SCHEMA,
  SCORE_SCHEMA,
  SESSION_GAP_MS,
  SESSION_SCHEMA,
  SeededDetector,
  Sessionizer,
  ThrowingDetector,
  TimerEveryRow,
  TopThree,
  type Alert,
  type Login,
} from './fixtures/processors.js';

/** 10:00:00 on the day of the examples. */
const T0 = Date.parse('2026-05-30T10:00:00Z');
/** 'mm:ss' after 10:00 → epoch ms. */
const at = (mmss: string): number => {
  const [m, s] = mmss.split(':').map(Number);
  return T0 + (m! * 60 + s!) * 1000;
};
const fail = (user: string, mmss: string) => ({ user, success: false, ts: at(mmss) });
const ok = (user: string, mmss: string) => ({ user, success: true, ts: at(mmss) });
const alert = (user: string, reason: string, ms: number) => ({ user, reason, at: new Date(ms) });
const THREE = '3 failed logins';
const LOCKED = 'locked out for 10 minutes';
const op = (p: StreamingQueryProgress, i = 0) => p.stateOperators[i]!;
/** An operator's customMetrics (SEMANTICS §10's names). */
const custom = (p: StreamingQueryProgress, i = 0): Record<string, number> =>
  (op(p, i) as unknown as { customMetrics?: Record<string, number> }).customMetrics ?? {};
const sumOf = (all: StreamingQueryProgress[], f: (p: StreamingQueryProgress) => number) => all.reduce((n, p) => n + f(p), 0);

/**
 * A login stream on a session of its own (on `clock` when given), with a watermark on `ts` when given, grouped by user
 * through `processor` into alerts.
 */
function loginQuery(
  processor: StatefulProcessorClass<string, Login, Alert>,
  options: Omit<TransformWithStateOptions, 'outputSchema'> = {},
  { clock, watermark }: { clock?: ManualClock; watermark?: string } = {},
) {
  const session = new Session(clock ? { clock } : {});
  const input = new MemoryStream(session, LOGIN_SCHEMA);
  const src = watermark ? input.toDF().withWatermark('ts', watermark) : input.toDF();
  return { input, df: src.groupByKey(col('user')).transformWithState(processor, { outputSchema: ALERT_SCHEMA, ...options }) };
}

describe('transformWithState: the failed-login detector', () => {
  for (const timeMode of ['none', 'processingTime'] as const) {
    for (const outputMode of ['append', 'update'] as const) {
      it(`alerts at the third failure in a row, resets on success, and keeps one state row per user with failures (${timeMode}, ${outputMode})`, async () => {
        const clock = new ManualClock(T0);
        const { input, df } = loginQuery(FailedLoginDetector, { timeMode, outputMode }, { clock });
        await testStream(df, { outputMode, clock }, [
          addData(input, [fail('alice', '00:01'), fail('alice', '00:02'), fail('bob', '00:03')]),
          checkNewAnswer([]),
          assertProgress('alice (2) and bob (1) in state', (p) => {
            expect(op(p).numRowsTotal).toBe(2);
            expect(op(p).numRowsUpdated).toBe(3);
            expect(custom(p)['numValueStateVars']).toBe(1);
          }),
          // The rows of a key come in any order: the processor orders them by time (bob's success is between failures).
          addData(input, [fail('bob', '00:07'), fail('alice', '00:04'), fail('bob', '00:06'), ok('bob', '00:05')]),
          checkNewAnswer([alert('alice', THREE, at('00:04'))]),
          assertProgress('alice cleared at the alert, bob at 2 after his success', (p) => expect(op(p).numRowsTotal).toBe(1)),
          addData(input, [fail('bob', '00:08'), ok('carol', '00:09')]),
          checkNewAnswer([alert('bob', THREE, at('00:08'))]),
          assertProgress('nothing left', (p) => expect(op(p).numRowsTotal).toBe(0)),
        ]);
      });
    }
  }

  it('state survives a restart: the third failure after stop/start still alerts', async () => {
    const { input, df } = loginQuery(FailedLoginDetector);
    await testStream(df, { outputMode: 'append' }, [
      addData(input, [fail('alice', '00:01'), fail('alice', '00:02')]),
      checkNewAnswer([]),
      stopStream(),
      startStream(),
      addData(input, [fail('alice', '00:03')]),
      checkNewAnswer([alert('alice', THREE, at('00:03'))]),
      stopStream(),
      startStream(),
      // alice was cleared at the alert: two more failures are not three
      addData(input, [fail('alice', '00:04'), fail('alice', '00:05')]),
      checkNewAnswer([]),
    ]);
  });

  it('in processingTime mode input rows behind the watermark are not late: none is dropped (Spark)', async () => {
    const { input, df } = loginQuery(FailedLoginDetector, { timeMode: 'processingTime' }, { watermark: '1 minute' });
    await testStream(df, { outputMode: 'append' }, [
      addData(input, [fail('bob', '10:00')]), // the watermark moves to 10:09
      checkNewAnswer([]),
      addData(input, [fail('alice', '00:01'), fail('alice', '00:02'), fail('alice', '00:03')]),
      checkNewAnswer([alert('alice', THREE, at('00:03'))]),
      assertProgress('nothing dropped', (_p, all) => expect(sumOf(all, (p) => op(p).numRowsDroppedByWatermark)).toBe(0)),
    ]);
  });

  it('initialState seeds the state in batch 0 only: a restart does not read it again', async () => {
    const session = new Session();
    const input = new MemoryStream(session, LOGIN_SCHEMA);
    const counts = session.createDataFrame([{ user: 'alice', fails: 2 }, { user: 'bob', fails: 1 }], { user: 'string', fails: 'int' });
    const df = input
      .toDF()
      .groupByKey(col('user'))
      .transformWithState(SeededDetector, { outputSchema: ALERT_SCHEMA, initialState: counts.groupByKey(col('user')) });
    await testStream(df, { outputMode: 'append' }, [
      addData(input, [fail('alice', '00:01'), fail('bob', '00:02')]),
      checkNewAnswer([alert('alice', THREE, at('00:01'))]),
      assertProgress('bob at 2', (p) => expect(op(p).numRowsTotal).toBe(1)),
      stopStream(),
      startStream(),
      addData(input, [fail('bob', '00:03')]), // 2 + 1 (the seed of 1 is not applied again)
      checkNewAnswer([alert('bob', THREE, at('00:03'))]),
    ]);
  });
});

describe('transformWithState: an event-time lockout timer', () => {
  for (const outputMode of ['append', 'update'] as const) {
    it(`alerts when a user stays locked out for 10 minutes: the timer fires in the no-data batch once the watermark reaches it (${outputMode})`, async () => {
      const { input, df } = loginQuery(LockoutAlerter, { timeMode: 'eventTime', outputMode }, { watermark: '1 minute' });
      await testStream(df, { outputMode }, [
        addData(input, [
          ...['00:00', '00:10', '00:20'].map((t) => fail('alice', t)), // locked until 10:10:20
          ...['01:00', '01:10', '01:20'].map((t) => fail('bob', t)), // locked until 10:11:20
        ]),
        checkNewAnswer([alert('alice', THREE, at('00:20')), alert('bob', THREE, at('01:20'))]),
        assertWatermark(at('00:20')),
        addData(input, [ok('bob', '05:00')]), // bob unlocks: his timer is deleted
        checkNewAnswer([]),
        // carol moves the watermark to 10:10:20, alice's expiry exactly: it fires (expiry ≤ watermark), in the no-data batch
        addData(input, [fail('carol', '11:20')]),
        checkNewAnswer([alert('alice', LOCKED, at('10:20'))]),
        assertWatermark(at('10:20')),
        assertProgress('the no-data batch emitted the timer row', (p) => {
          expect(p.numInputRows).toBe(0);
          expect(p.sink.numOutputRows).toBe(1);
          expect(p.eventTime['watermark']).toBe(new Date(at('10:20')).toISOString());
        }),
        // dave at 10:05 is behind the watermark: dropped and counted; bob's deleted timer (10:11:20) never fires
        addData(input, [fail('dave', '05:00'), fail('dave', '14:00'), fail('carol', '14:00')]),
        checkNewAnswer([]),
        assertWatermark(at('13:00')),
        assertProgress('one late row dropped', (_p, all) => expect(sumOf(all, (p) => op(p).numRowsDroppedByWatermark)).toBe(1)),
      ]);
    });
  }

  it('a processing-time timer fires in a batch without data once the clock reaches it', async () => {
    const clock = new ManualClock(T0);
    const { input, df } = loginQuery(ProcessingTimeLockoutAlerter, { timeMode: 'processingTime' }, { clock });
    await testStream(df, { outputMode: 'update', clock }, [
      addData(input, [fail('alice', '00:00'), fail('alice', '00:01'), fail('alice', '00:02')]), // batch at T0: until T0 + 10 min
      checkNewAnswer([alert('alice', THREE, at('00:02'))]),
      advanceClock(LOCKOUT_MS - 1000),
      addData(input, [fail('bob', '09:59')]), // a batch 1 s before the timer: it does not fire
      checkNewAnswer([]),
      advanceClock(1000),
      processAllAvailable(),
      checkNewAnswer([alert('alice', LOCKED, T0 + LOCKOUT_MS)]),
      assertProgress('fired by a no-data batch at the timer', (p) => {
        expect(p.numInputRows).toBe(0);
        expect(p.timestamp).toBe(new Date(T0 + LOCKOUT_MS).toISOString());
        expect(custom(p)['numExpiredTimers']).toBe(1);
      }),
    ]);
  });

  it('a timer registered before a restart fires after it, and the state restored with it', async () => {
    const { input, df } = loginQuery(LockoutAlerter, { timeMode: 'eventTime' }, { watermark: '1 minute' });
    await testStream(df, { outputMode: 'append' }, [
      addData(input, [fail('alice', '00:00'), fail('alice', '00:10')]),
      checkNewAnswer([]),
      stopStream(),
      startStream(),
      addData(input, [fail('alice', '00:20'), fail('bob', '00:30'), fail('bob', '00:40'), fail('bob', '00:50')]),
      checkNewAnswer([alert('alice', THREE, at('00:20')), alert('bob', THREE, at('00:50'))]),
      stopStream(),
      startStream(),
      addData(input, [ok('bob', '02:00')]),
      checkNewAnswer([]),
      stopStream(),
      startStream(),
      addData(input, [fail('carol', '20:00')]),
      checkNewAnswer([alert('alice', LOCKED, at('00:20') + LOCKOUT_MS)]),
      assertProgress('only carol left in state', (p) => expect(op(p).numRowsTotal).toBe(1)),
    ]);
  });

  it('eventTimeColumnName makes the output column the event time of a downstream windowed aggregation', async () => {
    const { input, df: alerts } = loginQuery(LockoutAlerter, { timeMode: 'eventTime', eventTimeColumnName: 'at', outputMode: 'append' }, { watermark: '1 minute' });
    const df = alerts.groupBy(window(col('at'), '10 minutes')).agg(count('*').as('alerts'));
    await testStream(df, { outputMode: 'append' }, [
      addData(input, [
        ...['00:00', '00:10', '00:20'].map((t) => fail('alice', t)),
        ...['01:00', '01:10', '01:20'].map((t) => fail('bob', t)),
      ]),
      checkNewAnswer([]), // [10:00, 10:10) holds the two alerts, open until the watermark reaches 10:10
      assertProgress('two stateful operators', (p) => expect(p.stateOperators.length).toBe(2)),
      // watermark 10:24: both lockout timers fire (10:10:20, 10:11:20) into [10:10, 10:20), and both windows close
      addData(input, [fail('carol', '25:00')]),
      checkNewAnswer([
        { window: win(at('00:00'), at('10:00')), alerts: 2 },
        { window: win(at('10:00'), at('20:00')), alerts: 2 },
      ]),
      assertWatermark(at('24:00')),
    ]);
  });
});

describe('transformWithState: a sessionizer on ListState', () => {
  for (const outputMode of ['append', 'update'] as const) {
    it(`closes a session 30 s after its last click when the watermark passes; a moved timer does not fire (${outputMode})`, async () => {
      const session = new Session();
      const input = new MemoryStream(session, CLICK_SCHEMA);
      const click = (user: string, mmss: string) => ({ user, page: `/${user}/${mmss}`, ts: at(mmss) });
      const sess = (user: string, start: string, last: string, clicks: number) => ({
        user,
        start: new Date(at(start)),
        end: new Date(at(last) + SESSION_GAP_MS),
        clicks,
      });
      const df = input
        .toDF()
        .withWatermark('ts', '10 seconds')
        .groupByKey(col('user'))
        .transformWithState(Sessionizer, { outputSchema: SESSION_SCHEMA, timeMode: 'eventTime', outputMode });
      await testStream(df, { outputMode }, [
        addData(input, [click('u1', '00:00'), click('u1', '00:10'), click('u2', '00:05')]), // timers u1 10:00:40, u2 10:00:35
        checkNewAnswer([]),
        assertWatermark(at('00:00')),
        // u1's click at 10:00:30 moves its timer to 10:01:00; the watermark goes to 10:00:40, past u2's 10:00:35
        addData(input, [click('u1', '00:30'), click('u3', '00:50')]),
        checkNewAnswer([sess('u2', '00:05', '00:05', 1)]),
        assertProgress('u1 (list + timer value) and u3 (list + timer value) left', (p) => expect(op(p).numRowsTotal).toBe(4)),
        addData(input, [click('u3', '02:00')]), // watermark 10:01:50: u1 (10:01:00) closes; u3 moved to 10:02:30
        checkNewAnswer([sess('u1', '00:00', '00:30', 3)]),
        addData(input, [click('u4', '03:00')]), // watermark 10:02:50: u3 closes with both clicks
        checkNewAnswer([sess('u3', '00:50', '02:00', 2)]),
        assertProgress('ListState: one row per key (u4)', (p) => {
          expect(op(p).numRowsTotal).toBe(2);
          expect(custom(p)['numListStateVars']).toBe(1);
        }),
      ]);
    });
  }
});

describe('transformWithState: a top-3 per key on MapState', () => {
  for (const outputMode of ['append', 'update'] as const) {
    it(`keeps each user's best 3 items and emits them for users with new scores; numRowsTotal counts map entries (${outputMode})`, async () => {
      const session = new Session();
      const input = new MemoryStream(session, SCORE_SCHEMA);
      const score = (user: string, item: string, s: number) => ({ user, item, score: s });
      const ranked = (user: string, rank: number, item: string, s: number) => ({ user, rank, item, score: s });
      const df = input.toDF().groupByKey(col('user')).transformWithState(TopThree, { outputSchema: RANKED_SCHEMA, outputMode });
      await testStream(df, { outputMode }, [
        addData(input, [score('a', 'x', 5), score('a', 'y', 3), score('a', 'z', 9), score('a', 'w', 1), score('b', 'x', 2)]),
        checkNewAnswer([ranked('a', 1, 'z', 9), ranked('a', 2, 'x', 5), ranked('a', 3, 'y', 3), ranked('b', 1, 'x', 2)]),
        assertProgress('a: 3 entries (w removed), b: 1', (p) => {
          expect(op(p).numRowsTotal).toBe(4);
          expect(custom(p)['numMapStateVars']).toBe(1);
        }),
        // w comes back above y; x's lower score changes nothing; b has no rows, so no output for b
        addData(input, [score('a', 'w', 4), score('a', 'x', 1)]),
        checkNewAnswer([ranked('a', 1, 'z', 9), ranked('a', 2, 'x', 5), ranked('a', 3, 'w', 4)]),
        assertProgress('still 4 entries', (p) => expect(op(p).numRowsTotal).toBe(4)),
        stopStream(),
        startStream(),
        addData(input, [score('b', 'q', 7), score('b', 'r', 1), score('b', 's', 2)]),
        checkNewAnswer([ranked('b', 1, 'q', 7), ranked('b', 2, 's', 2), ranked('b', 3, 'x', 2)]), // ties by item name; r drops out
        assertProgress('a: 3, b: 3 after the restart', (p) => expect(op(p).numRowsTotal).toBe(6)),
      ]);
    });
  }
});

describe('transformWithState: TTL on a ManualClock', () => {
  const HOUR = 3_600_000;
  it('a value expires in the first batch whose timestamp reaches write time + TTL: it reads as absent and leaves numRowsTotal', async () => {
    const clock = new ManualClock(T0);
    const { input, df } = loginQuery(ExpiringFailedLoginDetector, { timeMode: 'processingTime' }, { clock });
    await testStream(df, { outputMode: 'update', clock }, [
      addData(input, [fail('alice', '00:00'), fail('dave', '00:00')]), // written at T0: expire at T0 + 1 h
      checkNewAnswer([]),
      assertProgress('alice and dave', (p) => {
        expect(p.timestamp).toBe(new Date(T0).toISOString());
        expect(op(p).numRowsTotal).toBe(2);
        expect(custom(p)['numValueStateWithTTLVars']).toBe(1);
      }),
      advanceClock(HOUR / 2),
      addData(input, [fail('bob', '30:00')]), // expires at T0 + 1.5 h
      checkNewAnswer([]),
      advanceClock(HOUR / 2 - 1),
      addData(input, [fail('carol', '59:59')]), // 1 ms before alice's and dave's expiry: both still there
      checkNewAnswer([]),
      assertProgress('four users, nothing expired yet', (p) => {
        expect(op(p).numRowsTotal).toBe(4);
        expect(custom(p)['numValuesRemovedDueToTTLExpiry'] ?? 0).toBe(0);
      }),
      advanceClock(1),
      // At T0 + 1 h alice's old failure reads as absent: two new ones are not three. dave's leaves the state.
      addData(input, [fail('alice', '60:00'), fail('alice', '60:01')]),
      checkNewAnswer([]),
      assertProgress('dave expired and removed; alice rewritten', (p, all) => {
        expect(p.timestamp).toBe(new Date(T0 + HOUR).toISOString());
        expect(op(p).numRowsTotal).toBe(3);
        expect(sumOf(all, (x) => custom(x)['numValuesRemovedDueToTTLExpiry'] ?? 0)).toBeGreaterThanOrEqual(1);
        expect(sumOf(all, (x) => op(x).numRowsRemoved)).toBeGreaterThanOrEqual(1);
      }),
      addData(input, [fail('alice', '60:02')]), // the rewritten count (2) is live
      checkNewAnswer([alert('alice', THREE, at('60:02'))]),
      // T0 + 1.5 h: bob's expiry; a batch runs for it without data and removes him
      advanceClock(HOUR / 2),
      processAllAvailable(),
      assertProgress('bob removed by a no-data batch at his expiry', (p) => {
        expect(p.numInputRows).toBe(0);
        expect(p.timestamp).toBe(new Date(T0 + 1.5 * HOUR).toISOString());
        expect(op(p).numRowsTotal).toBe(1); // carol (expires at T0 + 2 h − 1 ms); alice was cleared by her alert
      }),
    ]);
  });

  it('expired values are gone after a restart too: the TTL is stored with the value', async () => {
    const clock = new ManualClock(T0);
    const { input, df } = loginQuery(ExpiringFailedLoginDetector, { timeMode: 'processingTime' }, { clock });
    await testStream(df, { outputMode: 'append', clock }, [
      addData(input, [fail('alice', '00:00'), fail('alice', '00:01')]),
      checkNewAnswer([]),
      stopStream(),
      advanceClock(HOUR),
      startStream(),
      addData(input, [fail('alice', '60:00')]), // the two old failures expired while the query was down
      checkNewAnswer([]),
      assertProgress('alice holds one fresh failure', (p) => expect(op(p).numRowsTotal).toBe(1)),
    ]);
  });

  it('in eventTime mode a TTL still counts in processing time (a departure from Spark, which refuses it there)', async () => {
    const clock = new ManualClock(T0);
    const { input, df } = loginQuery(ExpiringFailedLoginDetector, { timeMode: 'eventTime' }, { clock, watermark: '1 minute' });
    await testStream(df, { outputMode: 'append', clock }, [
      addData(input, [fail('alice', '00:00'), fail('alice', '00:01')]),
      checkNewAnswer([]),
      advanceClock(HOUR), // event time stands still: only the batch timestamp moves
      addData(input, [fail('alice', '00:02')]),
      checkNewAnswer([]),
      assertProgress('alice holds one fresh failure', (p) => expect(op(p).numRowsTotal).toBe(1)),
    ]);
  });
});

describe('transformWithState: refusals', () => {
  it('complete mode is refused at start, as Spark (no aggregation)', () => {
    const { input, df } = loginQuery(FailedLoginDetector);
    const dir = mkdtempSync(join(tmpdir(), 'sluice-tws-'));
    const start = () => df.writeStream.format('memory').queryName('tws_complete').outputMode('complete').option('checkpointLocation', dir).start();
    expect(start).toThrow(UnsupportedOperationError);
    expect(start).toThrow(/Complete output mode is not supported with transformWithState/);
  });

  it('a processor that throws fails the query with the key, the batch and the handler, and commits nothing for that batch', async () => {
    const checkpoint = mkdtempSync(join(tmpdir(), 'sluice-tws-'));
    const { input, df } = loginQuery(ThrowingDetector);
    await testStream(df, { outputMode: 'append', checkpoint }, [
      addData(input, [fail('alice', '00:01'), fail('alice', '00:02'), fail('alice', '00:03')]),
      checkNewAnswer([alert('alice', THREE, at('00:03'))]),
      addData(input, [fail('bob', '00:04'), fail('mallory', '00:05')]),
      expectFailure(/(?=[\s\S]*mallory)(?=[\s\S]*batch(?:[ _]?id)?:? 1\b)(?=[\s\S]*handleInputRows)(?=[\s\S]*cannot judge this user)/i),
      execute('batch 1 neither committed nor written', (_q, sink) => {
        expect(existsSync(join(checkpoint, 'commits', '0'))).toBe(true);
        expect(existsSync(join(checkpoint, 'commits', '1'))).toBe(false);
        expect([...sink.batches.keys()]).toEqual([0]);
      }),
    ]);
  });

  it("registerTimer in timeMode 'none' fails the query, naming the operation and the mode", async () => {
    const { input, df } = loginQuery(TimerEveryRow, { timeMode: 'none' });
    await testStream(df, { outputMode: 'append' }, [
      addData(input, [fail('alice', '00:01')]),
      expectFailure(/(?=[\s\S]*registerTimer)(?=[\s\S]*'?none'?)/),
    ]);
  });

  it("a TTL in timeMode 'none' is refused (TTL counts in processing time)", async () => {
    const { input, df } = loginQuery(ExpiringFailedLoginDetector, { timeMode: 'none' });
    await testStream(df, { outputMode: 'append' }, [
      addData(input, [fail('alice', '00:01')]),
      expectFailure(/(?=[\s\S]*[Tt][Tt][Ll])(?=[\s\S]*none)/),
    ]);
  });

  it('a row emitted behind the watermark in its eventTimeColumnName fails the query (EMITTING_ROWS_OLDER_THAN_WATERMARK_NOT_ALLOWED)', async () => {
    const { input, df } = loginQuery(BackdatedAlerter, { timeMode: 'eventTime', eventTimeColumnName: 'at' }, { watermark: '1 minute' });
    await testStream(df, { outputMode: 'append' }, [
      addData(input, [fail('alice', '90:00')]), // at 10:30: above the watermark (none yet)
      checkNewAnswer([alert('alice', 'backdated', at('30:00'))]),
      addData(input, [fail('bob', '91:00')]), // at 10:31, behind the watermark of 11:29
      expectFailure(/EMITTING_ROWS_OLDER_THAN_WATERMARK_NOT_ALLOWED/),
    ]);
  });

  it('eventTimeColumnName without a watermark upstream is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-tws-'));
    const start = () =>
      loginQuery(LockoutAlerter, { timeMode: 'eventTime', eventTimeColumnName: 'at' })
        .df.writeStream.format('memory')
        .queryName('tws_no_wm')
        .option('checkpointLocation', dir)
        .start();
    expect(start).toThrow(/needs a watermark on (its|the) input[\s\S]*withWatermark\(column, delay\) before groupByKey\(\)/);
  });
});
