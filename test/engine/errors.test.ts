/**
 * Errors users meet first: each test pins the parts of the message that tell them what is wrong and how to fix it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AnalysisError,
  avg,
  col,
  count,
  DurationError,
  lit,
  MalformedRecordError,
  max,
  parseDuration,
  Session,
  sessionWindow,
  sum,
  window,
  WindowDefinitionError,
} from '../../engine/index.js';
import { errorOf } from '../helpers/error-of.js';

const session = new Session();
const df = session.createDataFrame([{ user: 'a', amount: 1.5, ts: 0, flag: true, nested: { a: 1 } }], {
  user: 'string',
  amount: 'double',
  ts: 'timestamp',
  flag: 'boolean',
  nested: { kind: 'struct', fields: [{ name: 'a', type: 'int', nullable: true }] },
});

async function asyncErrorOf(f: () => Promise<unknown>): Promise<Error> {
  try {
    await f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('Unknown columns', () => {
  it('lists the available columns and suggests the closest name', () => {
    const e = errorOf(() => df.select('amout'));
    expect(e).toBeInstanceOf(AnalysisError);
    expect(e.message).toContain("Column 'amout' does not exist");
    expect(e.message).toContain('Available columns: user, amount, ts, flag, nested.');
    expect(e.message).toContain("Did you mean 'amount'?");
  });

  it('fails at the call, in where(), groupBy() and inside an aggregate alike', () => {
    expect(errorOf(() => df.where(col('usr').eq('a'))).message).toMatch(/Column 'usr' does not exist.*Did you mean 'user'\?/);
    expect(errorOf(() => df.groupBy('usr').agg(count('*'))).message).toMatch(/Column 'usr' does not exist.*Did you mean 'user'\?/);
    expect(errorOf(() => df.groupBy('user').agg(sum('amont'))).message).toMatch(/Column 'amont' does not exist.*Did you mean 'amount'\?/);
  });

  it('does not suggest a name that is not close', () => {
    const e = errorOf(() => df.select('zzzzzzzz'));
    expect(e.message).toContain("Column 'zzzzzzzz' does not exist");
    expect(e.message).not.toContain('Did you mean');
  });

  it('names the struct and its fields for an unknown field', () => {
    const e = errorOf(() => df.select('nested.b'));
    expect(e.message).toBe("Field 'b' does not exist in 'nested'. Available fields: a.");
  });
});

describe('Wrong types', () => {
  it('refuses sum and avg of a string, suggesting a cast', () => {
    const e = errorOf(() => df.agg(sum('user')));
    expect(e).toBeInstanceOf(AnalysisError);
    expect(e.message).toContain('sum(user) needs a number, but it is string');
    expect(e.message).toContain(".cast('double')");
    expect(errorOf(() => df.agg(avg('ts'))).message).toContain('avg(ts) needs a number, but it is timestamp');
  });

  it('refuses comparing a string column with a struct', () => {
    const e = errorOf(() => df.where(col('user').eq(col('nested'))));
    expect(e).toBeInstanceOf(AnalysisError);
    expect(e.message).toContain('Cannot compare user (string) with nested (struct<a:int>)');
    const w = df.groupBy(window('ts', '1 minute'), 'user').agg(count('*').as('n'));
    expect(errorOf(() => w.where(col('window').gt(col('user')))).message).toContain(
      'Cannot compare window (struct<start:timestamp,end:timestamp>) with user (string)',
    );
  });

  it('refuses arithmetic on a boolean', () => {
    const e = errorOf(() => df.select(col('flag').plus(1)));
    expect(e).toBeInstanceOf(AnalysisError);
    expect(e.message).toContain("Cannot apply '+' to flag of type boolean: arithmetic needs int, long or double");
    expect(errorOf(() => df.select(col('amount').mul(col('flag')))).message).toContain("Cannot apply '*' to flag of type boolean");
  });

  it('refuses min/max of a struct and not() of a number', () => {
    expect(errorOf(() => df.agg(max('nested'))).message).toContain('max() cannot order struct<a:int> values');
    expect(errorOf(() => df.where(col('amount').not())).message).toContain('not() needs a boolean, but amount is double');
  });

  it('refuses a window over a column that is not a timestamp', () => {
    expect(errorOf(() => df.groupBy(window('user', '1 minute')).agg(count('*'))).message).toContain(
      'window() needs a timestamp column, but user is string',
    );
  });
});

describe('Durations and window definitions', () => {
  it('names an unknown unit', () => {
    const e = errorOf(() => window(col('ts'), '5 parsecs'));
    expect(e).toBeInstanceOf(DurationError);
    expect(e.message).toContain("The window duration '5 parsecs' has an unknown unit 'parsecs'");
    expect(errorOf(() => sessionWindow(col('ts'), '2 parsecs')).message).toContain("unknown unit 'parsecs'");
  });

  it('refuses months and years: they have no fixed length', () => {
    const e = errorOf(() => window(col('ts'), '1 month'));
    expect(e).toBeInstanceOf(DurationError);
    expect(e.message).toContain("'1 month' uses month, which has no fixed length. Use days instead");
    expect(errorOf(() => parseDuration('1 year 2 days')).message).toContain('uses year, which has no fixed length');
  });

  it('refuses text that is not a duration', () => {
    expect(errorOf(() => parseDuration('soon')).message).toContain("Cannot read the duration 'soon'");
    expect(errorOf(() => parseDuration('10 minutes later')).message).toContain("Cannot read the duration '10 minutes later'");
  });

  it('refuses a slide longer than the window', () => {
    const e = errorOf(() => window(col('ts'), '1 minute', '2 minutes'));
    expect(e).toBeInstanceOf(WindowDefinitionError);
    expect(e.message).toBe('The slide duration (2 minutes) must be less than or equal to the window duration (1 minute).');
  });

  it('refuses a start time whose absolute value is not below the slide', () => {
    expect(errorOf(() => window(col('ts'), '10 minutes', '5 minutes', '5 minutes')).message).toBe(
      'The absolute value of the start time (5 minutes) must be less than the slide duration (5 minutes).',
    );
    expect(errorOf(() => window(col('ts'), '10 minutes', '5 minutes', '-6 minutes')).message).toContain(
      'The absolute value of the start time (-6 minutes) must be less than the slide duration',
    );
    expect(() => window(col('ts'), '10 minutes', '5 minutes', '-4 minutes')).not.toThrow();
  });

  it('refuses empty windows and gaps', () => {
    expect(errorOf(() => window(col('ts'), '0 seconds')).message).toContain('The window duration (0 seconds) must be greater than 0.');
    expect(errorOf(() => sessionWindow(col('ts'), '0 seconds')).message).toContain('The session gap (0 seconds) must be greater than 0.');
  });

  it('refuses two windows in one groupBy', () => {
    expect(errorOf(() => df.groupBy(window('ts', '1 minute'), sessionWindow('ts', '1 minute')).agg(count('*'))).message).toContain(
      'would result in a cartesian product',
    );
  });
});

describe('Malformed input files', () => {
  let dir: string;
  const schema = { user: 'string', amount: 'double', ts: 'timestamp' } as const;
  const good = (rows: Record<string, unknown>[]) => rows.filter((r) => r['_corrupt_record'] === null || r['_corrupt_record'] === undefined);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-errors-'));
    writeFileSync(
      join(dir, 'types.jsonl'),
      [
        '{"user":"a","amount":1.5,"ts":"2026-01-01T00:00:00Z"}',
        '{"user":"b","amount":"lots","ts":"2026-01-01T00:00:01Z"}',
        '',
        '{"user":"d","amount":2,"ts":"2026-01-01T00:00:02Z"}',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'syntax.jsonl'), ['{"user":"a","amount":1,"ts":0}', '{"user":"c",', '[1,2]'].join('\n'));
    writeFileSync(join(dir, 'types.csv'), ['user,amount,ts', 'a,1.5,2026-01-01T00:00:00Z', 'b,lots,2026-01-01T00:00:01Z', 'd,2,2026-01-01T00:00:02Z'].join('\n'));
    writeFileSync(join(dir, 'fields.csv'), ['user,amount,ts', 'a,1.5,2026-01-01T00:00:00Z', 'c,2', 'd,2,2026-01-01T00:00:02Z,extra'].join('\n'));
    writeFileSync(join(dir, 'quote.csv'), ['user,amount,ts', '"a,1.5,2026-01-01T00:00:00Z', 'f,5,2026-01-01T00:00:03Z', ''].join('\n'));
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const read = (format: 'jsonl' | 'csv', file: string, mode: string) =>
    session.read.format(format).schema(schema).option('mode', mode).load(join(dir, file));

  it('failFast names the file, the line and the column of a JSON value of the wrong type', async () => {
    const e = (await asyncErrorOf(() => read('jsonl', 'types.jsonl', 'failFast').collect())) as MalformedRecordError;
    expect(e).toBeInstanceOf(MalformedRecordError);
    expect(e.file).toBe(join(dir, 'types.jsonl'));
    expect(e.line).toBe(2);
    expect(e.column).toBe('amount');
    expect(e.message).toContain(`Malformed JSON in ${join(dir, 'types.jsonl')} line 2, column 'amount'`);
    expect(e.message).toContain(`field 'amount' has "lots", which is not a double`);
    expect(e.message).toContain("'permissive'");
  });

  it('failFast names the line and character of invalid JSON', async () => {
    const e = (await asyncErrorOf(() => read('jsonl', 'syntax.jsonl', 'failFast').collect())) as MalformedRecordError;
    expect(e.line).toBe(2);
    expect(e.column).toBeNull();
    expect(e.message).toMatch(/line 2: invalid JSON at character \d+/);
  });

  it('permissive keeps the raw line in _corrupt_record and nulls elsewhere (JSON)', async () => {
    const rows = await read('jsonl', 'types.jsonl', 'permissive').collect();
    expect(rows).toEqual([
      { user: 'a', amount: 1.5, ts: new Date('2026-01-01T00:00:00Z'), _corrupt_record: null },
      { user: null, amount: null, ts: null, _corrupt_record: '{"user":"b","amount":"lots","ts":"2026-01-01T00:00:01Z"}' },
      { user: 'd', amount: 2, ts: new Date('2026-01-01T00:00:02Z'), _corrupt_record: null },
    ]);
    const syntax = await read('jsonl', 'syntax.jsonl', 'permissive').collect();
    expect(syntax.map((r) => r['_corrupt_record'])).toEqual([null, '{"user":"c",', '[1,2]']);
  });

  it('dropMalformed drops malformed lines (JSON)', async () => {
    const rows = await read('jsonl', 'types.jsonl', 'dropMalformed').collect();
    expect(rows.map((r) => r['user'])).toEqual(['a', 'd']);
    expect(Object.keys(rows[0]!)).toEqual(['user', 'amount', 'ts']);
  });

  it('failFast names the file, the line and the column of a CSV value of the wrong type', async () => {
    const e = (await asyncErrorOf(() => read('csv', 'types.csv', 'failFast').collect())) as MalformedRecordError;
    expect(e).toBeInstanceOf(MalformedRecordError);
    expect([e.file, e.line, e.column]).toEqual([join(dir, 'types.csv'), 3, 'amount']);
    expect(e.message).toContain(`Malformed CSV in ${join(dir, 'types.csv')} line 3, column 'amount': field 'amount' is "lots", which is not a double`);
  });

  it('permissive and dropMalformed on CSV', async () => {
    const rows = await read('csv', 'types.csv', 'permissive').collect();
    expect(rows[1]).toEqual({ user: null, amount: null, ts: null, _corrupt_record: 'b,lots,2026-01-01T00:00:01Z' });
    expect(good(rows).map((r) => r['user'])).toEqual(['a', 'd']);
    expect((await read('csv', 'types.csv', 'dropMalformed').collect()).map((r) => r['user'])).toEqual(['a', 'd']);
  });

  it('a CSV record with too few or too many fields is malformed', async () => {
    const e = (await asyncErrorOf(() => read('csv', 'fields.csv', 'failFast').collect())) as MalformedRecordError;
    expect(e.line).toBe(3);
    expect(e.message).toContain('line 3: it has 2 fields, the schema has 3 (user, amount, ts)');
    const rows = await read('csv', 'fields.csv', 'permissive').collect();
    expect(rows.map((r) => r['_corrupt_record'])).toEqual([null, 'c,2', 'd,2,2026-01-01T00:00:02Z,extra']);
  });

  it('an unterminated quote makes its own line malformed and reading resumes at the next line', async () => {
    const e = (await asyncErrorOf(() => read('csv', 'quote.csv', 'failFast').collect())) as MalformedRecordError;
    expect(e.line).toBe(2);
    expect(e.message).toContain("line 2, column 'user': the quote opened at character 1 is not closed at the end of the line");
    const rows = await read('csv', 'quote.csv', 'permissive').collect();
    expect(rows).toEqual([
      { user: null, amount: null, ts: null, _corrupt_record: '"a,1.5,2026-01-01T00:00:00Z' },
      { user: 'f', amount: 5, ts: new Date('2026-01-01T00:00:03Z'), _corrupt_record: null },
    ]);
  });

  it('an unknown mode is refused', () => {
    expect(errorOf(() => read('jsonl', 'types.jsonl', 'lenient')).message).toContain(
      "Unknown mode 'lenient': use 'permissive', 'dropMalformed' or 'failFast'.",
    );
  });

  it('malformed rows never reach an aggregation', async () => {
    const rows = await read('jsonl', 'types.jsonl', 'permissive')
      .where(col('_corrupt_record').isNull())
      .groupBy(window('ts', '1 minute'))
      .agg(count('*').as('n'), sum('amount').as('s'), max(lit(1)).as('one'))
      .collect();
    expect(rows).toEqual([{ window: { start: new Date('2026-01-01T00:00:00Z'), end: new Date('2026-01-01T00:01:00Z') }, n: 2, s: 3.5, one: 1 }]);
  });
});
