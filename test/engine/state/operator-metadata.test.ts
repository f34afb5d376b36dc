import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { col, count, MemoryStream, Session, sum } from '../../../engine/index.js';
import { readOperatorMetadata } from '../../../engine/state/operator-metadata.js';

describe("A stateful operator's operator.json", () => {
  it('is written at the first commit of a run and again when the partition count changes', async () => {
    const ckpt = mkdtempSync(join(tmpdir(), 'sluice-opmeta-'));
    const start = async (conf: Record<string, unknown>) => {
      const session = new Session({ conf });
      const stream = new MemoryStream(session, { user: 'string', amount: 'double' });
      const q = stream
        .toDF()
        .groupBy(col('user'))
        .agg(count('*').as('n'), sum('amount').as('s'))
        .writeStream.foreachBatch(async () => {})
        .outputMode('update')
        .option('checkpointLocation', ckpt)
        .start();
      return { stream, q };
    };
    const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ user: `u${i % 7}`, amount: i }));
    const dir = join(ckpt, 'state', '0');
    {
      const { stream, q } = await start({ parallelism: 1 });
      stream.addData(rows(50));
      await q.processAllAvailable();
      await q.stop();
    }
    const m = await readOperatorMetadata(dir);
    expect(m).toMatchObject({ version: 1, operatorName: 'stateStoreSave', kind: 'aggregate', partitions: 1 });
    expect(m!.tables).toEqual([
      {
        name: '',
        keyCount: 1,
        role: 'internal',
        ttlMs: null,
        partitionKeyColumns: [0],
        fields: expect.arrayContaining([expect.objectContaining({ name: 'user' })]),
      },
    ]);
    // The single table is the partition folder itself, as before named tables.
    expect(readdirSync(join(dir, '0')).some((f) => f.endsWith('.delta'))).toBe(true);
    {
      // A new run: its first batch (20 rows, below the threshold) stays inline, the next (60 rows) moves to 2 workers.
      const { stream, q } = await start({ parallelism: 2, parallelThresholdRows: 55, parallelMinRowNs: 0 });
      stream.addData(rows(50)); // processed by the first run: skipped
      stream.addData(rows(20));
      await q.processAllAvailable();
      expect(await readOperatorMetadata(dir)).toMatchObject({ kind: 'aggregate', partitions: 1 });
      stream.addData(rows(60));
      await q.processAllAvailable();
      await q.stop();
    }
    expect(await readOperatorMetadata(dir)).toMatchObject({ kind: 'aggregate', partitions: 2 });
    expect(existsSync(join(dir, '1'))).toBe(true);
  });
});
