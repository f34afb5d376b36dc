import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schemaOf } from '../../../engine/types/data-type.js';
import {
  DeltaConcurrentModificationError,
  DeltaTable,
  checkConflicts,
  resolvePredicate,
  type Commit,
  type TxnIntent,
} from '../../../connectors/lakehouse/index.js';
import { commitActions, dataFilesOnDisk, eventBatch, readRows, tempDir } from './helpers.js';

let root: string;
let cleanup: () => Promise<void>;
let n = 0;
const fresh = (): string => join(root, `t${n++}`);

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir());
});
afterAll(async () => cleanup());

describe('exactly-once writes (txn)', () => {
  it('skips a txn version that is already committed, and records txn in the commit', async () => {
    const path = fresh();
    const t = DeltaTable.forPath(path);
    expect(await t.write([eventBatch([1, 2])], { txn: { appId: 'q1', version: 0 } })).toMatchObject({ version: 0, skipped: false });
    expect(await t.write([eventBatch([1, 2])], { txn: { appId: 'q1', version: 0 } })).toMatchObject({ version: null, skipped: true });
    expect(await t.write([eventBatch([3])], { txn: { appId: 'q1', version: 1 } })).toMatchObject({ version: 1 });
    // Another query id is independent.
    expect(await t.write([eventBatch([4])], { txn: { appId: 'q2', version: 0 } })).toMatchObject({ version: 2 });
    expect((await readRows(t)).map((r) => r.id)).toEqual([1, 2, 3, 4]);
    const txn = (await commitActions(path, 1)).find((a) => a.txn)!.txn;
    expect(txn).toMatchObject({ appId: 'q1', version: 1 });
    expect(typeof txn.lastUpdated).toBe('number');
    const snap = await t.snapshot();
    expect(snap.txnVersion('q1')).toBe(1);
    expect(snap.txnVersion('q2')).toBe(0);
    expect(snap.txnVersion('nope')).toBe(-1);
  });

  it('leaves no visible rows when a batch dies between its Parquet files and its commit; the retry writes once', async () => {
    const path = fresh();
    await DeltaTable.forPath(path).write([eventBatch([1])], { txn: { appId: 'q', version: 0 } });
    let written: readonly string[] = [];
    const crashing = DeltaTable.forPath(path, {
      faults: {
        afterDataWritten: ({ files }) => {
          written = files;
          throw new Error('simulated crash before commit');
        },
      },
    });
    await expect(crashing.write([eventBatch([2, 3])], { txn: { appId: 'q', version: 1 } })).rejects.toThrow(/simulated crash/);
    expect(written).toHaveLength(1);
    // The stray file is on disk but in no commit: readers (sluice, and anything reading the log) never see it.
    expect(await dataFilesOnDisk(path)).toHaveLength(2);
    const reader = DeltaTable.forPath(path);
    expect(await reader.version()).toBe(0);
    expect((await readRows(reader)).map((r) => r.id)).toEqual([1]);
    // Restart: the batch runs again with the same txn version and lands once.
    const retry = DeltaTable.forPath(path);
    expect(await retry.write([eventBatch([2, 3])], { txn: { appId: 'q', version: 1 } })).toMatchObject({ version: 1 });
    expect(await retry.write([eventBatch([2, 3])], { txn: { appId: 'q', version: 1 } })).toMatchObject({ skipped: true });
    expect((await readRows(retry)).map((r) => r.id)).toEqual([1, 2, 3]);
    // vacuum (forced, retention 0) removes the stray file and keeps the live ones.
    const v = await retry.vacuum({ retentionHours: 0, force: true });
    expect(v.filesDeleted).toHaveLength(1);
    expect((await readRows(retry)).map((r) => r.id)).toEqual([1, 2, 3]);
  });
});

