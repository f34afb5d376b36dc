import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { col, count, MemoryStream, Session, sum, window } from '../../../engine/index.js';
import { DeltaTableNotFoundError } from '../../../connectors/lakehouse/index.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'sluice-delta-fmt-'));

describe("format('delta') through the session API", () => {
  it('df.write then session.read, with versionAsOf and partitions', async () => {
    const session = new Session();
    const path = join(tmp(), 't');
    const rows = [
      { day: '2026-05-30', user: 'a', amount: 1.5 },
      { day: '2026-05-31', user: 'b', amount: 2 },
    ];
    const df = session.createDataFrame(rows, { day: 'date', user: 'string', amount: 'double' });
    await df.write.format('delta').partitionBy('day').save(path);
    await df.where(col('user').eq('a')).write.format('delta').mode('append').save(path);
    const all = await session.read.format('delta').load(path).orderBy('user').collect();
    expect(all).toEqual([
      { day: '2026-05-30', user: 'a', amount: 1.5 },
      { day: '2026-05-30', user: 'a', amount: 1.5 },
      { day: '2026-05-31', user: 'b', amount: 2 },
    ]);
    expect(await session.read.format('delta').option('versionAsOf', 0).load(path).count()).toBe(2);
    await expect(df.write.format('delta').save(path)).rejects.toThrow(/already exists|errorIfExists/i);
  });

  it('a read decodes only the columns the query uses, partition columns included, with the answer of a full read', async () => {
    const session = new Session();
    const path = join(tmp(), 'wide');
    const rows = Array.from({ length: 500 }, (_, i) => ({ day: `2026-05-${10 + (i % 3)}`, user: `u${i % 7}`, amount: i / 4, note: `n${i}`, id: i }));
    await session.createDataFrame(rows, { day: 'date', user: 'string', amount: 'double', note: 'string', id: 'long' }).write.format('delta').partitionBy('day').save(path);
    const t = () => session.read.format('delta').load(path);
    const q = (d: ReturnType<typeof t>) => d.where(col('id').gt(10)).groupBy('day', 'user').agg(sum('amount').as('s'), count('*').as('n')).orderBy('day', 'user');
    const scan = q(t()).explain({ print: false }).split('\n').find((l) => l.includes('DeltaScan'))!;
    expect(scan).toMatch(/\] reads \[day, user, amount, id\]$/);
    const want = await q(session.createDataFrame(rows, { day: 'date', user: 'string', amount: 'double', note: 'string', id: 'long' })).collect();
    expect(await q(t()).collect()).toEqual(want);
    expect(await t().count()).toBe(500);
    expect(await t().select('note').where(col('note').eq('n499')).collect()).toEqual([{ note: 'n499' }]);
  });

  it('a streaming windowed aggregation appends each batch once (txn per batch id) and a table feeds another query', async () => {
    const session = new Session();
    const input = new MemoryStream(session, { user: 'string', amount: 'double', ts: 'timestamp' });
    const path = join(tmp(), 'agg');
    const ckpt = tmp();
    const q = input
      .toDF()
      .withWatermark('ts', '0 seconds')
      .groupBy(window(col('ts'), '10 seconds'), col('user'))
      .agg(count('*').as('n'), sum('amount').as('total'))
      .writeStream.format('delta')
      .outputMode('append')
      .option('checkpointLocation', ckpt)
      .start(path);
    input.addData([
      { user: 'a', amount: 1, ts: 1000 },
      { user: 'a', amount: 2, ts: 2000 },
    ]);
    await q.processAllAvailable();
    input.addData([{ user: 'b', amount: 5, ts: 25_000 }]);
    await q.processAllAvailable();
    await q.stop();
    const out = await session.read.format('delta').load(path).collect();
    expect(out).toEqual([{ window: { start: new Date(0), end: new Date(10_000) }, user: 'a', n: 2, total: 3 }]);
    // The table as a streaming source.
    const q2 = session.readStream.format('delta').load(path).writeStream.format('memory').queryName('tail').trigger({ availableNow: true }).start();
    await q2.awaitTermination();
    expect((await session.table('tail').collect()).length).toBe(1);
  });

  it('refuses a stream on a table folder that does not exist, naming the path and the fix', () => {
    const dir = tmp();
    const missing = join(dir, 'nope');
    const session = new Session();
    expect(() => session.readStream.format('delta').load(missing)).toThrow(DeltaTableNotFoundError);
    expect(() => session.readStream.format('delta').load(missing)).toThrow(`Delta table '${missing}' does not exist`);
    expect(() => session.readStream.format('delta').load(missing)).toThrow(/create the table first/);
    // A folder that exists but holds no table says so.
    expect(() => session.readStream.format('delta').load(dir)).toThrow(`${dir} is not a Delta table (no _delta_log folder)`);
  });
});
