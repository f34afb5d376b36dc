import { mkdtempSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  col,
  count,
  Session,
  StateBatchNotAvailableError,
  StateCheckpointNotFoundError,
  StateOperatorNotFoundError,
  StateSourceOptionError,
  StateTableNotFoundError,
  sessionWindow,
  type DataFrame,
  type Row,
} from '../../../engine/index.js';
import { inspectStateCheckpoint } from '../../../engine/state/state-reader.js';
import { expectedDedup, expectedWindows, runStateQuery as runQuery, writeNamedTableCheckpoint } from '../../helpers/state-checkpoint.js';

/** Makes a checkpoint look written before operator.json: its operators' metadata files removed. */
function forgetOperatorMetadata(ckpt: string): void {
  for (const op of readdirSync(join(ckpt, 'state'))) rmSync(join(ckpt, 'state', op, '_metadata', 'operator.json'), { force: true });
}

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'sluice-state-source-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function readState(session: Session, ckpt: string, o: Record<string, string | number>): Promise<Row[]> {
  let r = session.read.format('state');
  for (const [k, v] of Object.entries(o)) r = r.option(k, v);
  return r.load(ckpt).collect();
}

const key = (r: Row, cols: readonly string[]) => JSON.stringify(cols.map((c) => (r[c] instanceof Date ? (r[c] as Date).getTime() : r[c])));

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
    forgetOperatorMetadata(ckpt);
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

  it('reads old checkpoints of session windows and dropDuplicatesWithinWatermark: their keys, as many rows as progress counts', async () => {
    const kinds = [
      ['sessionWindowStateStoreSaveExec', (df: DataFrame) => df.withWatermark('ts', '5 seconds').groupBy(sessionWindow(col('ts'), '2 seconds'), col('user')).agg(count('*').as('n')), ['user', '__session_start']],
      ['dedupeWithinWatermark', (df: DataFrame) => df.withWatermark('ts', '5 seconds').dropDuplicatesWithinWatermark(['user']), ['user']],
    ] as const;
    for (const [name, build, keys] of kinds) {
      const ckpt = tmp();
      const seen = await runQuery(ckpt, { parallelism: 1 }, build);
      forgetOperatorMetadata(ckpt);
      const op = inspectStateCheckpoint(ckpt).operators[0]!;
      expect(op.operatorName).toBe(name);
      expect(op.tables[0]!.schema.fields.slice(0, op.tables[0]!.keyCount).map((f) => f.name)).toEqual(keys);
      let rows = 0;
      for (const b of seen) {
        const state = await readState(new Session(), ckpt, { batchId: b.batchId });
        expect(state.length, `${name} after batch ${b.batchId}`).toBe(b.progress.stateOperators[0]!.numRowsTotal);
        expect(new Set(state.map((r) => key(r, keys))).size).toBe(state.length);
        rows += state.length;
      }
      expect(rows).toBeGreaterThan(0);
    }
  });

  it('reads a named table by stateVarName (alias storeName) from state/<op>/<p>/<name>/, with operator.json', async () => {
    const ckpt = tmp();
    await writeNamedTableCheckpoint(ckpt);
    const session = new Session();
    const at = (batchId: number, o: Record<string, string>) => readState(session, ckpt, { batchId, ...o });
    const rows = (rs: Row[]) => rs.map((r) => JSON.stringify(r)).sort();
    expect(rows(await at(0, { stateVarName: 'fails' }))).toEqual(rows([{ user: 'a', n: 1, partition_id: 0 }, { user: 'c', n: 2, partition_id: 0 }, { user: 'b', n: 1, partition_id: 1 }]));
    expect(rows(await at(1, { storeName: 'fails' }))).toEqual(rows([{ user: 'a', n: 2, partition_id: 0 }, { user: 'c', n: 2, partition_id: 0 }]));
    // the default table is the first one operator.json lists
    expect(rows(await readState(session, ckpt, {}))).toEqual(rows(await at(1, { stateVarName: 'fails' })));
    // show() prints the table (showString is what it prints)
    const shown = await session.read.format('state').option('stateVarName', 'fails').load(ckpt).orderBy(col('user')).showString();
    expect(shown.split('\n').filter((l) => l.startsWith('|'))).toEqual(['|user|n|partition_id|', '|   a|2|           0|', '|   c|2|           0|']);
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
    expect(read(ckpt, { batchId: last + 3 })).toThrow(new RegExp(`Batch ${last + 3} of .* is not committed \\(the last committed batch is ${last}\\); operator 0's table '' \\(the operator's own table\\) can be read at batches [0-9.]+${last}\\. Set`));
    // the commits and state of early batches were purged (minBatchesToRetain 2)
    expect(read(ckpt, { batchId: 0 })).toThrow(StateBatchNotAvailableError);
    expect(read(ckpt, { batchId: 0 })).toThrow(new RegExp(`Batch 0 of .* was purged from commits/ \\(the checkpoint keeps commits ${last - 1}..${last}\\); operator 0's table '' \\(the operator's own table\\) can be read at batches ${last - 1}..${last}\\.`));
    expect(await read(ckpt, { batchId: last - 1 })().collect()).toBeDefined();
    // a commit whose state files were lost: the message names the folder and the batches still readable
    unlinkSync(join(ckpt, 'state/0/0', `${last + 1}.delta`));
    expect(read(ckpt, { batchId: last })).toThrow(
      new RegExp(
        `The state of batch ${last} \\(version ${last + 1}\\) of operator 0, table '' \\(the operator's own table\\), is no longer in .*state/0/0: ` +
          `it was purged \\(or never written\\); operator 0's table '' \\(the operator's own table\\) can be read at batch ${last - 1}\\. Set \\.option\\('batchId', …\\)`,
      ),
    );
    // purged between load() and the read (a running query's purge): the read says so instead of returning fewer rows
    const df = read(ckpt, { batchId: last - 1 })();
    for (const f of readdirSync(join(ckpt, 'state/0/0'))) if (f.startsWith(`${last}.`)) unlinkSync(join(ckpt, 'state/0/0', f));
    await expect(df.collect()).rejects.toThrow(StateBatchNotAvailableError);
    await expect(df.collect()).rejects.toThrow(/The state of batch \d+ of operator 0 was purged while it was being read \(State version \d+ of .* is missing/);
    expect(read(ckpt, { batchId: 'x' })).toThrow(StateSourceOptionError);
    expect(read(ckpt, { batchId: -1 })).toThrow(/option batchId is '-1': it takes a whole number ≥ 0/);
    expect(read(ckpt, { readChangeFeed: 'true' })).toThrow(/The state format has no option 'readChangeFeed'\. Its options: operatorId, batchId, stateVarName, storeName/);
  });
});
