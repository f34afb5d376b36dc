import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { csvOptions, inferCsvSchema, parseCsv } from '../../../connectors/files/csv-reader.js';
import { MalformedRecordError } from '../../../connectors/files/text-options.js';
import { schemaOf } from '../../../engine/types/data-type.js';
import { rowsFromBatch } from '../../../engine/types/values.js';

const text = ['id,ts', '1,0', '1e20,0', '9223372036854775807,0', '9223372036854775808,0', '1.0,0', '-12,9000000000000000', '7,+275760-09-13T00:00:00Z'].join('\n');
const schema = schemaOf({ id: 'long', ts: 'timestamp' });

describe('CSV numbers and timestamps', () => {
  it('a long field is parsed exactly; 1e20, fractions and values beyond int64 are malformed, as timestamps out of range', () => {
    const stats = { rows: 0, malformed: 0, dropped: 0 };
    const batches = parseCsv(text, 'ids.csv', schema, csvOptions({}, 'dropMalformed', 100), stats);
    expect(batches.flatMap((b) => rowsFromBatch(b, schema)).map((r) => r['id'])).toEqual([1, 9223372036854775807n, 7]);
    expect(stats.dropped).toBe(4);
  });

  it('failFast names the file, line, column and value', () => {
    const run = () => parseCsv(text, 'ids.csv', schema, csvOptions({}, 'failFast', 100), { rows: 0, malformed: 0, dropped: 0 });
    expect(run).toThrow(MalformedRecordError);
    expect(run).toThrow(`Malformed CSV in ids.csv line 3, column 'id': field 'id' is "1e20", which is not a long`);
  });

  it('permissive keeps the raw line of an out-of-range value in _corrupt_record', () => {
    const out = schemaOf({ id: 'long', ts: 'timestamp', _corrupt_record: 'string' });
    const batches = parseCsv(text, 'ids.csv', schema, csvOptions({}, 'permissive', 100), { rows: 0, malformed: 0, dropped: 0 });
    const rows = batches.flatMap((b) => rowsFromBatch(b, out));
    expect(rows[1]).toEqual({ id: null, ts: null, _corrupt_record: '1e20,0' });
    expect(rows[5]).toEqual({ id: null, ts: null, _corrupt_record: '-12,9000000000000000' });
  });

  it('infers long only for whole numbers within int64', () => {
    const f = join(mkdtempSync(join(tmpdir(), 'sluice-csv-')), 'a.csv');
    writeFileSync(f, 'a,b,c\n9223372036854775807,9223372036854775808,3000000000\n');
    const inferred = inferCsvSchema([f], csvOptions({}, 'permissive', 100), { samplingRows: 10, inferTypes: true });
    expect(inferred.fields.map((x) => x.type)).toEqual(['long', 'double', 'long']);
  });
});
