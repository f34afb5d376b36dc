/** One partition of a stream–stream join, batch by batch: Spark's order of joining, storing and evicting. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { col, interval, MemoryStream, Session } from '../../../engine/index.js';
import type { Column } from '../../../engine/api/column.js';
import type { DataFrame } from '../../../engine/api/dataframe.js';
import type { ExecNode } from '../../../engine/physical/exec-node.js';
import { JoinPartition } from '../../../engine/physical/partitions/join-partition.js';
import type { BatchInfo } from '../../../engine/physical/partitions/keyed-operator.js';
import { StreamingJoinExec } from '../../../engine/physical/streaming-join-exec.js';
import { planPhysical } from '../../../engine/planner/planner.js';
import { deltaSchema, OP_DELETE, OP_PUT, StateStore } from '../../../engine/state/state-store.js';
import { batchFromRows, rowsFromBatch } from '../../../engine/types/values.js';

const s = (sec: number) => sec * 1000;
const session = new Session();
const L = new MemoryStream(session, { id: 'int', lt: 'timestamp', lv: 'string' }).toDF().withWatermark('lt', '0 seconds');
const R = new MemoryStream(session, { rid: 'int', rt: 'timestamp' }).toDF().withWatermark('rt', '0 seconds');
/** `lt BETWEEN rt − 5s AND rt + 5s`: both sides evict time ≤ W − 5001. */
const range = col('lt').between(col('rt').minus(interval('5 seconds')), col('rt').plus(interval('5 seconds')));
const onKey = (extra: Column | null = range) => (extra === null ? col('id').eq(col('rid')) : col('id').eq(col('rid')).and(extra));

function execOf(df: DataFrame): StreamingJoinExec {
  const find = (n: ExecNode): StreamingJoinExec | null => (n instanceof StreamingJoinExec ? n : n.children.map(find).find((x) => x !== null) ?? null);
  return find(planPhysical(df.plan))!;
}

function partition(df: DataFrame) {
  const exec = execOf(df);
  const p = new JoinPartition(exec.spec);
  const [ls, rs] = exec.spec.inputSchemas;
  const info = (batchId: number, late: number, evict: number): BatchInfo => ({ batchId, streaming: true, outputMode: 'append', lateWatermarkMs: late, evictionWatermarkMs: evict, batchTimestampMs: 0 });
  const run = (batchId: number, late: number, evict: number, left: Record<string, unknown>[], right: Record<string, unknown>[]) => {
    const i = info(batchId, late, evict);
    p.startBatch();
    if (left.length > 0) p.absorb(batchFromRows(left, ls!), batchId * 2 ** 30, i, 0);
    if (right.length > 0) p.absorb(batchFromRows(right, rs!), batchId * 2 ** 30 + left.length, i, 1);
    const { output, metrics } = p.finish(i);
    p.takeDelta('left');
    p.takeDelta('right');
    return { rows: output ? rowsFromBatch(output, exec.spec.outputSchema) : [], metrics };
  };
  return { p, run, exec };
}

const ts = (sec: number) => new Date(s(sec));