describe('concurrent writers', () => {
  it('two blind appends racing with Promise.all: one wins each version, the other retries on the next', async () => {
    const path = fresh();
    await DeltaTable.forPath(path).write([eventBatch([0])]);
    const a = DeltaTable.forPath(path);
    const b = DeltaTable.forPath(path);
    const results = await Promise.all([
      a.write([eventBatch([1])]),
      b.write([eventBatch([2])]),
      a.write([eventBatch([3])]),
      b.write([eventBatch([4])]),
    ]);
    expect(results.map((r) => r.version).sort()).toEqual([1, 2, 3, 4]);
    expect((await readRows(DeltaTable.forPath(path))).map((r) => r.id)).toEqual([0, 1, 2, 3, 4]);
  });

  it('two writers creating the same table at once: both land, one creates it', async () => {
    const path = fresh();
    const [r1, r2] = await Promise.all([DeltaTable.forPath(path).write([eventBatch([1])]), DeltaTable.forPath(path).write([eventBatch([2])])]);
    expect([r1.version, r2.version].sort()).toEqual([0, 1]);
    const v1 = await commitActions(path, 1);
    expect(v1.some((a) => a.metaData || a.protocol)).toBe(false);
    expect((await readRows(DeltaTable.forPath(path))).map((r) => r.id)).toEqual([1, 2]);
  });

  it('a forced collision: the loser of a blind append retries on the next version', async () => {
    const path = fresh();
    await DeltaTable.forPath(path).write([eventBatch([0])], { partitionBy: ['date'] });
    const other = DeltaTable.forPath(path);
    const attempts: number[] = [];
    const loser = DeltaTable.forPath(path, {
      faults: {
        beforeCommit: async ({ version, attempt }) => {
          attempts.push(version);
          if (attempt === 0) await other.write([eventBatch([1])]);
        },
      },
    });
    expect(await loser.write([eventBatch([2])])).toMatchObject({ version: 2 });
    expect(attempts).toEqual([1, 2]);
    expect((await commitActions(path, 1)).find((a) => a.add)!.add.stats).toContain('"numRecords":1');
    expect((await readRows(other)).map((r) => r.id)).toEqual([0, 1, 2]);
  });

  it('a real conflict: replaceWhere of a partition another writer appended to fails, naming the version and the fix', async () => {
    const path = fresh();
    await DeltaTable.forPath(path).write([eventBatch([0], '2026-05-30'), eventBatch([9], '2026-05-31')], { partitionBy: ['date'] });
    const other = DeltaTable.forPath(path);
    const loser = DeltaTable.forPath(path, {
      faults: { beforeCommit: async ({ attempt }) => (attempt === 0 ? void (await other.write([eventBatch([1], '2026-05-30')])) : undefined) },
    });
    const err = await loser
      .write([eventBatch([5], '2026-05-30')], { mode: 'overwrite', replaceWhere: { date: { eq: '2026-05-30' } } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeltaConcurrentModificationError);
    expect((err as DeltaConcurrentModificationError).version).toBe(1);
    expect((err as Error).message).toMatch(/version 1 \(WRITE\) .* added .* to partition date=2026-05-30, which this WRITE replaces/);
    expect((err as Error).message).toMatch(/Re-run the WRITE after the other write/);
    // The loser's files were cleaned up; the winner's rows are intact.
    expect((await readRows(other)).map((r) => r.id)).toEqual([0, 1, 9]);
    expect(await dataFilesOnDisk(path)).toHaveLength(3);
  });

  it('two replaceWheres of the same partition racing with Promise.all: exactly one wins', async () => {
    const path = fresh();
    await DeltaTable.forPath(path).write([eventBatch([0], '2026-05-30')], { partitionBy: ['date'] });
    const opts = { mode: 'overwrite' as const, replaceWhere: { date: { eq: '2026-05-30' } } };
    const results = await Promise.allSettled([
      DeltaTable.forPath(path).write([eventBatch([1], '2026-05-30')], opts),
      DeltaTable.forPath(path).write([eventBatch([2], '2026-05-30')], opts),
    ]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(ok).toHaveLength(1);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.reason).toBeInstanceOf(DeltaConcurrentModificationError);
    const ids = (await readRows(DeltaTable.forPath(path))).map((r) => r.id);
    expect(ids.length).toBe(1);
  });

  it('replaceWhere of other partitions does not conflict with a concurrent append', async () => {
    const path = fresh();
    await DeltaTable.forPath(path).write([eventBatch([0], '2026-05-30'), eventBatch([9], '2026-05-31')], { partitionBy: ['date'] });
    const other = DeltaTable.forPath(path);
    const w = DeltaTable.forPath(path, {
      faults: { beforeCommit: async ({ attempt }) => (attempt === 0 ? void (await other.write([eventBatch([1], '2026-05-30')])) : undefined) },
    });
    expect(await w.write([eventBatch([10], '2026-05-31')], { mode: 'overwrite', replaceWhere: { date: { eq: '2026-05-31' } } })).toMatchObject({ version: 2 });
    expect((await readRows(other)).map((r) => r.id)).toEqual([0, 1, 10]);
  });

  it('optimize conflicts when a concurrent commit removed a file it compacts', async () => {
    const path = fresh();
    const t = DeltaTable.forPath(path);
    await t.write([eventBatch([0])]);
    await t.write([eventBatch([1])]);
    const other = DeltaTable.forPath(path);
    const opt = DeltaTable.forPath(path, {
      faults: { beforeCommit: async ({ attempt }) => (attempt === 0 ? void (await other.write([eventBatch([5])], { mode: 'overwrite' })) : undefined) },
    });
    await expect(opt.optimize()).rejects.toThrow(/removed .* which this OPTIMIZE also removes/);
    expect((await readRows(other)).map((r) => r.id)).toEqual([5]);
  });

  it('gives up after maxCommitAttempts under constant contention', async () => {
    const path = fresh();
    await DeltaTable.forPath(path).write([eventBatch([0])]);
    const other = DeltaTable.forPath(path);
    const w = DeltaTable.forPath(path, { maxCommitAttempts: 3, faults: { beforeCommit: async () => void (await other.write([eventBatch([1])])) } });
    await expect(w.write([eventBatch([2])])).rejects.toThrow(/after 3 attempts/);
  });
});

describe('checkConflicts', () => {
  const schema = schemaOf({ id: 'long', date: 'date' });
  const base: TxnIntent = {
    table: '/t',
    operation: 'WRITE',
    readVersion: 3,
    metadata: null,
    onExists: 'join',
    removes: new Set(),
    replaces: null,
    appId: null,
  };
  const commit = (version: number, c: Partial<Commit>): Commit => ({ version, txns: [], removes: [], adds: [], ...c });
  const add = (path: string, date: string) => ({ path, partitionValues: { date }, size: 1, modificationTime: 0, dataChange: true });

  it('lets a blind append retry past appends, removes and txns of other apps', () => {
    expect(
      checkConflicts(base, [
        commit(4, { adds: [add('a', '2026-05-30')] }),
        commit(5, { removes: [{ path: 'x', dataChange: true }], txns: [{ appId: 'other', version: 9 }] }),
      ]),
    ).toEqual({ kind: 'retry', dropMetadata: false });
  });

  it('conflicts on protocol or metadata changes', () => {
    expect(checkConflicts(base, [commit(4, { protocol: { minReaderVersion: 1, minWriterVersion: 2 } })])).toMatchObject({ kind: 'conflict', version: 4 });
    const m = { id: 'x', format: { provider: 'parquet', options: {} }, schemaString: '{}', partitionColumns: [], configuration: {} };
    expect(checkConflicts(base, [commit(4, {}), commit(5, { metaData: m })])).toMatchObject({ kind: 'conflict', version: 5 });
  });

  it('conflicts on a txn of the same application', () => {
    const d = checkConflicts({ ...base, appId: 'q' }, [commit(4, { txns: [{ appId: 'q', version: 7 }] })]);
    expect(d).toMatchObject({ kind: 'conflict', version: 4 });
    expect((d as { reason: string }).reason).toMatch(/two runs of the same streaming query/);
  });

  it('conflicts when a file it removes was removed, and when files land in partitions it replaces', () => {
    expect(checkConflicts({ ...base, removes: new Set(['f1']) }, [commit(4, { removes: [{ path: 'f1', dataChange: false }] })])).toMatchObject({
      kind: 'conflict',
    });
    const p = resolvePredicate({ date: { eq: '2026-05-30' } }, schema, ['date'], 'replaceWhere');
    expect(checkConflicts({ ...base, replaces: p }, [commit(4, { adds: [add('b', '2026-05-31')] })])).toMatchObject({ kind: 'retry' });
    expect(checkConflicts({ ...base, replaces: p }, [commit(4, { adds: [add('b', '2026-05-30')] })])).toMatchObject({ kind: 'conflict', version: 4 });
    expect(checkConflicts({ ...base, replaces: 'all' }, [commit(4, { adds: [add('b', '2026-05-31')] })])).toMatchObject({ kind: 'conflict' });
  });

  it('joins a table created concurrently with the same schema, and otherwise refuses', () => {
    const m = { id: 'x', format: { provider: 'parquet', options: {} }, schemaString: 's', partitionColumns: ['date'], configuration: {} };
    const creating: TxnIntent = { ...base, readVersion: -1, metadata: m };
    expect(checkConflicts(creating, [commit(0, { metaData: { ...m, id: 'y' }, adds: [add('a', '2026-05-30')] })])).toEqual({ kind: 'retry', dropMetadata: true });
    expect(checkConflicts(creating, [commit(0, { metaData: { ...m, schemaString: 'other' } })])).toMatchObject({ kind: 'conflict', version: 0 });
    expect(checkConflicts({ ...creating, onExists: 'fail' }, [commit(0, { metaData: m })])).toEqual({ kind: 'exists', version: 0 });
  });
});
