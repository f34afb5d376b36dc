import { describe, expect, it } from 'vitest';
import { col, count, Session, sessionWindow, toDate, upper, window } from '../../../engine/index.js';
import { BackfillUnsupportedError, datesIn, findTimePartition, inputTimeRange, partitionPredicate, widenToDays } from '../../../engine/cli/backfill/backfill-plan.js';
import { ORDERS_DIR, ROOT } from '../helpers.js';

const t = (s: string) => Date.parse(s);

describe('backfill plan', () => {
  const session = new Session();
  const events = session.read.format('jsonl').schema({ user: 'string', amount: 'double', ts: 'timestamp' }).load(ORDERS_DIR);
  const perWindow = events.groupBy(window(col('ts'), '5 minutes'), col('user')).agg(count('*').as('n'));

  it('widens a range to whole UTC days, and keeps an aligned one', () => {
    expect(widenToDays({ fromMs: t('2026-05-30T10:00Z'), toMs: t('2026-05-30T12:00Z') })).toEqual({ fromMs: t('2026-05-30T00:00Z'), toMs: t('2026-05-31T00:00Z') });
    expect(widenToDays({ fromMs: t('2026-05-29T00:00Z'), toMs: t('2026-05-31T00:00Z') })).toEqual({ fromMs: t('2026-05-29T00:00Z'), toMs: t('2026-05-31T00:00Z') });
    expect(widenToDays({ fromMs: t('2026-05-29T23:59Z'), toMs: t('2026-05-30T00:01Z') })).toEqual({ fromMs: t('2026-05-29T00:00Z'), toMs: t('2026-05-31T00:00Z') });
    // before 1970: floor, not truncation
    expect(widenToDays({ fromMs: t('1969-12-31T10:00Z'), toMs: t('1969-12-31T11:00Z') })).toEqual({ fromMs: t('1969-12-31T00:00Z'), toMs: t('1970-01-01T00:00Z') });
  });

  it('lists the partitions and the replaceWhere predicate of a range', () => {
    const r = { fromMs: t('2026-05-29T00:00Z'), toMs: t('2026-05-31T00:00Z') };
    expect(datesIn(r)).toEqual(['2026-05-29', '2026-05-30']);
    expect(partitionPredicate('date', r)).toEqual({ date: { gte: '2026-05-29', lt: '2026-05-31' } });
  });

  it('finds the date partition derived from the window start', () => {
    const tp = findTimePartition(perWindow.withColumn('date', toDate(col('window.start'))).plan, ['date']);
    expect(tp).toMatchObject({ kind: 'window', column: 'date', windowColumn: 'window', window: { kind: 'window', sizeMs: 300_000 } });
    // through a rename and with another partition column first
    const renamed = perWindow.withColumn('day', toDate(col('window.start'))).withColumnRenamed('day', 'date').withColumn('u', upper(col('user')));
    expect(findTimePartition(renamed.plan, ['u', 'date'])).toMatchObject({ kind: 'window', column: 'date' });
    const sessions = events.groupBy(sessionWindow('ts', '1 minute'), col('user')).agg(count('*').as('n')).withColumn('date', toDate(col('session_window.start')));
    expect(findTimePartition(sessions.plan, ['date'])).toMatchObject({ kind: 'window', windowColumn: 'session_window', window: { kind: 'sessionWindow' } });
  });

  it('finds the date of the event time in a query without aggregation', () => {
    expect(findTimePartition(events.withColumn('date', toDate(col('ts'))).plan, ['date'])).toEqual({ kind: 'eventTime', column: 'date' });
  });

  it('refuses partitions it cannot map to an event-time range, and says what to do', () => {
    expect(() => findTimePartition(perWindow.plan, [])).toThrow(/the sink is not partitioned/);
    expect(() => findTimePartition(perWindow.plan, ['user'])).toThrow(/'user' is a grouping key/);
    expect(() => findTimePartition(perWindow.withColumn('date', toDate(col('window.end'))).plan, ['date'])).toThrow(/use the window's start/);
    expect(() => findTimePartition(perWindow.withColumn('date', upper(col('user'))).plan, ['date'])).toThrow(BackfillUnsupportedError);
  });

  it('reads a window size past the range end so every window starting in it is complete', () => {
    const r = { fromMs: t('2026-05-30T00:00Z'), toMs: t('2026-05-31T00:00Z') };
    const tp = findTimePartition(perWindow.withColumn('date', toDate(col('window.start'))).plan, ['date']);
    expect(inputTimeRange(tp, r)).toEqual({ fromMs: r.fromMs, toMs: r.toMs + 300_000 });
    const sessions = events.groupBy(sessionWindow('ts', '1 minute')).agg(count('*').as('n')).withColumn('date', toDate(col('session_window.start')));
    expect(inputTimeRange(findTimePartition(sessions.plan, ['date']), r)).toBeNull();
  });
});
