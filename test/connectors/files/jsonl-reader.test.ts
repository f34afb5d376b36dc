import { describe, expect, it } from 'vitest';
import { parseJsonLines, quoteBigIntegers } from '../../../connectors/files/jsonl-reader.js';
import { schemaOf } from '../../../engine/types/data-type.js';
import { rowsFromBatch } from '../../../engine/types/values.js';

describe('JSON Lines reader', () => {
  it('quotes integers of 16+ digits outside strings only', () => {
    expect(quoteBigIntegers('{"a":9007199254740993,"b":"9007199254740993","c":[-12345678901234567,1.5e300,12]}')).toBe(
      '{"a":"9007199254740993","b":"9007199254740993","c":["-12345678901234567",1.5e300,12]}',
    );
    expect(quoteBigIntegers('{"s":"say \\"1234567890123456\\"","x":1234567890123456.5}')).toBe('{"s":"say \\"1234567890123456\\"","x":1234567890123456.5}');
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
});
