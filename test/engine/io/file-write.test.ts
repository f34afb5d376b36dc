import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Table, Utf8, tableFromArrays, vectorFromArray } from 'apache-arrow';
import { afterEach, describe, expect, it } from 'vitest';
import { FileWriteError, MemoryStream, Session, StreamingQueryException, col, count, schemaOf } from '../../../engine/index.js';
import { writeOnce, writeReplace } from '../../../engine/checkpoint/atomic-file.js';
import { DeadLetters } from '../../../engine/exec/dead-letters.js';
import { writeParquetFile } from '../../../connectors/parquet/index.js';
import { DeltaTable } from '../../../connectors/lakehouse/index.js';

// Real file systems that fail: a tmpfs of a few KB fills up (ENOSPC), and one remounted read-only refuses (EROFS).
const mounted: string[] = [];

/** A fresh tmpfs of `size` (e.g. '64k'), unmounted after the test. */
function tinyDisk(size: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-tiny-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  mounted.push(dir);
  return dir;
}

function remount(dir: string, options: string): void {
  execFileSync('mount', ['-o', `remount,${options}`, dir]);
}

afterEach(() => {
  for (const dir of mounted.splice(0)) {
    execFileSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  }
});

function failure(e: unknown): FileWriteError {
  const cause = e instanceof StreamingQueryException ? e.cause : e;
  expect(cause).toBeInstanceOf(FileWriteError);
  return cause as FileWriteError;
}

const BIG = new Uint8Array(200_000).fill(7);

describe('FileWriteError', () => {
  it('names the file, the step and the fix when a checkpoint or state write finds the disk full, and leaves no temp file', async () => {
    const disk = tinyDisk('64k');
    const state = join(disk, 'state', '0', '0', '4.delta');
    const e = failure(await writeReplace(state, [BIG.subarray(0, 100_000), BIG.subarray(100_000)]).catch((x: unknown) => x));
    expect(e.name).toBe('FileWriteError');
    expect(e.code).toBe('ENOSPC');
    expect(e.operation).toBe('write');
    expect(e.target).toBe(state);
    expect(e.path).toMatch(/\.4\.delta\..*\.tmp$/);
    expect((e.cause as NodeJS.ErrnoException).code).toBe('ENOSPC');
    expect(e.message).toContain(`Cannot write '${state}'`);
    expect(e.message).toMatch(/ENOSPC: no space left on the device\. Free space on the file system that holds it/);
    expect(e.message).toMatch(/restarted from its checkpoint/);
    expect(readdirSync(join(disk, 'state', '0', '0'))).toEqual([]);

    const log = join(disk, 'offsets', '7');
    const e2 = failure(await writeOnce(log, BIG).catch((x: unknown) => x));
    expect(e2.code).toBe('ENOSPC');
    expect(e2.message).toContain(`Cannot write '${log}'`);
    expect(readdirSync(join(disk, 'offsets'))).toEqual([]);
  });

  it('names the file on a read-only file system (EROFS)', async () => {
    const disk = tinyDisk('64k');
    mkdirSync(join(disk, 'dead'));
    remount(disk, 'ro');
    const dead = new DeadLetters(join(disk, 'dead'));
    const rows = new Table({ value: vectorFromArray(['{bad'], new Utf8()) }).batches[0]!;
    dead.add(rows, schemaOf({ value: 'string' }), 'not JSON');
    const e = failure(await dead.flush(3).catch((x: unknown) => x));
    expect(e.code).toBe('EROFS');
    expect(e.operation).toBe('open');
    expect(e.target).toBe(join(disk, 'dead', 'batch-00003.jsonl'));
    expect(e.message).toMatch(/EROFS: the file system is read-only\. Remount it read-write, or write somewhere else/);
  });

  it('names the Parquet file and the Delta data file a full disk refuses', async () => {
    const disk = tinyDisk('64k');
    const n = 50_000;
    const table = tableFromArrays({ id: Float64Array.from({ length: n }, (_, i) => i * 1.000001) });
    const file = join(disk, 'x.parquet');
    const e = failure(await writeParquetFile(file, table, { compression: 'none' }).catch((x: unknown) => x));
    expect(e.code).toBe('ENOSPC');
    expect(e.target).toBe(file);
    expect(e.message).toContain(`Cannot write '${file}'`);
    expect(readdirSync(disk)).toEqual([]);

    const lake = join(disk, 'lake');
    const e2 = failure(await DeltaTable.forPath(lake).write(table.batches, { compression: 'none' }).catch((x: unknown) => x));
    expect(e2.code).toBe('ENOSPC');
    expect(e2.target).toMatch(new RegExp(`^${lake}/part-00000-.*\\.parquet$`));
    expect(e2.message).toContain(`Cannot write '${e2.target}'`);
    expect(readdirSync(lake).filter((f) => f.endsWith('.parquet'))).toEqual([]); // the half-written data file is removed
  });

  it('fails a streaming query whose sink fills the disk; after space is freed the query restarts from its checkpoint', async () => {
    const disk = tinyDisk('16k');
    const out = join(disk, 'out');
    const checkpoint = mkdtempSync(join(tmpdir(), 'sluice-enospc-ckpt-'));
    const session = new Session();
    const input = new MemoryStream(session, { k: 'string' });
    const rows = Array.from({ length: 2000 }, (_, i) => ({ k: `key-${i}` }));
    const start = () =>
      input.toDF().groupBy(col('k')).agg(count('*').as('n'))
        .writeStream.format('jsonl').outputMode('complete').option('path', out).option('checkpointLocation', checkpoint).start();
    input.addData(rows);
    const q = start();
    const err = await q.processAllAvailable().then(() => null, (x: unknown) => x);
    expect(err).toBeInstanceOf(StreamingQueryException);
    const e = failure(err);
    expect(e.code).toBe('ENOSPC');
    expect(e.target).toBe(join(out, 'part-00000.jsonl'));
    expect((err as Error).message).toContain(`Cannot write '${join(out, 'part-00000.jsonl')}'`);

    remount(disk, 'size=4m');
    const q2 = start();
    await q2.processAllAvailable();
    await q2.stop();
    expect(readFileSync(join(out, 'part-00000.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2000);
  });
});
