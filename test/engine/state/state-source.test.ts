import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  col,
  count,
  MemoryStream,
  Session,
  StateBatchNotAvailableError,
  StateCheckpointNotFoundError,
  StateOperatorNotFoundError,
  StateSourceOptionError,
  StateTableNotFoundError,
  window,
  type Row,
  type StreamingQueryProgress,
} from '../../../engine/index.js';
import { deltaSchema, OP_DELETE, OP_PUT, StateStore } from '../../../engine/state/state-store.js';
import { writeOperatorMetadata } from '../../../engine/state/operator-metadata.js';
import { CommitLog } from '../../../engine/checkpoint/commit-log.js';
import { field, schemaOf } from '../../../engine/types/data-type.js';
import { batchFromRows } from '../../../engine/types/values.js';
import { inspectStateCheckpoint } from '../../../engine/state/state-reader.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'sluice-state-source-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const SCHEMA = { id: 'long', user: 'string', ts: 'timestamp' } as const;
type In = { id: number; user: string; ts: number };
const WINDOW_MS = 10_000;

/** Steps of input: each step's rows arrive together (one data batch, maybe followed by a no-data batch). */
function steps(): In[][] {
  const out: In[][] = [];
  let id = 0;
  for (let s = 0; s < 5; s++) {
    const rows: In[] = [];
    for (let u = 0; u < 12; u++) {
      // each user twice per step (the second a duplicate of the first: same id and time), times moving forward
      const r = { id: id++, user: `u${u}`, ts: 1_000 + s * 7_000 + u * 300 }; // none at 0: the first batch's watermark
      rows.push(r, { ...r });
    }
    out.push(rows);
  }
  return out;
}

/** What each batch saw: the input so far and the watermark it ran with. */
interface BatchSeen {
  readonly batchId: number;
  readonly rows: readonly In[];
  readonly watermarkMs: number;
  readonly progress: StreamingQueryProgress;
}

/** Runs dedup → windowed count over the steps into `ckpt`; returns what each batch saw. */
async function runQuery(ckpt: string, conf: Record<string, number>): Promise<BatchSeen[]> {
  const session = new Session({ conf });
  const stream = new MemoryStream(session, SCHEMA);
  const q = stream
    .toDF()
    .withWatermark('ts', '5 seconds')
    .dropDuplicates(['id', 'ts'])
    .groupBy(window(col('ts'), '10 seconds'), col('user'))
    .agg(count('*').as('n'))
    .writeStream.format('memory')
    .queryName(`state_src_${Math.random().toString(36).slice(2)}`)
    .outputMode('append')
    .option('checkpointLocation', ckpt)
    .start();
  const seen: BatchSeen[] = [];
  const so_far: In[] = [];
  let last = -1;
  for (const rows of steps()) {
    stream.addData(rows);
    so_far.push(...rows);
    await q.processAllAvailable();
    for (const p of q.recentProgress) {
      if (p.batchId <= last) continue;
      last = p.batchId;
      seen.push({ batchId: p.batchId, rows: [...so_far], watermarkMs: Date.parse(p.eventTime['watermark'] ?? '1970-01-01T00:00:00Z'), progress: p });
    }
  }
  await q.stop();
  if (q.exception) throw q.exception;
  return seen;
}

function readState(session: Session, ckpt: string, o: Record<string, string | number>): Promise<Row[]> {
  let r = session.read.format('state');
  for (const [k, v] of Object.entries(o)) r = r.option(k, v);
  return r.load(ckpt).collect();
}

const key = (r: Row, cols: readonly string[]) => JSON.stringify(cols.map((c) => (r[c] instanceof Date ? (r[c] as Date).getTime() : r[c])));

/** Dedup keys live after a batch that ran with watermark `wm`: (id, ts) of rows with ts > wm. */
function expectedDedup(b: BatchSeen): string[] {
  const keys = new Set<string>();
  for (const r of b.rows) if (r.ts > b.watermarkMs) keys.add(JSON.stringify([r.id, r.ts]));
  return [...keys].sort();
}

