import { join } from 'node:path';
import { Table, type RecordBatch } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schemaOf } from '../../../engine/types/data-type.js';
import { batchFromRows, rowsFromBatch } from '../../../engine/types/values.js';
import type { SinkBatchInfo } from '../../../engine/io/sink.js';
import type { Offset } from '../../../engine/io/source.js';
import {
  DeltaOptionsError,
  DeltaSink,
  DeltaSource,
  DeltaTable,
  deltaScanFromOptions,
  deltaSinkFromOptions,
  deltaSourceFromOptions,
} from '../../../connectors/lakehouse/index.js';
import { EVENTS, commitActions, eventBatch, readRows, tempDir } from './helpers.js';

let root: string;
let cleanup: () => Promise<void>;
let n = 0;
const fresh = (): string => join(root, `t${n++}`);

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir());
});
afterAll(async () => cleanup());

const info = (outputMode: SinkBatchInfo['outputMode'], schema = EVENTS): SinkBatchInfo => ({ queryId: 'query-1', runId: 'run-1', outputMode, schema });

async function collect(it: AsyncIterable<RecordBatch>): Promise<number[]> {
  const ids: number[] = [];
  for await (const b of it) for (const r of rowsFromBatch(b, EVENTS)) ids.push(r.id as number);
  return ids.sort((a, b) => a - b);
}

describe('DeltaSink', () => {
  it('appends each batch once, with a txn of the query id and batch id', async () => {
    const path = fresh();
    const sink = new DeltaSink({ path, partitionBy: ['date'] });
    expect(sink.supportedOutputModes).toEqual(['append', 'update', 'complete']);
    await sink.addBatch(0, new Table([eventBatch([1, 2])]), info('append'));
    await sink.addBatch(1, new Table([eventBatch([3], '2026-05-31')]), info('append'));
    // A restart re-runs batch 1: recognised and skipped.
    await sink.addBatch(1, new Table([eventBatch([3], '2026-05-31')]), info('append'));
    expect(sink.metrics()).toEqual({ tableVersion: '1', batchesCommitted: '2', batchesSkipped: '1', filesAdded: '2', compactions: '0', filesCompacted: '0' });
    const t = DeltaTable.forPath(path);
    expect((await readRows(t)).map((r) => r.id)).toEqual([1, 2, 3]);
    const v1 = await commitActions(path, 1);
    expect(v1.find((a) => a.txn)!.txn).toMatchObject({ appId: 'query-1', version: 1 });
    expect(v1[0]!.commitInfo).toMatchObject({ operation: 'STREAMING UPDATE', operationParameters: { outputMode: 'Append', queryId: 'query-1', epochId: '1' } });
    // A new sink instance (restart) sees the committed txn too.
    await new DeltaSink({ path }).addBatch(0, new Table([eventBatch([1, 2])]), info('append'));
    expect((await readRows(t)).map((r) => r.id)).toEqual([1, 2, 3]);
  });

  it('records an empty batch (creating the table from the query schema)', async () => {
    const path = fresh();
    const sink = new DeltaSink({ path });
    await sink.addBatch(0, new Table(EVENTS.fields.length ? [] : []), info('append'));
    const t = DeltaTable.forPath(path);
    expect((await t.snapshot()).txnVersion('query-1')).toBe(0);
    expect((await t.schema()).fields.map((f) => f.name)).toEqual(['id', 'user', 'amount', 'ts', 'date']);
    expect(await t.files()).toEqual([]);
  });

  it('complete mode overwrites the whole table each batch, still guarded by txn', async () => {
    const path = fresh();
    const schema = schemaOf({ user: 'string', n: 'long' });
    const sink = new DeltaSink({ path });
    const counts = (rows: [string, number][]) => new Table([batchFromRows(rows.map(([user, c]) => ({ user, n: c })), schema)]);
    await sink.addBatch(0, counts([['a', 1]]), info('complete', schema));
    await sink.addBatch(1, counts([['a', 2], ['b', 1]]), info('complete', schema));
    await sink.addBatch(1, counts([['a', 99]]), info('complete', schema));
    const t = DeltaTable.forPath(path);
    expect(await readRows(t, {}, 'user')).toEqual([{ user: 'a', n: 2 }, { user: 'b', n: 1 }]);
    expect((await commitActions(path, 1)).filter((a) => a.remove)).toHaveLength(1);
  });

  it('is built from string options', () => {
    const sink = deltaSinkFromOptions({ path: '/lake/x', partitionBy: 'date, user', maxRecordsPerFile: '1000', compression: 'zstd' });
    expect(sink.options).toMatchObject({ path: '/lake/x', partitionBy: ['date', 'user'], maxRecordsPerFile: 1000, compression: 'zstd' });
    expect(sink.description).toBe('DeltaSink[/lake/x]');
    expect(() => deltaSinkFromOptions({ path: '/x', replaceWhere: '{}' })).toThrow(/applies to batch writes/);
  });
});

