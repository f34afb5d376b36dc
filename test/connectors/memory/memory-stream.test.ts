/**
 * A MemoryStream keeps its rows in the process: a query restarted from a checkpoint another MemoryStream wrote (a
 * re-run script) skips the new stream's first units as processed. It must say so, naming the checkpoint and the fix;
 * a restart on the same stream must not.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryStream, ranBatch, Session } from '../../../engine/index.js';

const schema = { v: 'int' } as const;
let counter = 0;

function start(session: Session, input: MemoryStream, checkpoint: string) {
  const name = `mem${counter++}`;
  const q = input.toDF().writeStream.format('memory').queryName(name).option('checkpointLocation', checkpoint).start();
  return { q, rows: async () => (await session.table(name).collect()).map((r) => r['v']) };
}

/** A first run: one addData call per value on a new MemoryStream, processed and committed to `checkpoint`. */
async function firstRun(session: Session, checkpoint: string, values: readonly number[]): Promise<unknown[]> {
  const first = new MemoryStream(session, schema);
  const a = start(session, first, checkpoint);
  for (const v of values) first.addData([{ v }]);
  await a.q.processAllAvailable();
  await a.q.stop();
  return a.rows();
}

function captureWarnings(): string[] {
  const warnings: string[] = [];
  vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => void warnings.push(args.map(String).join(' ')));
  return warnings;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('MemoryStream restarted behind its checkpoint', () => {
  it('warns, naming the checkpoint and the fix, when another MemoryStream wrote the checkpoint', async () => {
    const checkpoint = mkdtempSync(join(tmpdir(), 'sluice-memory-'));
    const session = new Session();
    expect(await firstRun(session, checkpoint, [1, 2])).toEqual([1, 2]);

    // a re-run of the script: a new MemoryStream, the same checkpoint
    const warnings = captureWarnings();
    const second = new MemoryStream(session, schema);
    second.addData([{ v: 10 }]);
    const b = start(session, second, checkpoint);
    await b.q.processAllAvailable();
    second.addData([{ v: 20 }]);
    second.addData([{ v: 30 }]);
    await b.q.processAllAvailable();
    await b.q.stop();

    const mine = warnings.filter((w) => w.includes('MemoryStream'));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toContain(`checkpoint ${checkpoint}`);
    expect(mine[0]).toContain('2 addData call(s)');
    expect(mine[0]).toContain(`new checkpointLocation or delete ${checkpoint}`);
    // what the warning announces: the first two units of the new stream count as processed
    expect(await b.rows()).toEqual([30]);
  });

  it('warns for a checkpoint without the instance record when the stream holds fewer units, and never runs a batch backwards', async () => {
    const checkpoint = mkdtempSync(join(tmpdir(), 'sluice-memory-'));
    const session = new Session();
    await firstRun(session, checkpoint, [1, 2, 3]);
    rmSync(join(checkpoint, 'sources', '0', 'memory-stream.json'), { force: true }); // as a checkpoint written before the record was kept
    const batchesBefore = readdirSync(join(checkpoint, 'offsets')).length;

    const warnings = captureWarnings();
    const second = new MemoryStream(session, schema);
    const b = start(session, second, checkpoint);
    second.addData([{ v: 10 }]);
    await b.q.processAllAvailable();
    await b.q.stop();

    const mine = warnings.filter((w) => w.includes('MemoryStream'));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toContain('3 addData call(s) were processed already, but this stream holds');
    expect(await b.rows()).toEqual([]);
    // one unit behind offset 3 is nothing new: no batch ran, the offsets did not go back to 1
    expect(readdirSync(join(checkpoint, 'offsets')).length).toBe(batchesBefore);
    expect(b.q.recentProgress.filter(ranBatch)).toEqual([]);
  });

  it('stays quiet when the same MemoryStream restarts its query, and reads on from the checkpoint', async () => {
    const checkpoint = mkdtempSync(join(tmpdir(), 'sluice-memory-'));
    const session = new Session();
    const input = new MemoryStream(session, schema);
    const warnings = captureWarnings();
    const a = start(session, input, checkpoint);
    input.addData([{ v: 1 }]);
    await a.q.processAllAvailable();
    await a.q.stop();
    input.addData([{ v: 2 }]);
    const b = start(session, input, checkpoint);
    await b.q.processAllAvailable();
    await b.q.stop();
    expect(await b.rows()).toEqual([2]);
    expect(warnings.filter((w) => w.includes('MemoryStream'))).toEqual([]);
  });
});
