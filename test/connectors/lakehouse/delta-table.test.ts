import { mkdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schemaOf } from '../../../engine/types/data-type.js';
import { batchFromRows } from '../../../engine/types/values.js';
import {
  DeltaPredicateError,
  DeltaProtocolError,
  DeltaSchemaMismatchError,
  DeltaTable,
  DeltaTableExistsError,
  DeltaVacuumError,
} from '../../../connectors/lakehouse/index.js';
import { EVENTS, commitActions, dataFilesOnDisk, eventBatch, readRows, tempDir } from './helpers.js';

let root: string;
let cleanup: () => Promise<void>;
let n = 0;
const fresh = (): string => join(root, `t${n++}`);
const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir());
});
afterAll(async () => cleanup());

describe('DeltaTable writes', () => {
  it('appends in new versions and reads older versions with versionAsOf', async () => {
    const t = DeltaTable.forPath(fresh());
    expect(await t.version()).toBe(-1);
    expect(await t.write([eventBatch([1, 2])])).toMatchObject({ version: 0, skipped: false, filesAdded: 1, rowsWritten: 2 });
    expect(await t.write([eventBatch([3])])).toMatchObject({ version: 1 });
    expect((await readRows(t)).map((r) => r.id)).toEqual([1, 2, 3]);
    expect((await readRows(t, { versionAsOf: 0 })).map((r) => r.id)).toEqual([1, 2]);
    expect(await t.files(0)).toHaveLength(1);
    expect(await t.files()).toHaveLength(2);
  });

  it('overwrites the whole table in one commit, removing every live file', async () => {
    const path = fresh();
    const t = DeltaTable.forPath(path);
    await t.write([eventBatch([1, 2], '2026-05-30'), eventBatch([3], '2026-05-31')], { partitionBy: ['date'] });
    const before = await t.files();
    const r = await t.write([eventBatch([9], '2026-06-01')], { mode: 'overwrite' });
    expect(r).toMatchObject({ version: 1, filesAdded: 1, filesRemoved: 2 });
    expect((await readRows(t)).map((x) => x.id)).toEqual([9]);
    const actions = await commitActions(path, 1);
    const removes = actions.filter((a) => a.remove).map((a) => a.remove);
    expect(removes.map((x) => x.path).sort()).toEqual(before.map((f) => f.replace(/%/g, '%25')).sort());
    expect(removes[0]).toMatchObject({ dataChange: true, extendedFileMetadata: true, partitionValues: { date: expect.any(String) } });
    expect(typeof removes[0].deletionTimestamp).toBe('number');
    expect(actions[0]!.commitInfo.operationParameters.mode).toBe('Overwrite');
    expect((await readRows(t, { versionAsOf: 0 })).map((x) => x.id)).toEqual([1, 2, 3]);
  });

  it('honours errorIfExists and ignore', async () => {
    const t = DeltaTable.forPath(fresh());
    await t.write([eventBatch([1])], { mode: 'errorIfExists' });
    await expect(t.write([eventBatch([2])], { mode: 'errorIfExists' })).rejects.toThrow(DeltaTableExistsError);
    expect(await t.write([eventBatch([2])], { mode: 'ignore' })).toMatchObject({ skipped: true, version: null });
    expect((await readRows(t)).map((r) => r.id)).toEqual([1]);
  });

  it('creates, ensures and refuses a different partitioning', async () => {
    const t = DeltaTable.forPath(fresh());
    const schema = EVENTS;
    expect(await t.create(schema, { partitionBy: ['date'] })).toMatchObject({ version: 0 });
    await expect(t.create(schema)).rejects.toThrow(DeltaTableExistsError);
    await t.ensure(schema, { partitionBy: ['date'] });
    await expect(t.ensure(schema, { partitionBy: [] })).rejects.toThrow(/partitioned by \[date\]/);
    await expect(t.write([eventBatch([1])], { partitionBy: ['user'] })).rejects.toThrow(DeltaSchemaMismatchError);
    await t.write([eventBatch([1])]);
    expect((await t.files())[0]).toMatch(/^date=2026-05-30\//);
    expect((await t.history()).map((h) => h.operation)).toEqual(['WRITE', 'CREATE TABLE']);
  });

  it('refuses bad partition columns', async () => {
    const t = DeltaTable.forPath(fresh());
    await expect(t.write([eventBatch([1])], { partitionBy: ['nope'] })).rejects.toThrow(/partition column 'nope' is not a column/);
    const all = schemaOf({ date: 'date' });
    await expect(DeltaTable.forPath(fresh()).create(all, { partitionBy: ['date'] })).rejects.toThrow(/keep at least one data column/);
  });

  it('splits files by maxRecordsPerFile and numbers them', async () => {
    const t = DeltaTable.forPath(fresh());
    const r = await t.write([eventBatch(range(0, 25))], { maxRecordsPerFile: 10, compression: 'zstd' });
    expect(r.filesAdded).toBe(3);
    const files = await t.files();
    expect(files.map((f) => f.slice(0, 10)).sort()).toEqual(['part-00000', 'part-00001', 'part-00002']);
    expect(files.every((f) => f.endsWith('.zstd.parquet'))).toBe(true);
    expect((await readRows(t)).map((x) => x.id)).toEqual(range(0, 25));
  });

  it('overwrites with a new schema only when asked (overwriteSchema)', async () => {
    const t = DeltaTable.forPath(fresh());
    await t.write([eventBatch([1])]);
    const { batchFromRows } = await import('../../../engine/types/values.js');
    const other = batchFromRows([{ k: 'a' }], schemaOf({ k: 'string' }));
    await expect(t.write([other], { mode: 'overwrite' })).rejects.toThrow(DeltaSchemaMismatchError);
    await t.write([other], { mode: 'overwrite', overwriteSchema: true });
    expect(await readRows(t, {}, 'k')).toEqual([{ k: 'a' }]);
    expect((await readRows(t, { versionAsOf: 0 })).map((r) => r.id)).toEqual([1]);
  });

  it('refuses to overwrite an append-only table', async () => {
    const t = DeltaTable.forPath(fresh());
    await t.write([eventBatch([1])], { configuration: { 'delta.appendOnly': 'true' } });
    await t.write([eventBatch([2])]);
    await expect(t.write([eventBatch([3])], { mode: 'overwrite' })).rejects.toThrow(DeltaProtocolError);
  });
});

describe('replaceWhere', () => {
  it('replaces exactly the matching partitions; other partitions keep the same files', async () => {
    const path = fresh();
    const t = DeltaTable.forPath(path);
    await t.write(
      [eventBatch([1, 2], '2026-05-29'), eventBatch([3, 4], '2026-05-30'), eventBatch([5], '2026-05-31')],
      { partitionBy: ['date'] },
    );
    const before = await t.files();
    const r = await t.write([eventBatch([30, 31, 32], '2026-05-30')], { mode: 'overwrite', replaceWhere: { date: { eq: '2026-05-30' } } });
    expect(r).toMatchObject({ version: 1, filesAdded: 1, filesRemoved: 1 });
    const after = await t.files();
    expect(after.filter((f) => !f.startsWith('date=2026-05-30/'))).toEqual(before.filter((f) => !f.startsWith('date=2026-05-30/')));
    expect(after.filter((f) => f.startsWith('date=2026-05-30/'))).not.toEqual(before.filter((f) => f.startsWith('date=2026-05-30/')));
    expect((await readRows(t)).map((x) => x.id)).toEqual([1, 2, 5, 30, 31, 32]);
    const info = (await commitActions(path, 1))[0]!.commitInfo;
    expect(info.operationParameters.predicate).toBe(JSON.stringify(["date = '2026-05-30'"]));
  });

  it('takes ranges and IN lists, and replaces partitions that get no new rows', async () => {
    const t = DeltaTable.forPath(fresh());
    await t.write([eventBatch([1], '2026-05-01'), eventBatch([2], '2026-05-15'), eventBatch([3], '2026-06-01')], { partitionBy: ['date'] });
    await t.write([eventBatch([20], '2026-05-20')], { mode: 'overwrite', replaceWhere: { date: { gte: '2026-05-01', lt: '2026-06-01' } } });
    expect((await readRows(t)).map((x) => x.id)).toEqual([3, 20]);
    await t.write([eventBatch([4], '2026-06-01')], { mode: 'overwrite', replaceWhere: { date: { in: ['2026-06-01', '2026-07-01'] } } });
    expect((await readRows(t)).map((x) => x.id)).toEqual([4, 20]);
  });

  it('refuses new rows outside the predicate, naming how many and the first', async () => {
    const t = DeltaTable.forPath(fresh());
    await t.write([eventBatch([1], '2026-05-30')], { partitionBy: ['date'] });
    const err = await t
      .write([eventBatch([2], '2026-05-30'), eventBatch([3, 4], '2026-05-31')], { mode: 'overwrite', replaceWhere: { date: { eq: '2026-05-30' } } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeltaPredicateError);
    expect((err as Error).message).toMatch(/2 new row\(s\) do not match it \(first: date='2026-05-31'\)/);
    expect(await t.version()).toBe(0);
    expect(await dataFilesOnDisk(t.path)).toHaveLength(1);
  });

  it('names a string partition value that starts with U+FEFF with its mark', async () => {
    const schema = schemaOf({ id: 'long', region: 'string' });
    const t = DeltaTable.forPath(fresh());
    await t.write([batchFromRows([{ id: 1, region: 'eu' }], schema)], { partitionBy: ['region'] });
    const err = await t
      .write([batchFromRows([{ id: 2, region: '\uFEFFeu' }], schema)], { mode: 'overwrite', replaceWhere: { region: { eq: 'eu' } } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeltaPredicateError);
    expect((err as Error).message).toContain('1 new row(s) do not match it (first: region="\uFEFFeu")');
  });

  it('refuses predicates on data columns, unknown operators, functions, and replaceWhere without overwrite', async () => {
    const t = DeltaTable.forPath(fresh());
    await t.write([eventBatch([1])], { partitionBy: ['date'] });
    await expect(t.write([eventBatch([1])], { mode: 'overwrite', replaceWhere: { user: { eq: 'u1' } } })).rejects.toThrow(
      /names column 'user', which is a data column; replaceWhere works on partition columns only \(date\)/,
    );
    await expect(t.write([eventBatch([1])], { mode: 'overwrite', replaceWhere: { date: { like: 'x' } as never } })).rejects.toThrow(/unknown operator\(s\) like/);
    await expect(t.write([eventBatch([1])], { mode: 'overwrite', replaceWhere: (() => true) as never })).rejects.toThrow(/must be JSON/);
    await expect(t.write([eventBatch([1])], { mode: 'append', replaceWhere: { date: { eq: '2026-05-30' } } })).rejects.toThrow(/needs mode 'overwrite'/);
    await expect(t.write([eventBatch([1])], { mode: 'overwrite', replaceWhere: { date: { eq: 'not a date' } } })).rejects.toThrow(/not a valid date/);
  });

  it('deletes whole partitions', async () => {
    const path = fresh();
    const t = DeltaTable.forPath(path);
    await t.write([eventBatch([1], '2026-05-30'), eventBatch([2], '2026-05-31')], { partitionBy: ['date'] });
    expect(await t.delete({ where: { date: { lt: '2026-05-31' } } })).toMatchObject({ version: 1, filesRemoved: 1 });
    expect((await readRows(t)).map((x) => x.id)).toEqual([2]);
    expect((await commitActions(path, 1))[0]!.commitInfo.operation).toBe('DELETE');
  });
});

describe('optimize', () => {
  it('compacts small files per partition without changing rows', async () => {
    const path = fresh();
    const t = DeltaTable.forPath(path);
    for (let i = 0; i < 4; i++) await t.write([eventBatch([i * 2, i * 2 + 1], '2026-05-30'), eventBatch([100 + i], '2026-05-31')], { partitionBy: ['date'] });
    await t.write([eventBatch([200], '2026-06-01')]);
    const rowsBefore = await readRows(t);
    expect(await t.files()).toHaveLength(9);
    const r = await t.optimize();
    expect(r).toMatchObject({ version: 5, filesRemoved: 8, filesAdded: 2, partitionsOptimized: 2 });
    expect(await t.files()).toHaveLength(3);
    expect(await readRows(t)).toEqual(rowsBefore);
    const actions = await commitActions(path, 5);
    expect(actions[0]!.commitInfo.operation).toBe('OPTIMIZE');
    expect(actions.filter((a) => a.remove).every((a) => a.remove.dataChange === false)).toBe(true);
    const adds = actions.filter((a) => a.add).map((a) => a.add);
    expect(adds.every((a) => a.dataChange === false)).toBe(true);
    expect(adds.map((a) => JSON.parse(a.stats).numRecords).sort()).toEqual([4, 8]);
    expect(await t.optimize()).toMatchObject({ version: null, filesRemoved: 0 });
  });

  it('only touches partitions matching where', async () => {
    const t = DeltaTable.forPath(fresh());
    for (let i = 0; i < 2; i++) await t.write([eventBatch([i], '2026-05-30'), eventBatch([10 + i], '2026-05-31')], { partitionBy: ['date'] });
    const r = await t.optimize({ where: { date: { eq: '2026-05-31' } } });
    expect(r).toMatchObject({ filesRemoved: 2, filesAdded: 1 });
    const files = await t.files();
    expect(files.filter((f) => f.startsWith('date=2026-05-30/'))).toHaveLength(2);
    expect(files.filter((f) => f.startsWith('date=2026-05-31/'))).toHaveLength(1);
  });
});

describe('vacuum', () => {
  it('refuses a retention under 168 hours unless forced', async () => {
    const t = DeltaTable.forPath(fresh());
    await t.write([eventBatch([1])]);
    await expect(t.vacuum({ retentionHours: 1 })).rejects.toThrow(DeltaVacuumError);
    await expect(t.vacuum({ retentionHours: 1 })).rejects.toThrow(/Pass \{ force: true \}/);
  });

  it('removes only files no version within the retention references, never live ones', async () => {
    const path = fresh();
    const t = DeltaTable.forPath(path);
    await t.write([eventBatch([1], '2026-05-30'), eventBatch([2], '2026-05-31')], { partitionBy: ['date'] });
    const old = await t.files();
    await t.write([eventBatch([3], '2026-05-30')], { mode: 'overwrite', replaceWhere: { date: { eq: '2026-05-30' } } });
    // A stray file of a write that never committed, and Spark-style hidden files that must be left alone.
    const stray = 'date=2026-05-30/part-00000-00000000-0000-0000-0000-000000000000.snappy.parquet';
    await writeFile(join(path, stray), 'PAR1');
    await writeFile(join(path, '_SUCCESS'), '');
    await mkdir(join(path, '_delta_log', '_staged'), { recursive: true });
    const live = await t.files();
    // Default retention (7 days): the removed file is a recent tombstone and the stray file is new: nothing goes.
    expect((await t.vacuum()).filesDeleted).toEqual([]);
    // A stray file older than the retention goes; so does a tombstone older than it.
    const eightDaysAgo = new Date(Date.now() - 8 * 24 * 3_600_000);
    await utimes(join(path, stray), eightDaysAgo, eightDaysAgo);
    expect((await t.vacuum({ dryRun: true })).filesDeleted).toEqual([stray]);
    await stat(join(path, stray));
    const forced = await t.vacuum({ retentionHours: 0, force: true });
    const removed = old.filter((f) => !live.includes(f));
    expect(forced.filesDeleted).toEqual([...removed, stray].sort());
    expect(await dataFilesOnDisk(path)).toEqual([...live, '_SUCCESS'].sort());
    expect((await readRows(t)).map((r) => r.id)).toEqual([2, 3]);
  });
});

describe('history', () => {
  it('lists commits newest first with their operations', async () => {
    const t = DeltaTable.forPath(fresh());
    await t.write([eventBatch([1])], { partitionBy: ['date'] });
    await t.write([eventBatch([2])]);
    await t.write([eventBatch([3])], { mode: 'overwrite' });
    const h = await t.history();
    expect(h.map((e) => [e.version, e.operation, e.operationParameters?.mode])).toEqual([
      [2, 'WRITE', 'Overwrite'],
      [1, 'WRITE', 'Append'],
      [0, 'WRITE', 'Append'],
    ]);
    expect(h[1]).toMatchObject({ readVersion: 0, isBlindAppend: true, engineInfo: 'sluice/0.1.0', operationMetrics: { numOutputRows: '1' } });
    expect(await t.history(1)).toHaveLength(1);
  });
});
