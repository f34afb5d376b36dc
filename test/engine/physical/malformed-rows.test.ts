import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { coalesce, col, fromCsv, fromJson, lit, MemoryStream, Session, struct, toJson, when, type Column, type DataFrame } from '../../../engine/index.js';

const schema = { k: 'long', v: 'string' } as const;
const rows = [
  { k: 1, v: '{"a":1}' },
  { k: 2, v: 'not json' },
  { k: 3, v: '{"a":"x"}' },
  { k: 4, v: '{"a":4}' },
];
const drop = () => fromJson(col('v'), { a: 'long' }, { mode: 'dropMalformed' });
const failFast = () => fromJson(col('v'), { a: 'long' }, { mode: 'failFast' });

/** Batch result of a query and the number of rows it reported as unparsable. */
async function run(df: DataFrame): Promise<{ rows: Record<string, unknown>[]; dead: number }> {
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  const out = await df.collect();
  const msg = warn.mock.calls.map((c) => String(c[0])).join('\n');
  const m = /(\d+) row\(s\) could not be parsed/.exec(msg);
  return { rows: out, dead: m ? Number(m[1]) : 0 };
}

afterEach(() => vi.restoreAllMocks());

describe('fromJson/fromCsv modes wherever the parse sits (batch)', () => {
  const df = () => new Session().createDataFrame(rows, schema);
  const nested: [string, (c: Column) => Column][] = [
    ['getField', (c) => c.getField('a')],
    ['coalesce', (c) => coalesce(c, struct(lit(0).cast('long').as('a'))).getField('a')],
    ['struct', (c) => struct(c.as('j'), col('k'))],
    ['toJson', (c) => toJson(c)],
    ['isNotNull', (c) => c.isNotNull()],
    ['when (branch taken on every row)', (c) => when(col('k').gt(0), c.getField('a')).otherwise(lit(null))],
  ];

  for (const [name, wrap] of nested) {
    it(`dropMalformed inside ${name} drops and counts the malformed rows`, async () => {
      const { rows: out, dead } = await run(df().select(col('k'), wrap(drop()).as('x')));
      expect(out.map((r) => r['k'])).toEqual([1, 4]);
      expect(dead).toBe(2);
    });
  }

  it('failFast inside getField and coalesce fails naming the row and its text', async () => {
    await expect(df().select(failFast().getField('a').as('a')).collect()).rejects.toThrow('Malformed JSON in row 1: "not json" does not match a: long');
    await expect(df().select(coalesce(failFast(), struct(lit(0).cast('long').as('a'))).as('s')).collect()).rejects.toThrow(/Malformed JSON in row 1/);
  });

  it('a parse under an untaken when branch or a later coalesce argument is not evaluated there (as Spark)', async () => {
    // Only rows 1 and 4 take the branch; both parse. Rows 2 and 3 are malformed but never parsed.
    const taken = when(col('k').isin(1, 4), failFast().getField('a')).otherwise(lit(-1).cast('long'));
    expect((await run(df().select(taken.as('a')))).rows.map((r) => r['a'])).toEqual([1, -1, -1, 4]);
    const dropped = when(col('k').eq(2), drop().getField('a')).otherwise(lit(-1).cast('long'));
    const r = await run(df().select(col('k'), dropped.as('a')));
    expect(r.rows.map((x) => x['k'])).toEqual([1, 3, 4]);
    expect(r.dead).toBe(1);
    // coalesce reaches its second argument only where the first is null: rows 2 and 3.
    const second = coalesce(fromJson(col('v'), { a: 'long' }), drop());
    const c = await run(df().select(col('k'), second.as('s')));
    expect(c.rows.map((x) => x['k'])).toEqual([1, 4]);
    expect(c.dead).toBe(2); // rows 2 and 3, each once though both parses failed on them
  });

  it('in a filter, dropMalformed drops rows the predicate would keep, and failFast fails', async () => {
    const kept = await run(df().where(drop().isNull().or(col('k').gt(0))).select('k'));
    expect(kept.rows.map((r) => r['k'])).toEqual([1, 4]);
    expect(kept.dead).toBe(2);
    await expect(df().where(failFast().getField('a').gt(0)).collect()).rejects.toThrow(/Malformed JSON in row 1/);
  });

  it('fromCsv nested the same way', async () => {
    const csv = new Session().createDataFrame([{ line: '1,x' }, { line: 'y,2' }], { line: 'string' });
    const { rows: out, dead } = await run(csv.select(fromCsv(col('line'), { n: 'int', s: 'string' }, { mode: 'dropMalformed' }).getField('n').as('n')));
    expect(out).toEqual([{ n: 1 }]);
    expect(dead).toBe(1);
  });

  it('refuses to drop where no operator can: a dropMalformed parse in a groupBy key', async () => {
    await expect(df().groupBy(drop().getField('a').as('a')).count().collect()).rejects.toThrow(
      /fromJson\(…, \{ mode: 'dropMalformed' \}\) cannot drop row 1 here/,
    );
  });
});

describe('fromJson modes wherever the parse sits (streaming, dead-letter files)', () => {
  it('nested dropMalformed rows are dropped, written to deadLetterPath and counted in progress', async () => {
    const session = new Session();
    const input = new MemoryStream(session, schema);
    const dead = mkdtempSync(join(tmpdir(), 'sluice-dead-'));
    const q = input
      .toDF()
      .where(col('k').gt(0))
      .select(col('k'), coalesce(drop().getField('a'), lit(0).cast('long')).as('a'), toJson(struct(drop().as('j'))).as('json'))
      .writeStream.format('memory')
      .queryName('nested')
      .option('deadLetterPath', dead)
      .start();
    input.addData(rows);
    await q.processAllAvailable();
    await q.stop();
    expect(await session.table('nested').collect()).toEqual([
      { k: 1, a: 1, json: '{"j":{"a":1}}' },
      { k: 4, a: 4, json: '{"j":{"a":4}}' },
    ]);
    expect(q.lastProgress!.numDeadLetterRows).toBe(2);
    const lines = readFileSync(join(dead, 'batch-00000.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.k, l.v])).toEqual([
      [2, 'not json'],
      [3, '{"a":"x"}'],
    ]);
    expect(lines[0]._error).toBe("malformed input for fromJson() in column 'a'");
  });
});
