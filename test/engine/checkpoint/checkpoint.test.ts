import { mkdtempSync, readdirSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { col, count, decideRestart, MemoryStream, Session, sum, window } from '../../../engine/index.js';
import { CommitLog } from '../../../engine/checkpoint/commit-log.js';
import { OffsetLog } from '../../../engine/checkpoint/offset-log.js';
import { ConcurrentUpdateError, CorruptCheckpointError } from '../../../engine/checkpoint/atomic-file.js';
import { InconsistentCheckpointError } from '../../../engine/checkpoint/restart-decision.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'sluice-ckpt-test-'));

describe('decideRestart', () => {
  it('starts fresh without offsets', () => {
    expect(decideRestart(null, null)).toEqual({ kind: 'fresh', batchId: 0 });
  });
  it('re-runs the batch whose offsets have no commit', () => {
    expect(decideRestart(0, null)).toEqual({ kind: 'rerun', batchId: 0 });
    expect(decideRestart(4, 3)).toEqual({ kind: 'rerun', batchId: 4 });
  });
  it('goes on with the next batch when the last one committed', () => {
    expect(decideRestart(4, 4)).toEqual({ kind: 'next', batchId: 5 });
  });
  it('re-runs the latest batch even when commits lag by more than one (Spark only warns)', () => {
    expect(decideRestart(7, 3)).toEqual({ kind: 'rerun', batchId: 7 });
  });
  it('refuses a commit log ahead of the offset log', () => {
    expect(() => decideRestart(2, 3)).toThrow(InconsistentCheckpointError);
    expect(() => decideRestart(null, 0)).toThrow(/commits\/0 but no offsets/);
  });
});

describe('CommitLog and OffsetLog', () => {
  it('write once: a second writer for the same batch fails', async () => {
    const dir = tmp();
    const log = new CommitLog(dir);
    await log.add(0, { nextBatchWatermarkMs: 5 });
    await expect(log.add(0, { nextBatchWatermarkMs: 6 })).rejects.toThrow(ConcurrentUpdateError);
    expect(await log.get(0)).toEqual({ nextBatchWatermarkMs: 5 });
    expect(readFileSync(join(dir, '0'), 'utf8')).toBe('v1\n{"nextBatchWatermarkMs":5}\n');
  });

  it('round-trips offsets with a missing source as "-"', async () => {
    const log = new OffsetLog(tmp());
    const seq = { batchWatermarkMs: 10, batchTimestampMs: 20, conf: { multipleWatermarkPolicy: 'min' }, offsets: [{ a: 1 }, null, 3] };
    await log.add(2, seq);
    expect(await log.get(2)).toEqual(seq);
    expect(readFileSync(log.path(2), 'utf8').split('\n')).toEqual([
      'v1',
      '{"batchWatermarkMs":10,"batchTimestampMs":20,"conf":{"multipleWatermarkPolicy":"min"}}',
      '{"a":1}',
      '-',
      '3',
      '',
    ]);
  });

  it('names the file of a truncated, corrupt or foreign entry', async () => {
    const dir = tmp();
    writeFileSync(join(dir, '0'), 'v1\n{"nextBatchWatermarkMs":');
    await expect(new CommitLog(dir).get(0)).rejects.toThrow(new RegExp(`${join(dir, '0')} is truncated`));
    writeFileSync(join(dir, '1'), 'v1\n{"nextBatchWatermarkMs":\n');
    await expect(new CommitLog(dir).get(1)).rejects.toThrow(CorruptCheckpointError);
    writeFileSync(join(dir, '2'), 'v9\n{}\n');
    await expect(new CommitLog(dir).get(2)).rejects.toThrow(/not 'v1'/);
  });

  it('purges entries older than a batch', async () => {
    const log = new CommitLog(tmp());
    for (let i = 0; i < 5; i++) await log.add(i, { nextBatchWatermarkMs: i });
    await log.purge(3);
    expect(await log.list()).toEqual([3, 4]);
  });
});

function query(session: Session, input: MemoryStream, checkpoint: string, name = 'q') {
  return input
    .toDF()
    .withWatermark('eventTime', '10 seconds')
    .groupBy(window(col('eventTime'), '5 seconds'))
    .agg(count('*').as('n'), sum('value').as('total'))
    .writeStream.format('memory')
    .queryName(name)
    .outputMode('update')
    .option('checkpointLocation', checkpoint)
    .start();
}

describe('Streaming checkpoints', () => {
  it('writes the layout: metadata, offsets, commits, state deltas and snapshots', async () => {
    const session = new Session({ conf: { stateSnapshotInterval: 2 } });
    const input = new MemoryStream(session, { value: 'int', eventTime: 'timestamp' });
    const ckpt = tmp();
    const q = query(session, input, ckpt);
    for (let i = 0; i < 3; i++) {
      input.addData([{ value: i, eventTime: i * 1000 }]);
      await q.processAllAvailable();
    }
    await q.stop();
    expect(JSON.parse(readFileSync(join(ckpt, 'metadata'), 'utf8')).id).toBe(q.id);
    expect(readdirSync(join(ckpt, 'offsets')).sort()).toEqual(['0', '1', '2']);
    expect(readdirSync(join(ckpt, 'commits')).sort()).toEqual(['0', '1', '2']);
    const state = readdirSync(join(ckpt, 'state', '0', '0')).sort();
    expect(state).toEqual(['1.delta', '2.delta', '2.snapshot', '3.delta']);
    expect(existsSync(join(ckpt, 'state', '0', '_metadata', 'schema'))).toBe(true);
    expect(existsSync(join(ckpt, '.lock'))).toBe(false);
  });

  it('keeps the query id across restarts and gives each run a new runId', async () => {
    const session = new Session();
    const input = new MemoryStream(session, { value: 'int', eventTime: 'timestamp' });
    const ckpt = tmp();
    const q1 = query(session, input, ckpt);
    await q1.stop();
    const q2 = query(session, input, ckpt);
    await q2.stop();
    expect(q2.id).toBe(q1.id);
    expect(q2.runId).not.toBe(q1.runId);
  });

  it('refuses a second query on the same checkpoint', async () => {
    const session = new Session();
    const input = new MemoryStream(session, { value: 'int', eventTime: 'timestamp' });
    const ckpt = tmp();
    const q = query(session, input, ckpt, 'first');
    expect(() => query(session, input, ckpt, 'second')).toThrow(/Another query in this process is running on checkpoint/);
    await q.stop();
  });

  it('refuses a checkpoint written by a query with another aggregation', async () => {
    const session = new Session();
    const input = new MemoryStream(session, { value: 'int', eventTime: 'timestamp' });
    const ckpt = tmp();
    const q = query(session, input, ckpt);
    input.addData([{ value: 1, eventTime: 1000 }]);
    await q.processAllAvailable();
    await q.stop();
    const other = input
      .toDF()
      .withWatermark('eventTime', '10 seconds')
      .groupBy(window(col('eventTime'), '5 seconds'))
      .agg(count('*').as('n'))
      .writeStream.format('memory')
      .queryName('other')
      .outputMode('update')
      .option('checkpointLocation', ckpt)
      .start();
    await expect(other.awaitTermination()).rejects.toThrow(/was written by a different query/);
  });

  it('fails with the file name when a state version is missing, never restarting from scratch', async () => {
    const session = new Session();
    const input = new MemoryStream(session, { value: 'int', eventTime: 'timestamp' });
    const ckpt = tmp();
    const q = query(session, input, ckpt);
    input.addData([{ value: 1, eventTime: 1000 }]);
    await q.processAllAvailable();
    input.addData([{ value: 2, eventTime: 2000 }]);
    await q.processAllAvailable();
    await q.stop();
    rmSync(join(ckpt, 'state', '0', '0', '1.delta'));
    const q2 = query(session, input, ckpt);
    await expect(q2.awaitTermination()).rejects.toThrow(/State version 1 .* is missing .*1\.delta/);
  });

  it('fails naming a corrupt state file', async () => {
    const session = new Session();
    const input = new MemoryStream(session, { value: 'int', eventTime: 'timestamp' });
    const ckpt = tmp();
    const q = query(session, input, ckpt);
    input.addData([{ value: 1, eventTime: 1000 }]);
    await q.processAllAvailable();
    await q.stop();
    const f = join(ckpt, 'state', '0', '0', '1.delta');
    const bytes = readFileSync(f);
    bytes[20] = bytes[20]! ^ 0xff;
    writeFileSync(f, bytes);
    const q2 = query(session, input, ckpt);
    await expect(q2.awaitTermination()).rejects.toThrow(/1\.delta is corrupt \(checksum mismatch\)/);
  });

  it('purges log entries and state files beyond minBatchesToRetain', async () => {
    const session = new Session({ conf: { minBatchesToRetain: 2, stateSnapshotInterval: 2 } });
    const input = new MemoryStream(session, { value: 'int', eventTime: 'timestamp' });
    const ckpt = tmp();
    const q = query(session, input, ckpt);
    for (let i = 0; i < 8; i++) {
      input.addData([{ value: i, eventTime: i * 1000 }]);
      await q.processAllAvailable();
    }
    await q.stop();
    expect(readdirSync(join(ckpt, 'offsets')).length).toBeLessThanOrEqual(3);
    expect(readdirSync(join(ckpt, 'commits')).length).toBeLessThanOrEqual(3);
    const state = readdirSync(join(ckpt, 'state', '0', '0'));
    expect(state).not.toContain('1.delta');
    // The state still loads after the purge.
    const q2 = query(session, input, ckpt, 'again');
    input.addData([{ value: 100, eventTime: 1000 }]);
    await q2.processAllAvailable();
    await q2.stop();
    expect(q2.exception).toBeNull();
  });

  it('re-runs a batch whose commit is missing with the same offsets, watermark and timestamp', async () => {
    const session = new Session();
    const input = new MemoryStream(session, { value: 'int', eventTime: 'timestamp' });
    const ckpt = tmp();
    const q = query(session, input, ckpt);
    input.addData([{ value: 1, eventTime: 20_000 }]);
    await q.processAllAvailable();
    input.addData([{ value: 2, eventTime: 30_000 }]);
    await q.processAllAvailable();
    await q.stop();
    const last = Math.max(...readdirSync(join(ckpt, 'commits')).map(Number));
    const before = await new OffsetLog(join(ckpt, 'offsets')).get(last);
    rmSync(join(ckpt, 'commits', String(last)));
    const q2 = query(session, input, ckpt, 'rerun');
    await q2.processAllAvailable();
    await q2.stop();
    const rerun = q2.recentProgress[0]!;
    expect(rerun.batchId).toBe(last);
    expect(rerun.eventTime['watermark']).toBe(new Date(before!.batchWatermarkMs).toISOString());
    expect(await new OffsetLog(join(ckpt, 'offsets')).get(last)).toEqual(before);
    expect(existsSync(join(ckpt, 'commits', String(last)))).toBe(true);
  });
});