describe('DeltaSource', () => {
  it('tails commits file by file, respecting maxFilesPerTrigger, and reads exactly the files in between', async () => {
    const path = fresh();
    const t = DeltaTable.forPath(path);
    await t.write([eventBatch([1], '2026-05-30'), eventBatch([2], '2026-05-31')], { partitionBy: ['date'] });
    await t.write([eventBatch([3])]);
    const src = await DeltaSource.open({ path, maxFilesPerTrigger: 2 });
    expect(src.schema.fields.map((f) => f.name)).toEqual(['id', 'user', 'amount', 'ts', 'date']);
    const limit = src.defaultReadLimit();
    expect(limit).toEqual({ kind: 'maxFiles', max: 2 });
    const e1 = await src.latestOffset(null, limit);
    expect(e1).toEqual({ version: 1, index: 0 });
    expect(await collect(src.getBatch(null, e1!))).toEqual([1, 2]);
    const e2 = await src.latestOffset(e1, limit);
    expect(e2).toEqual({ version: 2, index: 0 });
    expect(await collect(src.getBatch(e1, e2!))).toEqual([3]);
    expect(await src.latestOffset(e2, limit)).toEqual(e2);
    // New commits: an optimize (dataChange false) adds nothing; a new append does.
    await t.optimize();
    await t.write([eventBatch([4]), eventBatch([5])]);
    const e3 = await src.latestOffset(e2, { kind: 'maxFiles', max: 1 });
    expect(e3).toEqual({ version: 4, index: 0 });
    expect(await collect(src.getBatch(e2, e3!))).toEqual([4, 5]);
    expect(src.reportLatestOffset()).toEqual(e3);
  });

  it('splits one commit across triggers by file index', async () => {
    const path = fresh();
    const t = DeltaTable.forPath(path);
    await t.write([eventBatch([1], '2026-05-01'), eventBatch([2], '2026-05-02'), eventBatch([3], '2026-05-03')], { partitionBy: ['date'] });
    const src = await DeltaSource.open({ path });
    const e1 = await src.latestOffset(null, { kind: 'maxFiles', max: 2 });
    expect(e1).toEqual({ version: 0, index: 2 });
    const e2 = await src.latestOffset(e1, { kind: 'maxFiles', max: 2 });
    expect(e2).toEqual({ version: 1, index: 0 });
    const all = [...(await collect(src.getBatch(null, e1!))), ...(await collect(src.getBatch(e1, e2!)))];
    expect(all.sort()).toEqual([1, 2, 3]);
    // A re-run of a batch (same offsets) reads the same rows.
    expect(await collect(src.getBatch(e1, e2!))).toEqual(await collect(src.getBatch(e1 as Offset, e2!)));
  });

  it('starts at the latest version when asked, and stops on deletes unless told to ignore them', async () => {
    const path = fresh();
    const t = DeltaTable.forPath(path);
    await t.write([eventBatch([1])]);
    const src = await DeltaSource.open({ path, startingVersion: 'latest' });
    expect(await src.latestOffset(null, src.defaultReadLimit())).toBeNull();
    await t.write([eventBatch([2])]);
    const e = await src.latestOffset(null, src.defaultReadLimit());
    expect(await collect(src.getBatch(null, e!))).toEqual([2]);
    await t.write([eventBatch([3])], { mode: 'overwrite' });
    await expect(src.latestOffset(e, src.defaultReadLimit())).rejects.toThrow(/rewrote data at version 2.*ignoreChanges/);
    const tolerant = await deltaSourceFromOptions({ path, startingVersion: '2', ignoreChanges: 'true' });
    const e2 = await tolerant.latestOffset(null, tolerant.defaultReadLimit());
    expect(await collect(tolerant.getBatch(null, e2!))).toEqual([3]);
  });

  it('refuses a bad offset and unknown options', async () => {
    const path = fresh();
    await DeltaTable.forPath(path).write([eventBatch([1])]);
    const src = await deltaSourceFromOptions({ path, maxFilesPerTrigger: '5' });
    expect(src.defaultReadLimit()).toEqual({ kind: 'maxFiles', max: 5 });
    await expect(src.latestOffset({ nope: 1 }, src.defaultReadLimit())).rejects.toThrow(DeltaOptionsError);
    await expect(deltaSourceFromOptions({ path, versionAsOf: '1' })).rejects.toThrow(/applies to the Delta scan, not the source/);
  });
});

describe('DeltaScan', () => {
  it('reads a version with selected columns and a partition filter', async () => {
    const path = fresh();
    const t = DeltaTable.forPath(path);
    await t.write([eventBatch([1], '2026-05-30'), eventBatch([2], '2026-05-31')], { partitionBy: ['date'] });
    await t.write([eventBatch([3], '2026-05-30')]);
    const scan = await deltaScanFromOptions({ path, versionAsOf: '0', columns: 'id,date', where: '{"date":{"eq":"2026-05-30"}}' });
    expect(scan.schema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual(['id:long', 'date:date']);
    expect(scan.description).toBe(`DeltaScan[${path}@v0]`);
    const rows: Record<string, unknown>[] = [];
    for await (const b of scan.scan()) rows.push(...rowsFromBatch(b, scan.schema));
    expect(rows).toEqual([{ id: 1, date: '2026-05-30' }]);
  });
});