/** Windowed counts live after a batch: (window start, user) → distinct rows, for windows ending after the watermark. */
function expectedWindows(b: BatchSeen): string[] {
  const n = new Map<string, Set<number>>();
  for (const r of b.rows) {
    const start = Math.floor(r.ts / WINDOW_MS) * WINDOW_MS;
    if (start + WINDOW_MS <= b.watermarkMs) continue;
    const k = JSON.stringify([start, r.user]);
    if (!n.has(k)) n.set(k, new Set());
    n.get(k)!.add(r.id);
  }
  return [...n.entries()].map(([k, ids]) => JSON.stringify([...JSON.parse(k), ids.size])).sort();
}

describe("session.read.format('state')", () => {
  for (const [label, conf, partitions] of [
    ['inline', { parallelism: 1 }, 1],
    ['on 2 worker threads', { parallelism: 2, parallelThresholdRows: 1, parallelMinRowNs: 0 }, 2],
  ] as const) {
    it(`reads a dedup and a windowed count at every batch, ${label}: the rows progress counts, the keys expected`, async () => {
      const ckpt = tmp();
      const seen = await runQuery(ckpt, conf);
      expect(seen.length).toBeGreaterThanOrEqual(5);
      const info = inspectStateCheckpoint(ckpt);
      const dedupOp = info.operators.find((o) => o.kind === 'dedup')!;
      const aggOp = info.operators.find((o) => o.kind === 'aggregate')!;
      expect([dedupOp.operatorName, aggOp.operatorName]).toEqual(['dedupe', 'stateStoreSave']);
      const session = new Session();
      const partitionsSeen = new Set<number>();
      for (const b of seen) {
        const metrics = (name: string) => b.progress.stateOperators.find((s) => s.operatorName === name)!;
        const dedup = await readState(session, ckpt, { operatorId: dedupOp.operatorId, batchId: b.batchId });
        expect(dedup.length, `dedup state after batch ${b.batchId}`).toBe(metrics('dedupe').numRowsTotal);
        expect(dedup.map((r) => key(r, ['id', 'ts'])).sort()).toEqual(expectedDedup(b));
        const agg = await readState(session, ckpt, { operatorId: aggOp.operatorId, batchId: b.batchId });
        expect(agg.length, `aggregate state after batch ${b.batchId}`).toBe(metrics('stateStoreSave').numRowsTotal);
        expect(agg.map((r) => key(r, ['__window_start', 'user', 'a0_count'])).sort()).toEqual(expectedWindows(b));
        for (const r of [...dedup, ...agg]) partitionsSeen.add(r['partition_id'] as number);
      }
      expect([...partitionsSeen].sort()).toEqual(Array.from({ length: partitions }, (_, p) => p));
      // The defaults: operator 0 at the last committed batch.
      const lastBatch = seen[seen.length - 1]!;
      const byDefault = await session.read.format('state').load(ckpt).collect();
      const op0 = info.operators[0]!.operatorName;
      expect(byDefault.length).toBe(lastBatch.progress.stateOperators.find((s) => s.operatorName === op0)!.numRowsTotal);
      // A DataFrame like any other: where and groupBy over the state's columns.
      const middle = seen[Math.floor(seen.length / 2)]!;
      const df = session.read.format('state').option('operatorId', aggOp.operatorId).option('batchId', middle.batchId).load(ckpt);
      const perUser = await df.where(col('user').eq('u3')).groupBy(col('user')).agg(count('*').as('windows')).collect();
      const expectedU3 = expectedWindows(middle).filter((k) => JSON.parse(k)[1] === 'u3').length;
      expect(perUser).toEqual(expectedU3 === 0 ? [] : [{ user: 'u3', windows: expectedU3 }]);
      const perPartition = await df.groupBy(col('partition_id')).agg(count('*').as('n')).collect();
      expect(perPartition.reduce((s, r) => s + Number(r['n']), 0)).toBe(expectedWindows(middle).length);
    });
  }

  it('reads a checkpoint written before operator.json: one table, columns from the state files', async () => {
    const ckpt = tmp();
    const seen = await runQuery(ckpt, { parallelism: 1 });
    const info = inspectStateCheckpoint(ckpt);
    for (const op of info.operators) {
      expect(op.described).toBe(false);
      expect(op.tables.map((t) => t.name)).toEqual(['']);
    }
    const agg = info.operators.find((o) => o.kind === 'aggregate')!;
    expect(agg.tables[0]!.keyCount).toBe(2);
    expect(agg.tables[0]!.schema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual(['__window_start:timestamp', 'user:string', 'a0_count:long']);
    const b = seen[2]!;
    const rows = await new Session().read.format('state').option('operatorId', agg.operatorId).option('batchId', b.batchId).option('stateVarName', '').load(ckpt).collect();
    expect(rows.map((r) => key(r, ['__window_start', 'user', 'a0_count'])).sort()).toEqual(expectedWindows(b));
  });

  it('reads a named table by stateVarName (alias storeName) from state/<op>/<p>/<name>/, with operator.json', async () => {
    const ckpt = tmp();
    mkdirSync(join(ckpt, 'commits'), { recursive: true });
    writeFileSync(join(ckpt, 'metadata'), '{"id":"q"}\n');
    const fails = schemaOf([field('user', 'string'), field('n', 'int')]);
    const timers = schemaOf([field('user', 'string'), field('at', 'timestamp')]);
    const tables = [
      { name: 'fails', schema: fails, keyCount: 1, partitionKeyColumns: [0], ttlMs: 3_600_000, role: 'value' as const },
      { name: '$timers', schema: timers, keyCount: 2, partitionKeyColumns: [0], ttlMs: null, role: 'timers' as const },
    ];
    await writeOperatorMetadata(join(ckpt, 'state', '0'), { operatorName: 'transformWithState', kind: 'transformWithState', partitions: 2, tables });
    const put = (rows: Record<string, unknown>[], schema = fails) => batchFromRows(rows, deltaSchema(schema));
    // two partitions; batch 0 writes version 1, batch 1 version 2 (b deleted, a updated)
    const s0 = new StateStore(join(ckpt, 'state/0/0/fails'), fails, 1);
    const s1 = new StateStore(join(ckpt, 'state/0/1/fails'), fails, 1);
    const t0 = new StateStore(join(ckpt, 'state/0/0/$timers'), timers, 2);
    const t1 = new StateStore(join(ckpt, 'state/0/1/$timers'), timers, 2);
    await s0.commit(1, put([{ __op: OP_PUT, user: 'a', n: 1 }, { __op: OP_PUT, user: 'c', n: 2 }]));
    await s1.commit(1, put([{ __op: OP_PUT, user: 'b', n: 1 }]));
    await t0.commit(1, put([{ __op: OP_PUT, user: 'a', at: 60_000 }], timers));
    await t1.commit(1, null);
    const commits = new CommitLog(join(ckpt, 'commits'));
    await commits.add(0, { nextBatchWatermarkMs: 0, statePartitions: { '0': 2 } });
    await s0.commit(2, put([{ __op: OP_PUT, user: 'a', n: 2 }]));
    await s1.commit(2, put([{ __op: OP_DELETE, user: 'b', n: null }]));
    await t0.commit(2, null);
    await t1.commit(2, null);
    await commits.add(1, { nextBatchWatermarkMs: 0, statePartitions: { '0': 2 } });
    const session = new Session();
    const at = (batchId: number, o: Record<string, string>) => readState(session, ckpt, { batchId, ...o });
    const rows = (rs: Row[]) => rs.map((r) => JSON.stringify(r)).sort();
    expect(rows(await at(0, { stateVarName: 'fails' }))).toEqual(rows([{ user: 'a', n: 1, partition_id: 0 }, { user: 'c', n: 2, partition_id: 0 }, { user: 'b', n: 1, partition_id: 1 }]));
    expect(rows(await at(1, { storeName: 'fails' }))).toEqual(rows([{ user: 'a', n: 2, partition_id: 0 }, { user: 'c', n: 2, partition_id: 0 }]));
    // the default table is the first one operator.json lists
    expect(rows(await readState(session, ckpt, {}))).toEqual(rows(await at(1, { stateVarName: 'fails' })));
    const t = await at(0, { stateVarName: '$timers' });
    expect(t.map((r) => [r['user'], (r['at'] as Date).getTime(), r['partition_id']])).toEqual([['a', 60_000, 0]]);
    // no such table: the tables are listed
    expect(() => at(1, { stateVarName: 'count' })).toThrow(StateTableNotFoundError);
    expect(() => session.read.format('state').option('stateVarName', 'count').load(ckpt)).toThrow(
      /Operator 0 \(transformWithState\) of .* has no state table 'count'\. Its tables: 'fails', '\$timers'\. Set \.option\('stateVarName', …\)/,
    );
  });

  it('refuses with errors that name what exists: no checkpoint, no operator, batch not committed or purged, bad options', async () => {
    const session = new Session();
    const read = (ckpt: string, o: Record<string, string | number> = {}) => () => {
      let r = session.read.format('state');
      for (const [k, v] of Object.entries(o)) r = r.option(k, v);
      return r.load(ckpt);
    };
    const none = join(tmp(), 'nope');
    expect(read(none)).toThrow(StateCheckpointNotFoundError);
    expect(read(none)).toThrow(/No checkpoint at .*nope: the folder does not exist/);
    expect(read(tmp())).toThrow(/is not a sluice checkpoint \(no metadata, offsets\/ or commits\/\)/);

    const ckpt = tmp();
    const seen = await runQuery(ckpt, { parallelism: 1, minBatchesToRetain: 2, stateSnapshotInterval: 2 });
    const last = seen[seen.length - 1]!.batchId;
    expect(read(ckpt, { operatorId: 5 })).toThrow(StateOperatorNotFoundError);
    expect(read(ckpt, { operatorId: 5 })).toThrow(/has no stateful operator 5\. Its operators: 0 \(stateStoreSave\), 1 \(dedupe\)\. Set \.option\('operatorId', …\)/);
    expect(read(ckpt, { batchId: last + 3 })).toThrow(StateBatchNotAvailableError);
    expect(read(ckpt, { batchId: last + 3 })).toThrow(new RegExp(`Batch ${last + 3} of .* is not committed \\(the last committed batch is ${last}\\); batches [0-9.]+${last} can be read`));
    // the commits and state of early batches were purged (minBatchesToRetain 2)
    expect(read(ckpt, { batchId: 0 })).toThrow(StateBatchNotAvailableError);
    expect(read(ckpt, { batchId: 0 })).toThrow(new RegExp(`Batch 0 of .* was purged from commits/ \\(the checkpoint keeps commits ${last - 1}..${last}\\); batches ${last - 1}..${last} can be read`));
    expect(await read(ckpt, { batchId: last - 1 })().collect()).toBeDefined();
    // a commit whose state files were lost: the message names the folder and the batches still readable
    unlinkSync(join(ckpt, 'state/0/0', `${last + 1}.delta`));
    expect(read(ckpt, { batchId: last })).toThrow(
      new RegExp(
        `The state of batch ${last} \\(version ${last + 1}\\) of operator 0, table '' \\(the operator's own table\\), is no longer in .*state/0/0: ` +
          `it was purged \\(or never written\\)\\. Batch ${last - 1} can be read; set \\.option\\('batchId', …\\)`,
      ),
    );
    expect(read(ckpt, { batchId: 'x' })).toThrow(StateSourceOptionError);
    expect(read(ckpt, { batchId: -1 })).toThrow(/option batchId is '-1': it takes a whole number ≥ 0/);
    expect(read(ckpt, { readChangeFeed: 'true' })).toThrow(/The state format has no option 'readChangeFeed'\. Its options: operatorId, batchId, stateVarName, storeName/);
  });
});
