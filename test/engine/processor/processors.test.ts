import { describe, expect, it } from 'vitest';
import { TwsTester } from '../../../engine/testing/tws-tester.js';
import {
  ALERT_SCHEMA,
  CLICK_SCHEMA,
  FailedLoginDetector,
  LOCKOUT_MS,
  LockoutAlerter,
  LOGIN_SCHEMA,
  SCORE_SCHEMA,
  SESSION_GAP_MS,
  SESSION_SCHEMA,
  Sessionizer,
  TOP_SCHEMA,
  TopThree,
} from './processors.js';

const fail = (ts: number) => ({ success: false, ts: new Date(ts) });
const ok = (ts: number) => ({ success: true, ts: new Date(ts) });

describe('failed-login detector (value state)', () => {
  const tester = () =>
    new TwsTester(FailedLoginDetector, { inputSchema: LOGIN_SCHEMA, keyColumns: ['user'], outputSchema: ALERT_SCHEMA, timeMode: 'processingTime' });

  it('alerts on the third failure in a row, across batches, per user', () => {
    const t = tester();
    expect(t.test('alice', [fail(1), fail(2)])).toEqual([]);
    expect(t.peekValueState('fails', 'alice')).toBe(2);
    expect(t.testRows([{ user: 'bob', ...fail(3) }, { user: 'alice', ...fail(4) }])).toEqual([{ user: 'alice', reason: '3 failed logins', at: new Date(4) }]);
    expect(t.peekValueState('fails', 'alice')).toBeUndefined();
    expect(t.peekValueState('fails', 'bob')).toBe(1);
  });

  it('a success resets the count', () => {
    const t = tester();
    expect(t.test('alice', [fail(1), fail(2), ok(3), fail(4), fail(5)])).toEqual([]);
    expect(t.peekValueState('fails', 'alice')).toBe(2);
    expect(t.test('alice', [fail(6)])).toEqual([{ user: 'alice', reason: '3 failed logins', at: new Date(6) }]);
  });

  it('setValueState seeds the count', () => {
    const t = tester();
    t.setValueState('fails', 'carol', 2);
    expect(t.test('carol', [fail(1)])).toHaveLength(1);
  });

  it('the 1-hour TTL forgets old failures', () => {
    const t = tester();
    t.test('alice', [fail(1), fail(2)]);
    t.advanceProcessingTime(3_600_000);
    expect(t.test('alice', [fail(3)])).toEqual([]);
    expect(t.peekValueState('fails', 'alice')).toBe(1);
  });
});

describe('lockout alerter (event-time timer)', () => {
  const tester = () =>
    new TwsTester(LockoutAlerter, {
      inputSchema: LOGIN_SCHEMA,
      keyColumns: ['user'],
      outputSchema: ALERT_SCHEMA,
      timeMode: 'eventTime',
      eventTimeColumn: 'ts',
    });
  const T0 = 1_000_000;

  it('alerts once the watermark passes 10 minutes after the lockout', () => {
    const t = tester();
    expect(t.test('alice', [fail(T0), fail(T0 + 1), fail(T0 + 2)])).toEqual([{ user: 'alice', reason: 'locked', at: new Date(T0 + 2) }]);
    expect(t.listTimers('alice')).toEqual([T0 + 2 + LOCKOUT_MS]);
    t.setWatermark(T0 + 2 + LOCKOUT_MS - 1);
    expect(t.fireTimers()).toEqual([]);
    t.setWatermark(T0 + 2 + LOCKOUT_MS);
    expect(t.fireTimers()).toEqual([{ user: 'alice', reason: 'locked out 10 minutes', at: new Date(T0 + 2 + LOCKOUT_MS) }]);
    expect(t.listTimers('alice')).toEqual([]);
    expect(t.lastMetrics?.custom?.numExpiredTimers).toBe(1);
    expect(t.fireTimers()).toEqual([]);
  });

  it('unlocking deletes the timer', () => {
    const t = tester();
    t.test('bob', [fail(T0), fail(T0 + 1), fail(T0 + 2)]);
    t.test('bob', [ok(T0 + 5)]);
    expect(t.listTimers('bob')).toEqual([]);
    expect(t.lastMetrics?.custom?.numDeletedTimers).toBe(1);
    t.setWatermark(T0 + 2 * LOCKOUT_MS);
    expect(t.fireTimers()).toEqual([]);
  });

  it('does not fire a processing-time clock: only the watermark counts', () => {
    const t = tester();
    t.test('carol', [fail(T0), fail(T0 + 1), fail(T0 + 2)]);
    t.advanceProcessingTime(T0 * 10);
    expect(t.fireTimers()).toEqual([]);
    expect(t.lastMetrics?.nextWatermarkDueMs).toBe(T0 + 2 + LOCKOUT_MS);
  });
});

