import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inferJsonSchema, parseJsonLines, type JsonReadOptions } from '../../../connectors/files/jsonl-reader.js';
import { CORRUPT_RECORD, MalformedRecordError, outputSchema, type ReadStats } from '../../../connectors/files/text-options.js';
import { quoteBigNumbers } from '../../../engine/types/json-numbers.js';
import { Session } from '../../../engine/index.js';
import { schemaOf, type Schema } from '../../../engine/types/data-type.js';
import { rowsFromBatch } from '../../../engine/types/values.js';

function read(text: string, schema: Schema, opts: JsonReadOptions): { rows: Record<string, unknown>[]; stats: ReadStats } {
  const stats: ReadStats = { rows: 0, malformed: 0, dropped: 0 };
  const out = outputSchema(schema, opts.mode, CORRUPT_RECORD);
  return { rows: parseJsonLines(text, 'mem.jsonl', schema, opts, stats).flatMap((b) => rowsFromBatch(b, out)), stats };
}

function failure(text: string, schema: Schema, opts: Omit<JsonReadOptions, 'mode'> = { batchSize: 100 }): MalformedRecordError {
  try {
    read(text, schema, { ...opts, mode: 'failFast' });
  } catch (e) {
    return e as MalformedRecordError;
  }
  throw new Error('expected a MalformedRecordError');
}

