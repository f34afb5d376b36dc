import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PartitionLayoutLog } from '../../../engine/checkpoint/partition-layout-log.js';
import { CorruptCheckpointError } from '../../../engine/checkpoint/atomic-file.js';

const fresh = () => join(mkdtempSync(join(tmpdir(), 'sluice-layout-')), 'partitions');
const entries = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort((a, b) => Number(a) - Number(b)) : []);

describe('PartitionLayoutLog', () => {
  it('answers one partition for every version while nothing was recorded, and writes nothing for an unchanged layout', async () => {
    const dir = fresh();
    const log = new PartitionLayoutLog(dir);
    expect(await log.partitionsOf(0)).toBe(1);
    await log.record(1, 1);
    await log.record(2, 1);
    expect(await log.partitionsOf(2)).toBe(1);
    expect(entries(dir)).toEqual([]);
  });

  it('records only changes, and answers for any version from the newest entry at or below it, also after a reopen', async () => {
    const dir = fresh();
    const log = new PartitionLayoutLog(dir);
    for (let v = 1; v <= 3; v++) await log.record(v, 1);
    for (let v = 4; v <= 6; v++) await log.record(v, 2);
    for (let v = 7; v <= 8; v++) await log.record(v, 1);
    expect(entries(dir)).toEqual(['4', '7']);
    expect(readFileSync(join(dir, '4'), 'utf8')).toBe('2\n');
    const again = new PartitionLayoutLog(dir);
    expect(await Promise.all([1, 3, 4, 6, 7, 8, 20].map((v) => again.partitionsOf(v)))).toEqual([1, 1, 2, 2, 1, 1, 1]);
  });

  it('a version written again with the layout before it rewrites what an earlier attempt recorded (the entry stays, so the log still knows the version), and removes later versions of that attempt', async () => {
    const dir = fresh();
    const log = new PartitionLayoutLog(dir);
    await log.record(1, 1);
    await log.record(2, 2); // attempt 1 of batch 1 moved to two workers
    await log.record(3, 2);
    const rerun = new PartitionLayoutLog(dir); // a restart re-runs batch 1 inline
    expect(await rerun.knows(1)).toBe(false);
    await rerun.record(2, 1);
    expect(entries(dir)).toEqual(['2']);
    expect(readFileSync(join(dir, '2'), 'utf8')).toBe('1\n');
    expect(await rerun.partitionsOf(3)).toBe(1);
    expect(await new PartitionLayoutLog(dir).knows(2)).toBe(true);
    expect(await new PartitionLayoutLog(dir).knows(1)).toBe(false);
  });

  it('purges entries no version at or above the minimum needs, keeping the one that covers it', async () => {
    const dir = fresh();
    const log = new PartitionLayoutLog(dir);
    await log.record(2, 2);
    await log.record(5, 1);
    await log.record(9, 4);
    await log.purge(6);
    expect(entries(dir)).toEqual(['5', '9']);
    expect(await new PartitionLayoutLog(dir).partitionsOf(6)).toBe(1);
    expect(await new PartitionLayoutLog(dir).partitionsOf(9)).toBe(4);
  });

  it('answers the most partitions that wrote any version from a given one on', async () => {
    const log = new PartitionLayoutLog(fresh());
    expect(await log.maxPartitionsFrom(1)).toBe(1);
    await log.record(2, 2);
    await log.record(5, 1);
    expect(await Promise.all([1, 2, 4, 5, 9].map((v) => log.maxPartitionsFrom(v)))).toEqual([2, 2, 2, 1, 1]);
    await log.record(7, 3);
    expect(await log.maxPartitionsFrom(5)).toBe(3);
  });

  it('refuses an entry that is not a positive count, naming the file', async () => {
    const dir = fresh();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, '3'), 'two\n');
    const err = await new PartitionLayoutLog(dir).partitionsOf(3).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptCheckpointError);
    expect((err as Error).message).toContain(join(dir, '3'));
  });
});
