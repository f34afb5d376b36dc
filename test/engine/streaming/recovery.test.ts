import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectCheckpoint } from '../../../engine/cli/status/checkpoint-inspector.js';
import { CorruptCheckpointError, MemoryStream, Session, TruncatedLogEntryError, type StreamingQuery } from '../../../engine/index.js';
import { executionHooks } from '../../../engine/exec/micro-batch-execution.js';

const SCHEMA = { id: 'long', v: 'string' } as const;
const rowsOf = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ id: from + i, v: `r${from + i}` }));

/** A query over a MemoryStream that replays `batches` (as a restarted process would re-read its source). */
function startOn(ckpt: string, batches: { id: number; v: string }[][], seen: Map<number, number[]>, format: 'foreach' | 'delta' = 'foreach', table = '') {
  const session = new Session();
  const input = new MemoryStream(session, SCHEMA);
  for (const b of batches) input.addData(b);
  const w = input.toDF().writeStream.option('checkpointLocation', ckpt);
  const q: StreamingQuery =
    format === 'delta'
      ? w.format('delta').start(table)
      : w
          .foreachBatch(async (df, id) => {
            seen.set(id, (await df.collect()).map((r) => Number(r['id'])));
          })
          .start();
  return { session, input, q };
}

describe('A checkpoint without its metadata file', () => {
  it('is refused at start instead of getting a new query id; with the id the Delta sink recorded put back, a re-run batch is not written twice', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sluice-meta-'));
    const ckpt = join(root, 'ckpt');
    const table = join(root, 'table');
    const data = [rowsOf(0, 3), rowsOf(3, 4)];
    const a = startOn(ckpt, [data[0]!], new Map(), 'delta', table);
    await a.q.processAllAvailable();
    a.input.addData(data[1]!);
    await a.q.processAllAvailable();
    await a.q.stop();
    // The sink committed batch 1; its commit entry and the metadata file are lost.
    rmSync(join(ckpt, 'commits', '1'));
    rmSync(join(ckpt, 'metadata'));
    let err: unknown = null;
    try {
      startOn(ckpt, data, new Map(), 'delta', table);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CorruptCheckpointError);
    expect((err as Error).message).toMatch(/metadata is missing, but the checkpoint has 2 offsets and 1 commits entries/);
    expect((err as Error).message).toContain('txn.appId');
    expect((await inspectCheckpoint(ckpt)).restartText).toContain(`${join(ckpt, 'metadata')} is missing or unreadable: a restart is refused`);
    // Following the message: the id from the table's txn action.
    const log = join(table, '_delta_log');
    const appIds = readdirSync(log)
      .filter((f) => f.endsWith('.json'))
      .flatMap((f) => readFileSync(join(log, f), 'utf8').trim().split('\n'))
      .map((l) => JSON.parse(l) as { txn?: { appId: string } })
      .flatMap((a) => (a.txn ? [a.txn.appId] : []));
    expect(new Set(appIds).size).toBe(1);
    writeFileSync(join(ckpt, 'metadata'), JSON.stringify({ id: appIds[0] }) + '\n');
    const b = startOn(ckpt, data, new Map(), 'delta', table);
    await b.q.processAllAvailable();
    await b.q.stop();
    expect(b.q.exception).toBeNull();
    const ids = (await b.session.read.format('delta').load(table).collect()).map((r) => Number(r['id'])).sort((x, y) => x - y);
    expect(ids).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('a fresh folder, or one with only a lock or source folders, still starts as a new query', async () => {
    const ckpt = mkdtempSync(join(tmpdir(), 'sluice-meta-new-'));
    const seen = new Map<number, number[]>();
    const a = startOn(ckpt, [rowsOf(0, 2)], seen);
    await a.q.processAllAvailable();
    await a.q.stop();
    expect(a.q.exception).toBeNull();
    expect(seen.get(0)).toEqual([0, 1]);
  });
});

describe('A torn log entry', () => {
  async function twoBatches() {
    const ckpt = mkdtempSync(join(tmpdir(), 'sluice-torn-'));
    const data = [rowsOf(0, 2), rowsOf(2, 2)];
    const seen = new Map<number, number[]>();
    const a = startOn(ckpt, [data[0]!], seen);
    await a.q.processAllAvailable();
    a.input.addData(data[1]!);
    await a.q.processAllAvailable();
    await a.q.stop();
    return { ckpt, data, seen };
  }
  const tear = (file: string) => writeFileSync(file, readFileSync(file, 'utf8').slice(0, -3));
  const failureOf = async (q: StreamingQuery) => {
    await q.awaitTermination().catch(() => {});
    return q.exception?.cause ?? q.exception;
  };

  it('the newest commit: the restart says deleting it re-runs the batch, and following that advice re-runs it exactly', async () => {
    const { ckpt, data, seen } = await twoBatches();
    tear(join(ckpt, 'commits', '1'));
    const b = startOn(ckpt, data, new Map());
    const err = await failureOf(b.q);
    expect(err).toBeInstanceOf(TruncatedLogEntryError);
    expect((err as Error).message).toContain(`${join(ckpt, 'commits', '1')} is truncated`);
    expect((err as Error).message).toContain('Delete it: batch 1 then runs again with the same offsets, watermark and timestamp.');
    rmSync(join(ckpt, 'commits', '1'));
    const again = new Map<number, number[]>();
    const c = startOn(ckpt, data, again);
    await c.q.processAllAvailable();
    await c.q.stop();
    expect(c.q.exception).toBeNull();
    expect([...again.entries()]).toEqual([[1, seen.get(1)]]);
  });

  it('the newest commit while the next batch is planned: the advice names the batch that then runs again (the next one), and following it runs that batch once', async () => {
    const { ckpt, data, seen } = await twoBatches();
    const all = [...data, rowsOf(4, 3)];
    // Batch 2 is planned (offsets/2) and the process dies before its commit.
    executionHooks.at = (point, batch) => {
      if (point === 'afterOffsets' && batch === 2) throw new Error('killed after offsets/2');
    };
    try {
      const a = startOn(ckpt, all, new Map());
      await failureOf(a.q);
    } finally {
      executionHooks.at = null;
    }
    tear(join(ckpt, 'commits', '1'));
    const b = startOn(ckpt, all, new Map());
    const err = await failureOf(b.q);
    expect(err).toBeInstanceOf(TruncatedLogEntryError);
    expect((err as Error).message).toContain('Delete it: batch 2 then runs again with the offsets it was planned with');
    expect((err as Error).message).not.toContain('batch 1 then runs again');
    rmSync(join(ckpt, 'commits', '1'));
    const again = new Map<number, number[]>();
    const c = startOn(ckpt, all, again);
    await c.q.processAllAvailable();
    await c.q.stop();
    expect(c.q.exception).toBeNull();
    // Batch 1 wrote its output before its commit: only batch 2 runs, with the rows after batch 1's end.
    expect([...again.entries()]).toEqual([[2, [4, 5, 6]]]);
    expect(seen.get(1)).toEqual([2, 3]);
  });

  it('the newest offsets entry of a committed batch: no advice to delete it (that would not re-run anything)', async () => {
    const { ckpt, data } = await twoBatches();
    tear(join(ckpt, 'offsets', '1'));
    const b = startOn(ckpt, data, new Map());
    const err = await failureOf(b.q);
    expect(err).toBeInstanceOf(TruncatedLogEntryError);
    expect((err as Error).message).not.toContain('Delete it');
    expect((err as Error).message).toContain('Restore the checkpoint from a backup.');
  });

  it('the newest offsets entry of a batch that never committed: deleting it plans the batch again', async () => {
    const { ckpt, data } = await twoBatches();
    writeFileSync(join(ckpt, 'offsets', '2'), 'v1\n{"batchWatermarkMs":0');
    const b = startOn(ckpt, data, new Map());
    const err = await failureOf(b.q);
    expect((err as Error).message).toContain('Delete it: batch 2 is then planned again from the committed offsets of batch 1.');
  });

  it('a torn offsets/0 with no commit: deleting it plans batch 0 again from the start of the sources', async () => {
    const ckpt = mkdtempSync(join(tmpdir(), 'sluice-torn0-'));
    const a = startOn(ckpt, [rowsOf(0, 2)], new Map());
    await a.q.processAllAvailable();
    await a.q.stop();
    rmSync(join(ckpt, 'commits', '0'));
    tear(join(ckpt, 'offsets', '0'));
    const err = await failureOf(startOn(ckpt, [rowsOf(0, 2)], new Map()).q);
    expect((err as Error).message).toContain('Delete it: batch 0 is then planned again from the start of the sources.');
    rmSync(join(ckpt, 'offsets', '0'));
    const again = new Map<number, number[]>();
    const c = startOn(ckpt, [rowsOf(0, 2)], again);
    await c.q.processAllAvailable();
    await c.q.stop();
    expect([...again.entries()]).toEqual([[0, [0, 1]]]);
  });
});

describe('A restart that finds nothing new', () => {
  it('records one idle progress entry: the last batch id, no input, each source at its committed offset', async () => {
    const ckpt = mkdtempSync(join(tmpdir(), 'sluice-idle-'));
    const data = [rowsOf(0, 5)];
    const a = startOn(ckpt, data, new Map());
    await a.q.processAllAvailable();
    await a.q.stop();
    const end = a.q.lastProgress!.sources[0]!.endOffset;
    const b = startOn(ckpt, data, new Map());
    await b.q.processAllAvailable();
    await b.q.stop();
    expect(b.q.recentProgress).toHaveLength(1);
    const p = b.q.lastProgress!;
    expect({ batchId: p.batchId, numInputRows: p.numInputRows, runId: p.runId, id: p.id }).toEqual({ batchId: 0, numInputRows: 0, runId: b.q.runId, id: a.q.id });
    expect(p.sources[0]).toMatchObject({ startOffset: end, endOffset: end, numInputRows: 0 });
    expect(p.stateOperators).toEqual([]);
  });
});