describe('sessionizer (list state, processing-time timer)', () => {
  it('closes a session 30 s after its last click, with its pages in order', () => {
    const t = new TwsTester(Sessionizer, { inputSchema: CLICK_SCHEMA, keyColumns: ['user'], outputSchema: SESSION_SCHEMA, timeMode: 'processingTime' });
    t.setProcessingTime(1_000);
    t.test('u1', [
      { page: 'a', at: new Date(1) },
      { page: 'b', at: new Date(2) },
    ]);
    t.setProcessingTime(20_000);
    t.testRows([
      { user: 'u1', page: 'c', at: new Date(3) },
      { user: 'u2', page: 'x', at: new Date(4) },
    ]);
    expect(t.peekListState('clicks', 'u1')).toEqual([
      { page: 'a', at: new Date(1) },
      { page: 'b', at: new Date(2) },
      { page: 'c', at: new Date(3) },
    ]);
    expect(t.listTimers('u1')).toEqual([20_000 + SESSION_GAP_MS]);
    expect(t.lastMetrics?.nextDueMs).toBe(20_000 + SESSION_GAP_MS);
    t.setProcessingTime(20_000 + SESSION_GAP_MS - 1);
    expect(t.fireTimers()).toEqual([]);
    t.setProcessingTime(20_000 + SESSION_GAP_MS);
    const out = t.fireTimers();
    expect(out).toEqual([
      { user: 'u1', pages: ['a', 'b', 'c'], clicks: 3 },
      { user: 'u2', pages: ['x'], clicks: 1 },
    ]);
    expect(t.peekListState('clicks', 'u1')).toEqual([]);
    expect(t.lastMetrics?.numRowsTotal).toBe(0);
  });
});

describe('top-3 per key (map state)', () => {
  it('keeps the 3 best items per category', () => {
    const t = new TwsTester(TopThree, { inputSchema: SCORE_SCHEMA, keyColumns: ['category'], outputSchema: TOP_SCHEMA, timeMode: 'none', outputMode: 'update' });
    t.test('books', [
      { item: 'a', score: 1 },
      { item: 'b', score: 5 },
      { item: 'c', score: 3 },
    ]);
    const out = t.testRows([
      { category: 'books', item: 'd', score: 4 },
      { category: 'books', item: 'a', score: 0.5 },
      { category: 'toys', item: 'z', score: 9 },
    ]);
    expect(out).toEqual([
      { category: 'books', rank: 1, item: 'b', score: 5 },
      { category: 'books', rank: 2, item: 'd', score: 4 },
      { category: 'books', rank: 3, item: 'c', score: 3 },
      { category: 'toys', rank: 1, item: 'z', score: 9 },
    ]);
    expect(t.peekMapState('best', 'books')).toEqual(new Map([['b', 5], ['c', 3], ['d', 4]]));
    // Map state counts one row per entry.
    expect(t.lastMetrics?.numRowsTotal).toBe(4);
    expect(t.lastMetrics?.custom?.numMapStateVars).toBe(1);
  });
});

describe('TwsTester with a key of two columns', () => {
  it('test(key, rows) fills both key columns and peeks by { col: value }', async () => {
    const { StatefulProcessor } = await import('../../../engine/api/stateful-processor.js');
    class PerPair extends StatefulProcessor<{ a: string; b: number }, { a: string; b: number; x: number }> {
      private sum!: import('../../../engine/api/stateful-processor.js').ValueState<number>;
      init(h: import('../../../engine/api/stateful-processor.js').StatefulProcessorHandle): void {
        this.sum = h.getValueState('sum', 'double');
      }
      handleInputRows(key: { a: string; b: number }, rows: Iterable<{ a: string; b: number; x: number }>): Record<string, unknown>[] {
        let s = this.sum.get() ?? 0;
        for (const r of rows) s += r.x;
        this.sum.update(s);
        return [{ a: key.a, b: key.b, sum: s }];
      }
    }
    const t = new TwsTester(PerPair, { inputSchema: { a: 'string', b: 'int', x: 'double' }, keyColumns: ['a', 'b'], outputSchema: { a: 'string', b: 'int', sum: 'double' } });
    expect(t.test({ a: 'p', b: 1 }, [{ x: 1.5 }, { x: 2 }])).toEqual([{ a: 'p', b: 1, sum: 3.5 }]);
    expect(t.peekValueState('sum', { a: 'p', b: 1 })).toBe(3.5);
    expect(t.peekValueState('sum', { a: 'p', b: 2 })).toBeUndefined();
  });
});
