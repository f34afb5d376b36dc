import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inferJsonSchema, parseJsonLines } from '../../../connectors/files/jsonl-reader.js';
import { MalformedRecordError } from '../../../connectors/files/text-options.js';
import { quoteBigNumbers } from '../../../engine/types/json-numbers.js';
import { schemaOf } from '../../../engine/types/data-type.js';
import { rowsFromBatch } from '../../../engine/types/values.js';

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
  const read = (mode: 'permissive' | 'dropMalformed' | 'failFast') => {
    const stats = { rows: 0, malformed: 0, dropped: 0 };
    const batches = parseJsonLines(longs, 'ids.jsonl', schema, { mode, batchSize: 100 }, stats);
    const out = schemaOf({ id: 'long', ...(mode === 'permissive' ? { _corrupt_record: 'string' } : {}) });
    return { rows: batches.flatMap((b) => rowsFromBatch(b, out)), stats };
  };

  it('a long never wraps or rounds: out of int64, fractions and inexact numbers are malformed (permissive)', () => {
    const { rows, stats } = read('permissive');
    expect(rows.map((r) => r['id'])).toEqual([1, null, null, null, null, null, null, 1000000000000000000n, null, 9223372036854775807n]);
    expect(rows[1]!['_corrupt_record']).toBe('{"id":1e20}');
    expect(rows[6]!['_corrupt_record']).toBe('{"id":12345678901234567.5}');
    expect(stats.malformed).toBe(7);
  });

  it('dropMalformed drops and counts the same rows; failFast names the file, line, column and value', () => {
    const { rows, stats } = read('dropMalformed');
    expect(rows.map((r) => r['id'])).toEqual([1, 1000000000000000000n, 9223372036854775807n]);
    expect(stats.dropped).toBe(7);
    expect(() => read('failFast')).toThrow(MalformedRecordError);
    expect(() => read('failFast')).toThrow("Malformed JSON in ids.jsonl line 2, column 'id': field 'id' has 100000000000000000000");
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
