import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DateDay, Field, makeData, RecordBatch, Schema, Struct, Table, tableToIPC, TimestampMillisecond } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { Session } from '../../../engine/index.js';
import { SchemaError } from '../../../engine/types/data-type.js';

function batchOf(ms: bigint[]): RecordBatch {
  const schema = new Schema([new Field('ts', new TimestampMillisecond('UTC'), true)]);
  const ts = makeData({ type: new TimestampMillisecond('UTC'), length: ms.length, data: new BigInt64Array(ms) });
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: ms.length, nullCount: 0, children: [ts] }));
}

describe('Arrow files', () => {
  it('a timestamp outside a Date\'s range names the file and its row in the file, not "not an Arrow file"', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sluice-arrow-')), 'far.arrow');
    writeFileSync(file, tableToIPC(new Table([batchOf([0n, 1n]), batchOf([2n, 9_000_000_000_000_000n])]), 'file'));
    const read = new Session().read.format('arrow').load(file).collect();
    await expect(read).rejects.toThrow(SchemaError);
    await expect(new Session().read.format('arrow').load(file).collect()).rejects.toThrow(
      `In '${file}': Column 'ts', row 3: the timestamp 9000000000000000 ms is outside the range of sluice timestamps`,
    );
  });

  it('a date beyond ±1e8 days names the file and its row in the file', async () => {
    const days = (d: number[]): RecordBatch => {
      const schema = new Schema([new Field('d', new DateDay(), true)]);
      const col = makeData({ type: new DateDay(), length: d.length, data: new Int32Array(d) });
      return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: d.length, nullCount: 0, children: [col] }));
    };
    const file = join(mkdtempSync(join(tmpdir(), 'sluice-arrow-')), 'far-date.arrow');
    writeFileSync(file, tableToIPC(new Table([days([0, 1]), days([100_000_000, 2_000_000_000])]), 'file'));
    await expect(new Session().read.format('arrow').load(file).collect()).rejects.toThrow(
      `In '${file}': Column 'd', row 3: the date 2000000000 days is outside the range of sluice dates (±1e8 days`,
    );
  });
});