/** A line whose field `b` nests `depth` − 1 arrays (the line's depth is `depth`). */
const nested = (depth: number) => `{"a":"x","b":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;

describe('JSON Lines reader', () => {
  it('quotes number tokens of 16+ digits (fraction and all) outside strings only', () => {
    expect(quoteBigNumbers('{"a":9007199254740993,"b":"9007199254740993","c":[-12345678901234567,1.5e300,12]}')).toBe(
      '{"a":"9007199254740993","b":"9007199254740993","c":["-12345678901234567",1.5e300,12]}',
    );
    expect(quoteBigNumbers('{"s":"say \\"1234567890123456\\"","x":1234567890123456.5,"y":1.234567890123456e3}')).toBe(
      '{"s":"say \\"1234567890123456\\"","x":"1234567890123456.5","y":"1.234567890123456e3"}',
    );
  });

  it('reads longs beyond 2^53 exactly (JSON.parse alone would round them)', () => {
    const schema = schemaOf({ id: 'long', d: 'double', s: 'string' });
    const text = '{"id":9007199254740993,"d":12345678901234567,"s":"x"}\n{"id":-9223372036854775808,"d":1,"s":"9007199254740993"}\n';
    const stats = { rows: 0, malformed: 0, dropped: 0 };
    const [batch] = parseJsonLines(text, 'mem.jsonl', schema, { mode: 'failFast', batchSize: 100 }, stats);
    expect(rowsFromBatch(batch!, schema)).toEqual([
      { id: 9007199254740993n, d: 12345678901234568, s: 'x' },
      { id: -9223372036854775808n, d: 1, s: '9007199254740993' },
    ]);
  });

  it('skips a byte-order mark and lines of JSON whitespace only; lines blank only to trim() are malformed', () => {
    const schema = schemaOf({ a: 'long' });
    const text = '\uFEFF{"a":1}\n \t\r\n\n\u00A0\n\uFEFF\n\u2028\n\f\n{"a":2}\r\n';
    const { rows, stats } = read(text, schema, { mode: 'permissive', batchSize: 100 });
    expect(rows).toEqual([
      { a: 1, _corrupt_record: null },
      { a: null, _corrupt_record: '\u00A0' },
      { a: null, _corrupt_record: '\uFEFF' },
      { a: null, _corrupt_record: '\u2028' },
      { a: null, _corrupt_record: '\f' },
      { a: 2, _corrupt_record: null },
    ]);
    expect(stats).toEqual({ rows: 6, malformed: 4, dropped: 0 });
    expect(read(text, schema, { mode: 'dropMalformed', batchSize: 100 }).stats).toEqual({ rows: 2, malformed: 4, dropped: 4 });
    const e = failure(text, schema);
    expect(e.line).toBe(4);
    expect(e.message).toMatch(/^Malformed JSON in mem\.jsonl line 4: invalid JSON/);
  });

  it('a line nested deeper than maxNestingDepth (default 1000, as Spark) is malformed, whatever the stack size', () => {
    const schema = schemaOf({ a: 'string', b: 'string' });
    const text = [nested(1000), nested(1001), nested(50_000), '{"a":"y","b":"[1]"}'].join('\n');
    const { rows, stats } = read(text, schema, { mode: 'permissive', batchSize: 100 });
    expect(rows.map((r) => [r['a'], r['_corrupt_record'] === null])).toEqual([
      ['x', true],
      [null, false],
      [null, false],
      ['y', true],
    ]);
    expect(String(rows[0]!['b']).length).toBe(2 * 999);
    expect(stats.malformed).toBe(2);
    const e = failure(text, schema);
    expect([e.line, e.column]).toEqual([2, null]);
    expect(e.message).toContain(
      "line 2: objects and arrays are nested more than 1000 deep (the limit; raise it with .option('maxNestingDepth', …))",
    );
    expect(failure(nested(6), schema, { batchSize: 100, maxNestingDepth: 5 }).message).toContain('nested more than 5 deep');
  });

  it('a bound raised past what the stack allows still makes a malformed row, not a crash', () => {
    const schema = schemaOf({ a: 'string', b: 'string' });
    const e = failure(nested(100_000), schema, { batchSize: 100, maxNestingDepth: 1_000_000 });
    expect([e.line, e.column]).toEqual([1, 'b']);
    expect(e.message).toContain("field 'b' has a value nested too deep to print (lower maxNestingDepth), which is not a string");
  });

  describe('through session.read', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'sluice-jsonl-'));
      writeFileSync(join(dir, 'deep.jsonl'), ['\uFEFF{"a":"y","b":"s"}', nested(100_000), '\u00A0'].join('\n'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('infers the schema past a deep line and reads it as malformed, with the bound as an option', async () => {
      const session = new Session();
      const rows = await session.read.format('jsonl').load(join(dir, 'deep.jsonl')).collect();
      expect(rows.map((r) => [r['a'], r['b'], r['_corrupt_record'] === null])).toEqual([
        ['y', 's', true],
        [null, null, false],
        [null, null, false],
      ]);
      const raised = session.read.format('jsonl').option('maxNestingDepth', '1000000').option('mode', 'dropMalformed');
      expect((await raised.load(join(dir, 'deep.jsonl')).collect()).map((r) => r['a'])).toEqual(['y']);
    });
  });

  const longs = [
    '{"id":1}',
    '{"id":1e20}',
    '{"id":1.5}',
    '{"id":99999999999999999999}',
    '{"id":9223372036854775808}',
    '{"id":-9223372036854775809}',
    '{"id":12345678901234567.5}',
    '{"id":1e18}',
    '{"id":"1e3"}',
    '{"id":9223372036854775807}',
  ].join('\n');
  const schema = schemaOf({ id: 'long' });
  const readLongs = (mode: 'permissive' | 'dropMalformed' | 'failFast') => {
    const stats = { rows: 0, malformed: 0, dropped: 0 };
    const batches = parseJsonLines(longs, 'ids.jsonl', schema, { mode, batchSize: 100 }, stats);
    const out = schemaOf({ id: 'long', ...(mode === 'permissive' ? { _corrupt_record: 'string' } : {}) });
    return { rows: batches.flatMap((b) => rowsFromBatch(b, out)), stats };
  };

  it('a long never wraps or rounds: out of int64, fractions and inexact numbers are malformed (permissive)', () => {
    const { rows, stats } = readLongs('permissive');
    expect(rows.map((r) => r['id'])).toEqual([1, null, null, null, null, null, null, 1000000000000000000n, null, 9223372036854775807n]);
    expect(rows[1]!['_corrupt_record']).toBe('{"id":1e20}');
    expect(rows[6]!['_corrupt_record']).toBe('{"id":12345678901234567.5}');
    expect(stats.malformed).toBe(7);
  });

  it('dropMalformed drops and counts the same rows; failFast names the file, line, column and value', () => {
    const { rows, stats } = readLongs('dropMalformed');
    expect(rows.map((r) => r['id'])).toEqual([1, 1000000000000000000n, 9223372036854775807n]);
    expect(stats.dropped).toBe(7);
    expect(() => readLongs('failFast')).toThrow(MalformedRecordError);
    expect(() => readLongs('failFast')).toThrow("Malformed JSON in ids.jsonl line 2, column 'id': field 'id' has 100000000000000000000");
  });

  it('an int column refuses values beyond int32 and fractions', () => {
    const stats = { rows: 0, malformed: 0, dropped: 0 };
    const text = '{"n":2147483647}\n{"n":2147483648}\n{"n":-2.5}\n{"n":"12"}\n';
    const [b] = parseJsonLines(text, 'n.jsonl', schemaOf({ n: 'int' }), { mode: 'dropMalformed', batchSize: 100 }, stats);
    expect(rowsFromBatch(b!, schemaOf({ n: 'int' })).map((r) => r['n'])).toEqual([2147483647, 12]);
    expect(stats.dropped).toBe(2);
  });

  it('a double column reads quoted big tokens as the nearest double, a string column as written', () => {
    const s2 = schemaOf({ d: 'double', s: 'string' });
    const stats = { rows: 0, malformed: 0, dropped: 0 };
    const [b] = parseJsonLines('{"d":12345678901234567.5,"s":12345678901234567.5}\n', 'd.jsonl', s2, { mode: 'failFast', batchSize: 10 }, stats);
    expect(rowsFromBatch(b!, s2)).toEqual([{ d: 12345678901234567.5, s: '12345678901234567.5' }]);
  });

  it('timestamps outside a Date\'s range are malformed, as epoch ms and as ISO text', () => {
    const s2 = schemaOf({ ts: 'timestamp' });
    const stats = { rows: 0, malformed: 0, dropped: 0 };
    const text = ['{"ts":8640000000000000}', '{"ts":8640000000000001}', '{"ts":-9e15}', '{"ts":"+275760-09-13T00:00:00Z"}', '{"ts":"+275760-09-13T00:00:00.001Z"}', '{"ts":"275760-09-13T00:00:00-01:00"}'].join('\n');
    const [b] = parseJsonLines(text, 't.jsonl', s2, { mode: 'dropMalformed', batchSize: 10 }, stats);
    expect(rowsFromBatch(b!, s2).map((r) => (r['ts'] as Date).getTime())).toEqual([8.64e15, 8.64e15]);
    expect(stats.dropped).toBe(4);
  });

  it('dates beyond ±1e8 days are malformed, as a number of days and as text', () => {
    const s2 = schemaOf({ d: 'date' });
    const stats = { rows: 0, malformed: 0, dropped: 0 };
    const text = ['{"d":100000000}', '{"d":100000001}', '{"d":-2147483648}', '{"d":"+275760-09-13"}', '{"d":"+275760-09-14"}'].join('\n');
    const [b] = parseJsonLines(text, 't.jsonl', s2, { mode: 'dropMalformed', batchSize: 10 }, stats);
    expect(rowsFromBatch(b!, s2).map((r) => r['d'])).toEqual(['+275760-09-13', '+275760-09-13']);
    expect(stats.dropped).toBe(3);
    expect(() => parseJsonLines(text, 't.jsonl', s2, { mode: 'failFast', batchSize: 10 }, stats)).toThrow(/t\.jsonl line 2/);
  });

  it('infers long only for whole numbers that fit int64, exactly', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-jsonl-'));
    const f = join(dir, 'a.jsonl');
    writeFileSync(f, '{"a":9007199254740993,"b":1e20,"c":99999999999999999999,"d":12345678901234567.5,"e":3}\n');
    const inferred = inferJsonSchema([f], { samplingRows: 10, inferTimestamp: true });
    expect(inferred.fields.map((x) => [x.name, x.type])).toEqual([
      ['a', 'long'],
      ['b', 'double'],
      ['c', 'double'],
      ['d', 'double'],
      ['e', 'long'],
    ]);
  });
});
