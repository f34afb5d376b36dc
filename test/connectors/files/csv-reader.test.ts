import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvOptions, csvRecords, parseCsv } from '../../../connectors/files/csv-reader.js';
import { CORRUPT_RECORD, MalformedRecordError, outputSchema, type ParseMode, type ReadStats } from '../../../connectors/files/text-options.js';
import { schemaOf } from '../../../engine/types/data-type.js';
import { rowsFromBatch } from '../../../engine/types/values.js';
import { Session } from '../../../engine/index.js';

const schema = schemaOf({ id: 'int', note: 'string', n: 'int' });

function read(text: string, mode: ParseMode, extra: Record<string, string> = {}): { rows: Record<string, unknown>[]; stats: ReadStats } {
  const stats: ReadStats = { rows: 0, malformed: 0, dropped: 0 };
  const o = csvOptions(extra, mode, 100);
  const batches = parseCsv(text, 'mem.csv', schema, o, stats);
  const out = outputSchema(schema, mode, CORRUPT_RECORD);
  const rows = batches.flatMap((b) => rowsFromBatch(b, out));
  return { rows, stats };
}

function failure(text: string, extra: Record<string, string> = {}): MalformedRecordError {
  try {
    read(text, 'failFast', extra);
  } catch (e) {
    return e as MalformedRecordError;
  }
  throw new Error('expected a MalformedRecordError');
}

describe('CSV reader', () => {
  // Line 2 leaves a quote open; line 3 has a quoted field whose opening quote used to close line 2's, merging both.
  const unbalanced = 'id,note,n\n1,"abc,2\n3,"x",4\n5,y,6\n';

  it('without multiLine, a quote left open at the end of a line makes that line malformed and the next is read on its own', () => {
    const { rows, stats } = read(unbalanced, 'permissive');
    expect(rows).toEqual([
      { id: null, note: null, n: null, _corrupt_record: '1,"abc,2' },
      { id: 3, note: 'x', n: 4, _corrupt_record: null },
      { id: 5, note: 'y', n: 6, _corrupt_record: null },
    ]);
    expect(stats).toEqual({ rows: 3, malformed: 1, dropped: 0 });
    const dropped = read(unbalanced, 'dropMalformed');
    expect(dropped.rows.map((r) => r['id'])).toEqual([3, 5]);
    expect(dropped.stats).toEqual({ rows: 2, malformed: 1, dropped: 1 });
  });

  it('failFast names the file, line and column of the open quote', () => {
    const e = failure(unbalanced);
    expect(e).toBeInstanceOf(MalformedRecordError);
    expect([e.file, e.line, e.column]).toEqual(['mem.csv', 2, 'note']);
    expect(e.message).toContain(
      "Malformed CSV in mem.csv line 2, column 'note': the quote opened at character 3 is not closed at the end of the line " +
        "(for records that span lines, set .option('multiLine', 'true'))",
    );
  });

  it('with multiLine, quoted fields hold line breaks and later line numbers stay right', () => {
    const text = 'id,note,n\r\n1,"two\r\nlines",2\r\n3,"three\nmore\nlines",4\n5,x\n7,y,8\n';
    const { rows } = read(text, 'permissive', { multiLine: 'true' });
    expect(rows.map((r) => [r['id'], r['note'], r['_corrupt_record']])).toEqual([
      [1, 'two\r\nlines', null],
      [3, 'three\nmore\nlines', null],
      [null, null, '5,x'],
      [7, 'y', null],
    ]);
    const e = failure(text, { multiLine: 'true' });
    expect(e.line).toBe(7);
    expect(e.message).toContain('line 7: it has 2 fields, the schema has 3');
  });

  it('with multiLine, a quote open at the end of the file names the line its record starts on; reading resumes after it', () => {
    const text = 'id,note,n\n1,a,2\n3,"open,4\n5,b,6\n';
    const { rows, stats } = read(text, 'permissive', { multiLine: 'true' });
    expect(rows.map((r) => [r['id'], r['_corrupt_record']])).toEqual([
      [1, null],
      [null, '3,"open,4'],
      [5, null],
    ]);
    expect(stats.malformed).toBe(1);
    const e = failure(text, { multiLine: 'true' });
    expect([e.line, e.column]).toEqual([3, 'note']);
    expect(e.message).toContain("line 3, column 'note': the quote opened at character 3 is not closed before the end of the file");
  });

  it('reads doubled quotes as one quote and refuses text after a closing quote', () => {
    const { rows } = read('id,note,n\n1,"say ""hi""",2\n3,"ab"c,4\n', 'permissive');
    expect(rows.map((r) => [r['note'], r['_corrupt_record']])).toEqual([
      ['say "hi"', null],
      [null, '3,"ab"c,4'],
    ]);
    const e = failure('id,note,n\n3,"ab"c,4\n');
    expect([e.line, e.column]).toEqual([2, 'note']);
    expect(e.message).toContain("line 2, column 'note': text follows the closing quote of a field (\"c\" at character 7)");
  });

  it('skips a byte-order mark and blank lines of spaces and tabs; other whitespace-only lines are malformed', () => {
    const text = '\uFEFF1,a,2\n   \n\t\n\n\u00A0\n\f\n3,b,4\n';
    const { rows, stats } = read(text, 'permissive', { header: 'false' });
    expect(rows.map((r) => [r['id'], r['_corrupt_record']])).toEqual([
      [1, null],
      [null, '\u00A0'],
      [null, '\f'],
      [3, null],
    ]);
    expect(stats.malformed).toBe(2);
    expect([...csvRecords('\uFEFFid,x\n', { delimiter: ',', quote: '"', escape: '"', comment: null })][0]!.fields).toEqual(['id', 'x']);
  });

  describe('through session.read', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'sluice-csv-'));
      writeFileSync(join(dir, 'multi.csv'), 'id,note,n\n1,"a\nb",2\n3,c,4\n');
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('takes the multiLine option and refuses a value that is not a boolean', async () => {
      const session = new Session();
      const load = (v: string | null) => {
        const r = session.read.format('csv').schema({ id: 'int', note: 'string', n: 'int' });
        return (v === null ? r : r.option('multiLine', v)).load(join(dir, 'multi.csv'));
      };
      expect((await load('true').collect()).map((r) => r['note'])).toEqual(['a\nb', 'c']);
      expect((await load(null).collect()).map((r) => r['_corrupt_record'])).toEqual(['1,"a', 'b",2', null]);
      await expect(async () => load('yes').collect()).rejects.toThrow("Option 'multiLine' must be 'true' or 'false', got 'yes'.");
    });
  });
});
