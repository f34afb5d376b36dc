import { describe, expect, it } from 'vitest';
import { col, count, fromJson, max, Session, sessionWindow, sum, window, type DataFrame } from '../../../engine/index.js';
import { readColumnsOf } from '../../../engine/planner/prune.js';

const session = new Session({ conf: { parallelism: 1 } });
const events = session.createDataFrame([], { user: 'string', Amount: 'double', ts: 'timestamp', gap: 'long', note: 'string', meta: 'string' });

/** The read columns of each relation of a query, sorted (or 'all'). */
function reads(d: DataFrame): (string[] | 'all')[] {
  return [...readColumnsOf(d.plan).values()].map((r) => (r === 'all' ? 'all' : [...r].sort()));
}

describe('readColumnsOf (column pruning)', () => {
  it('an aggregation reads its keys, window time and aggregate inputs; a filter under it adds its columns', () => {
    const q = events.where(col('note').isNotNull()).groupBy(window(col('ts'), '1 minute'), col('user')).agg(sum('amount').as('s'), count('*').as('n'));
    expect(reads(q)).toEqual([['amount', 'note', 'ts', 'user']]);
  });

  it('a session gap column, a watermark column and dedup keys are read', () => {
    const q = events.withWatermark('ts', '1 minute').dropDuplicates(['user']).groupBy(sessionWindow(col('ts'), col('gap')), col('user')).agg(max('amount').as('m'));
    expect(reads(q)).toEqual([['amount', 'gap', 'ts', 'user']]);
  });

  it('a projection reads what its expressions mention; a struct path reads its top-level column', () => {
    expect(reads(events.select(col('amount').mul(2).as('x'), col('meta')).orderBy(col('x')))).toEqual([['amount', 'meta']]);
    const w = events.groupBy(window(col('ts'), '1 minute')).agg(count('*').as('n')).select(col('window.start'), col('n'));
    expect(reads(w)).toEqual([['ts']]);
  });

  it('`*`, a dedup over all columns and a union\'s inputs read every column', () => {
    expect(reads(events.select('*'))).toEqual(['all']);
    expect(reads(events.dropDuplicates().select('user'))).toEqual(['all']);
    // A union matches columns by position, so its inputs are read whole…
    expect(reads(events.union(events).select('user'))).toEqual(['all']);
    // …down to each input's own projection.
    expect(reads(events.select('user').union(events.select('note')))).toEqual([['note', 'user']]);
  });

  it('a plain relation with nothing above it reads every column', () => {
    expect(reads(events)).toEqual(['all']);
  });
});

describe('readColumnsOf and dead letters', () => {
  it('a projection that parses text (fromJson/fromCsv) reads every column: a bad row goes to the dead-letter output whole', () => {
    const q = events.select(fromJson(col('note'), { a: 'long' }).as('j'));
    expect(reads(q)).toEqual(['all']);
  });

  it('so does a filter that parses text, even under a narrower projection', () => {
    const q = events.where(fromJson(col('note'), { a: 'long' }, { mode: 'dropMalformed' }).isNotNull()).select('user');
    expect(reads(q)).toEqual(['all']);
  });
});