describe('JoinPartition', () => {
  it('joins this batch’s left rows with this batch’s right rows once, and stores both sides', () => {
    const { run } = partition(L.join(R, onKey()));
    const b0 = run(0, 0, 0, [{ id: 1, lt: s(10), lv: 'a' }], [{ rid: 1, rt: s(11) }, { rid: 1, rt: s(30) }]);
    expect(b0.rows).toEqual([{ id: 1, lt: ts(10), lv: 'a', rid: 1, rt: ts(11) }]);
    expect(b0.metrics).toMatchObject({ numRowsTotal: 3, numRowsUpdated: 3, numRowsRemoved: 0, custom: { leftStateRows: 1, rightStateRows: 2 } });
    // A later left row joins the stored right rows.
    const b1 = run(1, 0, 0, [{ id: 1, lt: s(28), lv: 'b' }], []);
    expect(b1.rows).toEqual([{ id: 1, lt: ts(28), lv: 'b', rid: 1, rt: ts(30) }]);
  });

  it('a right row this batch evicts is not stored (inner), but still joins this batch’s left rows', () => {
    const { run } = partition(L.join(R, onKey()));
    // Late-event watermark 0, eviction watermark 20 s: state watermark 14 999; rt = 12 s is not late but evicted.
    const b = run(0, 0, s(20), [{ id: 1, lt: s(10), lv: 'a' }], [{ rid: 1, rt: s(12) }, { rid: 2, rt: s(13) }]);
    expect(b.rows).toEqual([{ id: 1, lt: ts(10), lv: 'a', rid: 1, rt: ts(12) }]);
    // The left row is stored, then evicted at the end of the batch; neither right row was stored.
    expect(b.metrics).toMatchObject({ numRowsUpdated: 1, numRowsRemoved: 1, numRowsTotal: 0 });
  });

  it('right outer: a right row this batch evicts is stored when unmatched, and emitted with nulls at once', () => {
    const { run } = partition(L.join(R, onKey(), 'rightOuter'));
    const b = run(0, 0, s(20), [{ id: 1, lt: s(10), lv: 'a' }], [{ rid: 1, rt: s(12) }, { rid: 2, rt: s(13) }]);
    expect(b.rows).toEqual([
      { id: 1, lt: ts(10), lv: 'a', rid: 1, rt: ts(12) },
      { id: null, lt: null, lv: null, rid: 2, rt: ts(13) },
    ]);
    expect(b.metrics).toMatchObject({ numRowsUpdated: 2, numRowsRemoved: 2, numRowsTotal: 0 });
  });

  it('drops late rows per side (time ≤ the late-event watermark) and counts them', () => {
    const { run } = partition(L.join(R, onKey(), 'leftOuter'));
    const b = run(3, s(10), s(10), [{ id: 1, lt: s(10), lv: 'late' }, { id: 1, lt: s(11), lv: 'ok' }], [{ rid: 1, rt: s(9) }, { rid: 1, rt: s(12) }]);
    expect(b.rows).toEqual([{ id: 1, lt: ts(11), lv: 'ok', rid: 1, rt: ts(12) }]);
    expect(b.metrics).toMatchObject({ numRowsDroppedByWatermark: 2, numRowsUpdated: 2 });
  });

  it('left outer: a left row failing its own conjunct is emitted with nulls at once and never stored', () => {
    const { run } = partition(L.join(R, onKey(range.and(col('lv').eq('keep'))), 'leftOuter'));
    const b = run(0, 0, 0, [{ id: 1, lt: s(10), lv: 'drop' }, { id: 1, lt: s(10), lv: 'keep' }], [{ rid: 1, rt: s(10) }]);
    expect(b.rows).toEqual([
      { id: 1, lt: ts(10), lv: 'drop', rid: null, rt: null },
      { id: 1, lt: ts(10), lv: 'keep', rid: 1, rt: ts(10) },
    ]);
    expect(b.metrics).toMatchObject({ numRowsUpdated: 2, custom: { leftStateRows: 1, rightStateRows: 1 } });
  });

  it('left outer: unmatched left rows leave with nulls when evicted, matched ones silently; null keys never match', () => {
    const { run } = partition(L.join(R, onKey(), 'leftOuter'));
    run(0, 0, 0, [{ id: 1, lt: s(10), lv: 'm' }, { id: 2, lt: s(10), lv: 'u' }, { id: null, lt: s(10), lv: 'n' }], [{ rid: 1, rt: s(10) }]);
    const keep = run(1, 0, s(15), [], []);
    expect(keep.rows).toEqual([]);
    expect(keep.metrics.numRowsTotal).toBe(4);
    const gone = run(2, s(15), s(15) + 5001, [], []);
    expect(gone.rows).toEqual([
      { id: 2, lt: ts(10), lv: 'u', rid: null, rt: null },
      { id: null, lt: ts(10), lv: 'n', rid: null, rt: null },
    ]);
    expect(gone.metrics).toMatchObject({ numRowsRemoved: 4, numRowsTotal: 0 });
  });

  it('full outer: both sides’ unmatched rows are emitted with nulls at eviction', () => {
    const { run } = partition(L.join(R, onKey(), 'fullOuter'));
    run(0, 0, 0, [{ id: 1, lt: s(10), lv: 'a' }], [{ rid: 2, rt: s(10) }]);
    const b = run(1, 0, s(20), [], []);
    expect(b.rows).toEqual([
      { id: 1, lt: ts(10), lv: 'a', rid: null, rt: null },
      { id: null, lt: null, lv: null, rid: 2, rt: ts(10) },
    ]);
  });

  it('left semi: a left row is emitted once, at its first match; matched on arrival it is not stored', () => {
    const { run } = partition(L.join(R, onKey(), 'leftSemi'));
    const b0 = run(0, 0, 0, [{ id: 1, lt: s(10), lv: 'a' }], [{ rid: 1, rt: s(11) }, { rid: 1, rt: s(12) }]);
    expect(b0.rows).toEqual([{ id: 1, lt: ts(10), lv: 'a' }]);
    const b1 = run(1, 0, 0, [{ id: 1, lt: s(12), lv: 'b' }], [{ rid: 1, rt: s(13) }]);
    // 'b' matches the stored right rows on arrival (not stored); the new right row matches nothing not yet matched
    // ('a' stays, matched, until evicted).
    expect(b1.rows).toEqual([{ id: 1, lt: ts(12), lv: 'b' }]);
    expect(b1.metrics).toMatchObject({ numRowsUpdated: 1, custom: { leftStateRows: 1, rightStateRows: 3 } });
  });

  it('a stored row matched in a later batch is rewritten only where its matched flag is read', () => {
    const deltaRows = (joinType: 'inner' | 'leftOuter' | 'rightOuter') => {
      const { p, exec } = partition(L.join(R, onKey(), joinType));
      const [ls, rs] = exec.spec.inputSchemas;
      const info: BatchInfo = { batchId: 0, streaming: true, outputMode: 'append', lateWatermarkMs: 0, evictionWatermarkMs: 0, batchTimestampMs: 0 };
      p.startBatch();
      p.absorb(batchFromRows([{ id: 1, lt: s(10), lv: 'a' }], ls!), 0, info, 0);
      p.absorb(batchFromRows([{ rid: 2, rt: s(10) }], rs!), 1, info, 1);
      p.finish(info);
      expect([p.takeDelta('left')?.numRows, p.takeDelta('right')?.numRows]).toEqual([1, 1]);
      // Batch 1: a right row matches the stored left row; a left row matches the stored right row.
      p.startBatch();
      p.absorb(batchFromRows([{ id: 2, lt: s(11), lv: 'b' }], ls!), 2 ** 30, { ...info, batchId: 1 }, 0);
      p.absorb(batchFromRows([{ rid: 1, rt: s(11) }], rs!), 2 ** 30 + 1, { ...info, batchId: 1 }, 1);
      expect(p.finish({ ...info, batchId: 1 }).output?.numRows).toBe(2);
      return [p.takeDelta('left')?.numRows ?? 0, p.takeDelta('right')?.numRows ?? 0];
    };
    // Each side's delta holds its new row, plus the matched stored row only on a preserved side.
    expect(deltaRows('inner')).toEqual([1, 1]);
    expect(deltaRows('leftOuter')).toEqual([2, 1]);
    expect(deltaRows('rightOuter')).toEqual([1, 2]);
  });

  it('a delta deletes an evicted row by its key alone, after the puts', () => {
    const { p, exec } = partition(L.join(R, onKey()));
    const [ls] = exec.spec.inputSchemas;
    const info = (batchId: number, evict: number): BatchInfo => ({ batchId, streaming: true, outputMode: 'append', lateWatermarkMs: 0, evictionWatermarkMs: evict, batchTimestampMs: 0 });
    p.startBatch();
    p.absorb(batchFromRows([{ id: 1, lt: s(10), lv: 'old' }], ls!), 0, info(0, 0), 0);
    p.finish(info(0, 0));
    p.takeDelta('left');
    p.startBatch();
    p.absorb(batchFromRows([{ id: 2, lt: s(30), lv: 'new' }], ls!), 2 ** 30, info(1, s(20)), 0);
    p.finish(info(1, s(20))); // state watermark 14 999: the row at 10 s leaves
    const delta = p.takeDelta('left')!;
    expect(rowsFromBatch(delta, deltaSchema(p.tables[0]!.schema))).toEqual([
      { __op: OP_PUT, __key0: 2, __seq: 2 ** 30, id: 2, lt: ts(30), lv: 'new', __matched: false },
      { __op: OP_DELETE, __key0: 1, __seq: 0, id: null, lt: null, lv: null, __matched: false },
    ]);
  });

  it('restores state written in the earlier delta form (matched flags rewritten, deletes carrying whole rows)', async () => {
    const { p, exec, run } = partition(L.join(R, onKey()));
    const table = p.tables[0]!;
    const dir = mkdtempSync(join(tmpdir(), 'sluice-join-state-'));
    const store = new StateStore(dir, table.schema, table.keyCount);
    const schema = deltaSchema(table.schema);
    const row = (op: number, id: number, seq: number, sec: number, lv: string, matched: boolean) => ({ __op: op, __key0: id, __seq: seq, id, lt: s(sec), lv, __matched: matched });
    // Version 1 stores two left rows; version 2 re-flags one as matched (an inner join's rewrite) and deletes the other whole.
    await store.commit(1, batchFromRows([row(OP_PUT, 1, 0, 10, 'a', false), row(OP_PUT, 2, 1, 10, 'b', false)], schema));
    await store.commit(2, batchFromRows([row(OP_PUT, 1, 0, 10, 'a', true), row(OP_DELETE, 2, 1, 10, 'b', false)], schema));
    p.restore(new Map([['left', await store.load(2)], ['right', null]]));
    rmSync(dir, { recursive: true, force: true });
    expect(rowsFromBatch(p.snapshot('left')!, table.schema)).toEqual([{ __key0: 1, __seq: 0, id: 1, lt: ts(10), lv: 'a', __matched: true }]);
    // The restored row still joins; the deleted one is gone.
    const b = run(3, 0, 0, [], [{ rid: 1, rt: s(11) }, { rid: 2, rt: s(11) }]);
    expect(b.rows).toEqual([{ id: 1, lt: ts(10), lv: 'a', rid: 1, rt: ts(11) }]);
    expect(exec.spec.joinType).toBe('inner');
  });

  it('a partition restored from its snapshot continues exactly as the original', () => {
    const a = partition(L.join(R, onKey(), 'leftOuter'));
    a.run(0, 0, 0, [{ id: 1, lt: s(10), lv: 'm' }, { id: 2, lt: s(11), lv: 'u' }], [{ rid: 1, rt: s(10) }]);
    const b = partition(L.join(R, onKey(), 'leftOuter'));
    b.p.restore(new Map([['left', a.p.snapshot('left')], ['right', a.p.snapshot('right')]]));
    const next = (x: typeof a) => x.run(1, 0, s(17), [{ id: 2, lt: s(12), lv: 'x' }], [{ rid: 2, rt: s(12) }]);
    const ra = next(a);
    const rb = next(b);
    expect(rb).toEqual(ra);
    // The right row meets the left state in arrival order; then W − 5001 = 11 999 evicts the left rows of batch 0
    // (10 s matched, 11 s matched now) and the right row of batch 0.
    expect(ra.rows).toEqual([
      { id: 2, lt: ts(11), lv: 'u', rid: 2, rt: ts(12) },
      { id: 2, lt: ts(12), lv: 'x', rid: 2, rt: ts(12) },
    ]);
    expect(ra.metrics).toMatchObject({ numRowsRemoved: 3, numRowsTotal: 2 });
  });

  // 40 rows: the left side is rewritten alone; 2 000: the key groups outnumber the live rows too, and everything is rebuilt.
  for (const total of [40, 2000]) {
    it(`keeps joining, and snapshots the same rows, after most of its state was evicted and the rest compacted (${total} rows)`, () => {
      const { run, p } = partition(L.join(R, onKey(), 'leftOuter'));
      const old = total - 10;
      const rows = Array.from({ length: total }, (_, i) => ({ id: i, lt: s(10 + (i < old ? 0 : 20)), lv: `v${i}` }));
      run(0, 0, 0, rows, [{ rid: old + 5, rt: s(31) }]);
      const evicted = run(1, 0, s(20), [], []); // state watermark 14 999: the old rows at 10 s leave
      expect(evicted.metrics).toMatchObject({ numRowsRemoved: old, numRowsTotal: 11 });
      // The next batch starts by compacting: the rest still joins and keeps its flags.
      const next = run(2, s(20), s(20), [], [{ rid: old + 6, rt: s(32) }]);
      expect(next.rows).toEqual([{ id: old + 6, lt: ts(30), lv: `v${old + 6}`, rid: old + 6, rt: ts(32) }]);
      expect(p.snapshot('left')?.numRows).toBe(10);
      if (total > 1000) expect(next.metrics.memoryUsedBytes).toBeLessThan(evicted.metrics.memoryUsedBytes / 4);
      const gone = run(3, s(20), s(100), [], []);
      expect(gone.rows).toHaveLength(8); // the 10 newest but the two that matched
      expect(gone.rows.map((r) => r['lv'])).not.toContain(`v${old + 5}`);
    });
  }
});
